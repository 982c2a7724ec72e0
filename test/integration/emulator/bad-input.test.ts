import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../../../testing/emulator/index.js';
import { CallbackServer, getToken, isCallState, isRoster, request, startEmulator, type HttpResult } from './helpers.js';

/** Every answer to bad input is a Graph-style 4xx, never a crash or a 5xx. */
function expectGraphClientError(res: HttpResult, what: string): void {
  expect(res.status, `${what}: ${res.text}`).toBeGreaterThanOrEqual(200);
  expect(res.status, `${what}: ${res.text}`).toBeLessThan(500);
  expect(typeof res.headers['request-id']).toBe('string');
  if (res.status >= 400) {
    expect(typeof res.body?.error?.code, what).toBe('string');
    expect(typeof res.body?.error?.message, what).toBe('string');
  }
}

describe('emulator under arbitrary request bodies', () => {
  let emu: Emulator;
  let cb: CallbackServer;
  let token: string;
  let p2p: string;
  let group: string;
  let remote: string;

  beforeAll(async () => {
    emu = await startEmulator();
    cb = new CallbackServer();
    await cb.start();
    token = await getToken(emu);
    const place = async (targets: number, media: string): Promise<string> => {
      const res = await request(emu, 'POST', '/v1.0/communications/calls', {
        token,
        body: {
          callbackUri: `${cb.url}/cb`,
          requestedModalities: ['audio'],
          mediaConfig: { '@odata.type': `#microsoft.graph.${media}`, blob: 'x' },
          targets: Array.from({ length: targets }, (_, i) => ({ identity: { user: { id: `u${i}`, displayName: `User ${i}` } } })),
        },
      });
      await cb.waitFor(isCallState(res.body.id, 'established'));
      return res.body.id as string;
    };
    p2p = await place(1, 'serviceHostedMediaConfig');
    group = await place(2, 'appHostedMediaConfig');
    const roster = await cb.waitFor(isRoster(group, (l) => l.length === 3));
    remote = roster.body.value[0].resourceData.find((p: any) => p.info.identity.user).id;
  });

  afterAll(async () => {
    await emu?.close();
    await cb?.close();
  });

  it('answers every Graph write route with a clean status for random JSON, leaving the calls up', async () => {
    const routes = [
      '/communications/calls',
      ...['answer', 'reject', 'redirect', 'transfer', 'mute', 'unmute', 'changeScreenSharingRole', 'updateRecordingStatus', 'addLargeGalleryView', 'playPrompt', 'recordResponse', 'subscribeToTone', 'sendDtmfTones', 'keepAlive', 'nonsense'].map((a) => `/communications/calls/${p2p}/${a}`),
      ...['invite', 'muteAll', 'configureMixer'].map((a) => `/communications/calls/${group}/participants/${a}`),
      ...['mute', 'startHoldMusic', 'stopHoldMusic'].map((a) => `/communications/calls/${group}/participants/${remote}/${a}`),
      '/users/u1/onlineMeetings',
      '/users/u1/onlineMeetings/createOrGet',
      ...['setPresence', 'clearPresence', 'setUserPreferredPresence', 'setStatusMessage'].map((a) => `/users/u1/presence/${a}`),
      '/communications/getPresencesByUserId',
      '/subscriptions',
    ];
    const bodies = fc.sample(fc.jsonValue({ maxDepth: 3 }), 25);
    const extra = ['{', '[1,2', 'null', '"text"', '{"prompts":[{"mediaInfo":{"uri":42}}]}', '{"tones":["tone1", 7]}', '{"participants":[{}]}', '{"targets":[{"identity":{}}]}'];
    for (const route of routes) {
      for (const body of [...bodies.map((b) => JSON.stringify(b)), ...extra]) {
        const res = await request(emu, 'POST', `/v1.0${route}`, { token, body, headers: { 'content-type': 'application/json' } });
        expectGraphClientError(res, `${route} ${body.slice(0, 80)}`);
      }
    }
    // PATCH / GET with odd inputs.
    expectGraphClientError(await request(emu, 'PATCH', '/v1.0/subscriptions/nope', { token, body: { expirationDateTime: 'soon' } }), 'patch');
    expectGraphClientError(await request(emu, 'GET', "/v1.0/users/u1/onlineMeetings?$filter=subject eq 'x'", { token }), 'filter');
    expectGraphClientError(await request(emu, 'GET', '/v1.0/communications/callRecords/getPstnCalls(fromDateTime=x,toDateTime=y)', { token }), 'pstn');
    expectGraphClientError(await request(emu, 'GET', "/v1.0/communications/callRecords?$filter=foo eq 'bar'", { token }), 'records filter');
    expectGraphClientError(await request(emu, 'POST', '/v1.0/communications/calls', { token, body: 'a=b', headers: { 'content-type': 'text/plain' } }), 'text body');
    expect((await request(emu, 'GET', `/v1.0/communications/calls/${group}`, { token })).body.state).toBe('established');
    const p2pState = (await request(emu, 'GET', `/v1.0/communications/calls/${p2p}`, { token })).body.state;
    // Only a valid reject/redirect/transfer could end it, and random bodies are not valid ones.
    expect(p2pState).toBe('established');
  }, 120_000);

  it('rejects bad token requests with AAD-style errors', async () => {
    for (const form of [{}, { grant_type: 'password' }, { grant_type: 'client_credentials', client_id: 'other' }, { grant_type: 'client_credentials', client_id: emu.clientId, scope: 'x' }]) {
      const res = await request(emu, 'POST', `/${emu.tenantId}/oauth2/v2.0/token`, { form: form as Record<string, string> });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(typeof res.body.error).toBe('string');
      expect(res.body.error_codes).toHaveLength(1);
    }
    expect((await request(emu, 'POST', '/other-tenant/oauth2/v2.0/token', { form: { grant_type: 'client_credentials' } })).status).toBe(400);
  });
});
