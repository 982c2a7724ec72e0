/**
 * The adapters from GraphClient to signaling's outbound ports. The typed assignments below make
 * `tsc` fail if the two sides drift apart; the HTTP assertions check what goes over the wire.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallOperationsPort, CallRecordsPort, SubscriptionsPort } from '../../../src/signaling/ports.js';
import { GraphHttp, createCallOperationsPort, createCallRecordsPort, createGraphClient, createSubscriptionsPort } from '../../../src/graph/index.js';
import { startRecorder, type RecorderServer } from './recorder.js';
import { VECTORS_DIR, readVector, vectorsPresent } from './vectors.js';

let server: RecorderServer;
let http: GraphHttp;
let calls: CallOperationsPort;
let subs: SubscriptionsPort;
let records: CallRecordsPort;

beforeAll(async () => {
  server = await startRecorder();
  http = new GraphHttp({ graphUrl: server.url, tokenProvider: { getToken: async () => 't' }, retry: { maxAttempts: 1 } });
  const graph = createGraphClient(http);
  calls = createCallOperationsPort(graph);
  subs = createSubscriptionsPort(graph);
  records = createCallRecordsPort(graph);
});
afterAll(async () => {
  http.close();
  await server.close();
});

describe('signaling port adapters', () => {
  it('maps an accepted operation to {id, status, location, resultInfo}', async () => {
    const location = `${server.url}/v1.0/communications/calls/c1/operations/op-7`;
    server.handler = () => ({ status: 200, body: { '@odata.type': '#microsoft.graph.playPromptOperation', id: 'op-7', status: 'running', resultInfo: null }, headers: { location } });
    const h = await calls.playPrompt('c1', { clientContext: 'cc', prompts: [{ '@odata.type': '#microsoft.graph.mediaPrompt', mediaInfo: { uri: 'https://x.test/a.wav' } }] });
    expect(h).toEqual({ id: 'op-7', status: 'running', location });
    server.handler = () => ({ status: 202, headers: { location: `${server.url}/v1.0/communications/calls/c1/operations/op-8` } });
    const h2 = await calls.subscribeToTone('c1', { clientContext: 'cc' });
    expect(h2.id).toBe('op-8');
    expect(h2.status).toBeUndefined();
  });

  it('answers, hangs up and keeps alive with void results', async () => {
    server.requests.length = 0;
    server.handler = (r) => ({ status: r.method === 'DELETE' ? 204 : 202 });
    await calls.answer('c2', { callbackUri: 'https://bot.test/cb', acceptedModalities: ['audio'], mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' } });
    await calls.keepAlive('c2');
    await calls.hangUp('c2');
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /v1.0/communications/calls/c2/answer',
      'POST /v1.0/communications/calls/c2/keepAlive',
      'DELETE /v1.0/communications/calls/c2',
    ]);
  });

  it('creates/renews subscriptions and reads call records with a raw $expand', async () => {
    server.requests.length = 0;
    server.handler = (r) =>
      r.path.startsWith('/v1.0/subscriptions')
        ? { status: r.method === 'POST' ? 201 : 200, body: { id: 'sub-1', resource: '/communications/callRecords', expirationDateTime: '2030-01-01T00:00:00Z', clientState: 'x' } }
        : { status: 200, body: r.query.get('$filter') ? { value: [{ id: 'r1' }, { id: 'r2' }] } : { id: 'r1' } };
    const created = await subs.create({
      changeType: 'created',
      notificationUrl: 'https://bot.test/api/notifications',
      resource: '/communications/callRecords',
      expirationDateTime: '2030-01-01T00:00:00Z',
      clientState: 'x',
    });
    expect(created).toEqual({ id: 'sub-1', resource: '/communications/callRecords', expirationDateTime: '2030-01-01T00:00:00Z' });
    await subs.renew('sub-1', '2030-01-02T00:00:00Z');
    expect(server.requests[1]).toMatchObject({ method: 'PATCH', path: '/v1.0/subscriptions/sub-1', body: { expirationDateTime: '2030-01-02T00:00:00Z' } });
    await records.get('r1', 'sessions($expand=segments)');
    expect(server.requests[2]!.query.get('$expand')).toBe('sessions($expand=segments)');
    const since = await records.listSince!(new Date('2030-01-01T00:00:00Z'));
    expect(since.map((r) => r.id)).toEqual(['r1', 'r2']);
    expect(server.requests[3]!.query.get('$filter')).toBe('startDateTime ge 2030-01-01T00:00:00.000Z');
  });

  it('passes $expand as given and sends none when absent', async () => {
    server.requests.length = 0;
    server.handler = () => ({ status: 200, body: { id: 'r9' } });
    await records.get('r9', 'participants_v2');
    await records.get('r9');
    expect(server.requests[0]!.query.get('$expand')).toBe('participants_v2');
    expect(server.requests[1]!.query.has('$expand')).toBe(false);
  });

  it('follows @odata.nextLink when listing records since a time', async () => {
    server.requests.length = 0;
    server.handler = (r) =>
      r.query.get('$skiptoken') === 'p2'
        ? { status: 200, body: { value: [{ id: 'r3' }, { noId: true }] } }
        : { status: 200, body: { value: [{ id: 'r1' }, { id: 'r2' }], '@odata.nextLink': `${server.url}/v1.0/communications/callRecords?$filter=x&$skiptoken=p2` } };
    const since = await records.listSince!(new Date('2030-01-01T00:00:00Z'));
    expect(since.map((r) => r.id)).toEqual(['r1', 'r2', 'r3']);
    expect(server.requests).toHaveLength(2);
  });
});

const describeVectors = vectorsPresent ? describe : describe.skip;
if (!vectorsPresent) console.warn(`graph vectors not found at ${VECTORS_DIR}: skipping the paged $expand tests`);

describeVectors('call records with paged expansions, as the Graph docs show them', () => {
  /** A docs response pointed at the recorder: its links keep their path, query and `$metadata#` form. */
  const served = (file: string): Record<string, unknown> => JSON.parse(JSON.stringify(readVector(file)).replaceAll('https://graph.microsoft.com', server.url)) as Record<string, unknown>;

  it.each([
    ['get_callrecord_expanded.response.json', 'sessions', 'sessions($expand=segments)'],
    ['get_callrecord_expanded_participants_v2.response.json', 'participants_v2', 'participants_v2'],
  ])('%s: follows %s@odata.nextLink and appends the next page', async (file, prop, expand) => {
    const first = served(file);
    const firstItems = first[prop] as unknown[];
    const more = [{ id: `${prop}-page-2` }];
    server.requests.length = 0;
    server.handler = (r) => (r.path.endsWith(`/${prop}`) ? { status: 200, body: { value: more } } : { status: 200, body: first });
    const record = (await records.get('e523d2ed-2966-4b6b-925b-754a88034cc5', expand)) as Record<string, unknown>;
    expect(server.requests[0]!.query.get('$expand')).toBe(expand);
    expect(server.requests[1]!.path).toBe(`/v1.0/communications/callRecords('e523d2ed-2966-4b6b-925b-754a88034cc5')/${prop}`);
    expect(server.requests[1]!.query.get('$skiptoken')).toBe('abc');
    expect(record[prop]).toEqual([...firstItems, ...more]);
    expect(record[`${prop}@odata.nextLink`]).toBeUndefined();
  });
});
