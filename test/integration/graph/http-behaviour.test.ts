/**
 * GraphHttp behaviour over real HTTP on 127.0.0.1: Retry-After, backoff, bounded attempts, error
 * mapping, client-request-id, Location, token refresh on 401, token confinement to the Graph origin.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { GraphHttp, GraphError, createGraphClient, invitationParticipant, participantInfo, userIdentity } from '../../../src/graph/index.js';
import { startRecorder, type RecorderServer } from './recorder.js';
import { readVector, vectorsPresent } from './vectors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const servers: RecorderServer[] = [];
const clients: GraphHttp[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.close();
});

async function setup(retry: Partial<{ maxAttempts: number; baseDelayMs: number; maxDelayMs: number; maxRetryAfterMs: number }> = {}, tokens?: { getToken(o?: { forceRefresh?: boolean }): Promise<string> }) {
  const server = await startRecorder();
  servers.push(server);
  const http = new GraphHttp({ graphUrl: server.url, tokenProvider: tokens ?? { getToken: async () => 'tok' }, retry: { baseDelayMs: 20, maxDelayMs: 200, ...retry } });
  clients.push(http);
  return { server, http, graph: createGraphClient(http) };
}

async function expectGraphError(p: Promise<unknown>): Promise<GraphError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(GraphError);
    return err as GraphError;
  }
  throw new Error('expected a GraphError');
}

const throttledBody = vectorsPresent
  ? readVector('error-429-throttled.response.json')
  : { error: { code: 'TooManyRequests', message: 'Please retry again later.' } };

describe('GraphHttp retries', () => {
  it('waits at least Retry-After: 2 seconds after a 429, then succeeds with a new client-request-id', async () => {
    const { server, graph } = await setup();
    let n = 0;
    server.handler = () => (++n === 1 ? { status: 429, body: throttledBody, headers: { 'retry-after': '2' } } : { status: 200, body: { id: 'op-1', status: 'running' } });
    const res = await graph.calls.playPrompt('call-1', { prompts: [{ '@odata.type': '#microsoft.graph.mediaPrompt', mediaInfo: { uri: 'https://x.test/a.wav' } }] });
    expect(res.operationId).toBe('op-1');
    expect(server.requests).toHaveLength(2);
    const gap = server.requests[1]!.at - server.requests[0]!.at;
    // setTimeout never fires early, but clocks round to whole ms: allow 5 ms of rounding.
    expect(gap).toBeGreaterThanOrEqual(1995);
    expect(gap).toBeLessThan(4000);
    const ids = server.requests.map((r) => r.headers['client-request-id']);
    expect(ids[0]).toMatch(UUID);
    expect(ids[1]).toMatch(UUID);
    expect(ids[0]).not.toBe(ids[1]);
    expect(res.clientRequestId).toBe(ids[1]);
  });

  it('backs off on 503 without Retry-After and eventually succeeds', async () => {
    const { server, http } = await setup({ maxAttempts: 5, baseDelayMs: 40, maxDelayMs: 40 });
    let n = 0;
    server.handler = () => (++n <= 2 ? { status: 503 } : { status: 200, body: { ok: true } });
    const res = await http.request<{ ok: boolean }>('GET', '/communications/calls/x');
    expect(res.body).toEqual({ ok: true });
    expect(res.attempts).toBe(3);
    expect(server.requests).toHaveLength(3);
  });

  it('gives up after the bound on persistent 503 with a retryable GraphError', async () => {
    const { server, http } = await setup({ maxAttempts: 4 });
    server.handler = () => ({ status: 503, body: { error: { code: 'ServiceUnavailable', message: 'busy' } } });
    const err = await expectGraphError(http.request('POST', '/communications/calls/x/mute', {}));
    expect(err.code).toBe('MEDIABOT_GRAPH_UNAVAILABLE');
    expect(err.retryable).toBe(true);
    expect(err.status).toBe(503);
    expect(err.graphCode).toBe('ServiceUnavailable');
    expect(err.attempts).toBe(4);
    expect(server.requests).toHaveLength(4);
    expect(err.clientRequestId).toBe(server.requests[3]!.headers['client-request-id']);
  });

  it('gives up on persistent 429 with MEDIABOT_GRAPH_THROTTLED and on 504 with UNAVAILABLE', async () => {
    const { server, http } = await setup({ maxAttempts: 2 });
    server.handler = () => ({ status: 429, body: throttledBody, headers: { 'retry-after': '0' } });
    const e1 = await expectGraphError(http.request('GET', '/me/presence'));
    expect([e1.code, e1.retryable, e1.attempts]).toEqual(['MEDIABOT_GRAPH_THROTTLED', true, 2]);
    server.handler = () => ({ status: 504 });
    const e2 = await expectGraphError(http.request('GET', '/me/presence'));
    expect([e2.code, e2.status, e2.retryable]).toEqual(['MEDIABOT_GRAPH_UNAVAILABLE', 504, true]);
  });

  it('does not retry a 400 and maps the OData error body and request-id', async () => {
    const { server, http } = await setup();
    const body = vectorsPresent ? readVector('error-basic.response.json') : { error: { code: 'badRequest', message: 'bad' } };
    server.handler = () => ({ status: 400, body, headers: { 'request-id': 'req-abc-123' } });
    const err = await expectGraphError(http.request('POST', '/communications/calls', { a: 1 }));
    expect(err.code).toBe('MEDIABOT_GRAPH_HTTP');
    expect(err.retryable).toBe(false);
    expect(err.status).toBe(400);
    expect(err.graphCode).toBe((body as { error: { code: string } }).error.code);
    expect(err.message).toContain((body as { error: { message: string } }).error.message);
    expect(err.requestId).toBe('req-abc-123');
    expect(server.requests).toHaveLength(1);
  });

  it('retries network failures with backoff, then reports MEDIABOT_GRAPH_UNREACHABLE', async () => {
    // A port that was free a moment ago: connections are refused.
    const port = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const http = new GraphHttp({ graphUrl: `http://127.0.0.1:${port}`, retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 10 } });
    clients.push(http);
    const err = await expectGraphError(http.request('GET', '/communications/calls/x'));
    expect(err.code).toBe('MEDIABOT_GRAPH_UNREACHABLE');
    expect(err.retryable).toBe(true);
    expect(err.attempts).toBe(3);
    expect(http.attemptsSent).toBe(3);

    // A dropped connection followed by an answer succeeds.
    const { server, http: h2 } = await setup({ maxAttempts: 3 });
    let n = 0;
    server.handler = () => (++n === 1 ? { status: 200, drop: true } : { status: 200, body: { id: 'c' } });
    const res = await h2.request<{ id: string }>('GET', '/communications/calls/c');
    expect(res.body?.id).toBe('c');
    expect(server.requests).toHaveLength(2);

    // A refused connection never reached the server, so even a POST is sent again.
    const refusedPost = await expectGraphError(http.request('POST', '/communications/calls', { a: 1 }));
    expect(refusedPost.attempts).toBe(3);
  });

  it('does not resend a POST whose connection dropped after it was sent: it may have created the call', async () => {
    const { server, http } = await setup({ maxAttempts: 3 });
    server.handler = () => ({ status: 201, drop: true });
    const err = await expectGraphError(http.request('POST', '/communications/calls', { a: 1 }));
    expect(err.code).toBe('MEDIABOT_GRAPH_UNREACHABLE');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('not retried');
    expect(server.requests).toHaveLength(1);
  });
});

describe('GraphHttp responses and headers', () => {
  it('returns 202/204 without body and exposes Location and the operation id', async () => {
    const { server, graph } = await setup();
    const location = 'https://graph.microsoft.com/v1.0/communications/calls/c-9/operations/op-42';
    server.handler = (r) => (r.method === 'DELETE' ? { status: 204 } : { status: 202, headers: { location } });
    const res = await graph.calls.answer('c-9', { callbackUri: 'https://bot.test/cb', mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' } });
    expect(res).toMatchObject({ status: 202, operation: undefined, location, operationId: 'op-42' });
    const del = await graph.calls.delete('c-9');
    expect(del.status).toBe(204);
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /v1.0/communications/calls/c-9/answer', 'DELETE /v1.0/communications/calls/c-9']);
  });

  it('logs the response request-id with the client-request-id', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) });
    const server = await startRecorder(() => ({ status: 200, body: {}, headers: { 'request-id': 'rid-777' } }));
    servers.push(server);
    const http = new GraphHttp({ graphUrl: server.url, logger: pino({ level: 'debug' }, sink) });
    clients.push(http);
    const res = await http.request('GET', '/me/presence');
    const entry = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.requestId === 'rid-777');
    expect(entry).toMatchObject({ requestId: 'rid-777', clientRequestId: res.clientRequestId, status: 200 });
  });

  it('refreshes the token once on 401 and gives MEDIABOT_GRAPH_AUTH when it is refused again', async () => {
    const calls: boolean[] = [];
    const tokens = { getToken: async (o?: { forceRefresh?: boolean }) => (calls.push(o?.forceRefresh === true), o?.forceRefresh ? 'fresh' : 'stale') };
    const { server, http } = await setup({}, tokens);
    server.handler = (r) => (r.headers.authorization === 'Bearer fresh' ? { status: 200, body: { ok: 1 } } : { status: 401, body: { error: { code: 'InvalidAuthenticationToken', message: 'expired' } } });
    const res = await http.request('GET', '/communications/calls/a');
    expect(res.body).toEqual({ ok: 1 });
    expect(calls).toEqual([false, true]);
    server.handler = () => ({ status: 401, body: { error: { code: 'InvalidAuthenticationToken', message: 'nope' } } });
    const err = await expectGraphError(http.request('GET', '/communications/calls/a'));
    expect([err.code, err.status, err.graphCode, err.retryable]).toEqual(['MEDIABOT_GRAPH_AUTH', 401, 'InvalidAuthenticationToken', false]);
  });

  it('reports a non-JSON success body as MEDIABOT_GRAPH_BAD_RESPONSE', async () => {
    const { server, http } = await setup();
    server.handler = () => ({ status: 200, raw: '<html>proxy</html>', headers: { 'content-type': 'text/html' } });
    const err = await expectGraphError(http.request('GET', '/communications/calls/a'));
    expect(err.code).toBe('MEDIABOT_GRAPH_BAD_RESPONSE');
  });

  it('downloads a recording with the recordingAccessToken and never sends the Graph token elsewhere', async () => {
    const { server: graphServer, graph } = await setup();
    const media = await startRecorder((r) =>
      r.headers.authorization === `Bearer ${token}` ? { status: 200, raw: Buffer.from([1, 2, 3, 4]), headers: { 'content-type': 'audio/wav' } } : { status: 401 },
    );
    servers.push(media);
    let token = 'rec-token';
    if (vectorsPresent) {
      const n = readVector('notification-call-recordresponse-operation-completed.json') as { value: Array<{ resourceData: { recordingAccessToken: string } }> };
      token = n.value[0]!.resourceData.recordingAccessToken;
    }
    const bytes = await graph.calls.downloadRecording(`${media.url}/recordings/abc.wav`, token);
    expect([...bytes]).toEqual([1, 2, 3, 4]);
    expect(media.requests[0]!.headers.authorization).toBe(`Bearer ${token}`);
    expect(graphServer.requests).toHaveLength(0);
    // A nextLink-style absolute URL to another origin gets no Graph token.
    await graph.http.request('GET', `${media.url}/other`).catch(() => undefined);
    expect(media.requests[1]!.headers.authorization).toBeUndefined();
  });
});

describe('operations without docs examples', () => {
  it('sends keepAlive, participant removal, hold music, presence clear, subscription delete/reauthorize to the right paths', async () => {
    const { server, graph } = await setup();
    server.handler = () => ({ status: 204 });
    await graph.calls.keepAlive('c1');
    await graph.participants.delete('c1', 'p1');
    await graph.presence.clearUserPreferredPresence('u1');
    await graph.subscriptions.delete('s1');
    await graph.subscriptions.reauthorize('s1');
    server.handler = () => ({ status: 200, body: { id: 'op' } });
    await graph.calls.getOperation('c1', 'op');
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /v1.0/communications/calls/c1/keepAlive',
      'DELETE /v1.0/communications/calls/c1/participants/p1',
      'POST /v1.0/users/u1/presence/clearUserPreferredPresence',
      'DELETE /v1.0/subscriptions/s1',
      'POST /v1.0/subscriptions/s1/reauthorize',
      'GET /v1.0/communications/calls/c1/operations/op',
    ]);
  });

  it('sends raw call create, the v1.0 audioRoutingGroups get/update/delete, contentSharingSessions and the /users/{id} meetings variant to the right paths', async () => {
    const { server, graph } = await setup();
    server.handler = (r) => (r.method === 'DELETE' ? { status: 204 } : { status: r.method === 'POST' ? 201 : 200, body: { id: 'x' } });
    const call = { callbackUri: 'https://bot.example.com/api/calling', requestedModalities: ['audio'], mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' }, targets: [], tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47' };
    expect((await graph.calls.create(call as never)).id).toBe('x');
    expect((await graph.calls.audioRoutingGroups.get('c1', 'g1')).id).toBe('x');
    await graph.calls.audioRoutingGroups.update('c1', 'g1', { routingMode: 'multicast' } as never);
    await graph.calls.audioRoutingGroups.delete('c1', 'g1');
    await graph.meetings.create({ subject: 's' }, { userId: 'u1' });
    await graph.meetings.get('m1', { userId: 'u1' });
    await graph.meetings.update('m1', { subject: 't' }, { userId: 'u1' });
    await graph.meetings.delete('m1', { userId: 'u1' });
    await graph.calls.contentSharingSessions.get('c1', 's1');
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /v1.0/communications/calls',
      'GET /v1.0/communications/calls/c1/audioRoutingGroups/g1',
      'PATCH /v1.0/communications/calls/c1/audioRoutingGroups/g1',
      'DELETE /v1.0/communications/calls/c1/audioRoutingGroups/g1',
      'POST /v1.0/users/u1/onlineMeetings',
      'GET /v1.0/users/u1/onlineMeetings/m1',
      'PATCH /v1.0/users/u1/onlineMeetings/m1',
      'DELETE /v1.0/users/u1/onlineMeetings/m1',
      'GET /v1.0/communications/calls/c1/contentSharingSessions/s1',
    ]);
    expect(server.requests[6]!.body).toEqual({ subject: 't' });
    expect(server.requests[0]!.body).toEqual(call);
    expect(server.requests[2]!.body).toEqual({ routingMode: 'multicast' });
  });

  it('transfers out of a group call with the transferee beside the transferTarget', async () => {
    const { server, graph } = await setup();
    server.handler = () => ({ status: 202 });
    const transferTarget = invitationParticipant(userIdentity('550fae72-d251-43ec-868c-373732c2704f', { displayName: 'Heidi Steen' }), { endpointType: 'default' });
    const transferee = { ...participantInfo(userIdentity('751f6800-3180-414d-bd94-333364659951', { tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47' })), participantId: '909c6581-5130-43e9-88f3-fcb3582cde37' };
    await graph.calls.transfer('group-call', { transferTarget, transferee });
    const body = server.requests[0]!.body as Record<string, Record<string, unknown>>;
    expect(Object.keys(body).sort()).toEqual(['transferTarget', 'transferee']);
    expect(body.transferee!.participantId).toBe('909c6581-5130-43e9-88f3-fcb3582cde37');
    expect((body.transferTarget!.identity as { user: { id: string } }).user.id).toBe('550fae72-d251-43ec-868c-373732c2704f');
  });

  it('pages callRecords through @odata.nextLink', async () => {
    const { server, graph } = await setup();
    server.handler = (r) =>
      r.query.get('$skiptoken') === null
        ? { status: 200, body: { value: [{ id: 'a' }], '@odata.nextLink': `${server.url}/v1.0/communications/callRecords?$skiptoken=p2` } }
        : { status: 200, body: { value: [{ id: 'b' }] } };
    const all = await graph.callRecords.listAll();
    expect(all.map((x) => x.id)).toEqual(['a', 'b']);
    expect(server.requests[1]!.headers.authorization).toBe('Bearer tok');
  });

  it('rejects bad arguments with MEDIABOT_GRAPH_INVALID_ARGUMENT and sends nothing', async () => {
    const { server, graph } = await setup();
    const bad: Array<Promise<unknown>> = [
      graph.calls.playPrompt('', { prompts: [] }),
      graph.calls.playPrompt('c', { prompts: [] }),
      graph.calls.answer('c', { callbackUri: 'not a url', mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' } }),
      graph.calls.placeCall({ callbackUri: 'https://b.test/cb', targets: [], mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' } }),
      graph.calls.joinMeeting({ callbackUri: 'https://b.test/cb', joinMeetingId: '123456', mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' } }),
      graph.participants.invite('c', { participants: [] }),
      graph.presence.getPresencesByUserId([]),
      graph.subscriptions.renew('s', 'not a date'),
      graph.callRecords.getPstnCalls('yesterday', '2019-12-01'),
      graph.calls.downloadRecording('file:///etc/passwd', 't'),
    ];
    for (const p of bad) {
      const err = await expectGraphError(p);
      expect(err.code).toBe('MEDIABOT_GRAPH_INVALID_ARGUMENT');
    }
    const joinErr = await graph.calls
      .joinMeeting({ callbackUri: 'https://b.test/cb', joinWebUrl: 'https://evil.example/l/meetup-join/x/0', mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' } })
      .catch((e: unknown) => e);
    expect((joinErr as { code: string }).code).toBe('MEDIABOT_JOIN_URL_INVALID');
    expect(server.requests).toHaveLength(0);
  });
});
