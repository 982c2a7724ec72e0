import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MediabotEvent } from '../../../src/events/bus.js';
import { MediabotError } from '../../../src/errors.js';
import { eventually, newSigningKey, postJson, signToken, startBot, startKeyServer, type Bot, type KeyServer, type SigningKey } from './helpers.js';
import { HAVE_VECTORS, loadVector, vectorText } from '../../unit/signaling/vectors.js';

let key: SigningKey;
let keys: KeyServer;

beforeAll(async () => {
  key = await newSigningKey('k1');
  keys = await startKeyServer([key]);
});
afterAll(async () => {
  await keys.close();
});

async function post(bot: Bot, body: unknown): Promise<{ status: number; json: unknown }> {
  return postJson(`${bot.baseUrl}/api/calling`, body, { authorization: `Bearer ${await signToken(key)}` });
}

const stateBody = (callId: string, state: string, extra: Record<string, unknown> = {}) => ({
  '@odata.type': '#microsoft.graph.commsNotifications',
  value: [{ changeType: state === 'terminated' ? 'deleted' : 'updated', resourceUrl: `/communications/calls/${callId}`, resourceData: { '@odata.type': '#microsoft.graph.call', state, ...extra } }],
});

const operationBody = (callId: string, opId: string, type: string, status: string, extra: Record<string, unknown> = {}) => ({
  '@odata.type': '#microsoft.graph.commsNotifications',
  value: [
    {
      changeType: 'deleted',
      resourceUrl: `/communications/calls/${callId}/operations/${opId}`,
      resourceData: { '@odata.type': `#microsoft.graph.${type}`, status, ...extra },
    },
  ],
});

describe('POST /api/calling bodies', () => {
  let bot: Bot;
  beforeAll(async () => {
    bot = await startBot({ openIdUrl: keys.openIdUrl, bodyLimit: 64 * 1024 });
  });
  afterAll(async () => bot.close());

  it('answers 413 with the error shape for an oversized body, and changes nothing', async () => {
    const big = stateBody('too-big', 'established', { padding: 'x'.repeat(70 * 1024) });
    const res = await post(bot, big);
    expect(res.status).toBe(413);
    expect(res.json).toEqual({ error: { code: 'MEDIABOT_BODY_TOO_LARGE', message: expect.any(String) } });
    expect(bot.signaling.registry.list()).toEqual([]);
  });

  it('answers 400 MEDIABOT_BAD_REQUEST for malformed JSON, and changes nothing', async () => {
    const res = await post(bot, '{"value": [ { "changeType": "updated", ');
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error: { code: 'MEDIABOT_BAD_REQUEST', message: expect.any(String) } });
    expect(bot.signaling.registry.list()).toEqual([]);
  });

  it('answers 400 for JSON that is not an envelope', async () => {
    const res = await post(bot, { hello: 'world' });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: { code: 'MEDIABOT_NOTIFICATION_INVALID' } });
  });

  it('answers 202 for unknown item shapes and ignores them', async () => {
    const res = await post(bot, { value: [{ changeType: 'updated', resourceUrl: '/communications/calls/zz/whatever', resourceData: {} }, 'junk'] });
    expect(res.status).toBe(202);
    await bot.signaling.registry.idle();
    expect(bot.signaling.registry.list()).toEqual([]);
  });

  it.skipIf(!HAVE_VECTORS)('the doc example with a // comment is not JSON and gets 400', async () => {
    const res = await post(bot, vectorText('notification-call-mute-roster-updated-participant-muted.json'));
    expect(res.status).toBe(400);
  });
});

describe.skipIf(!HAVE_VECTORS)('calls driven over HTTP', () => {
  let bot: Bot;
  const events: MediabotEvent[] = [];
  beforeAll(async () => {
    bot = await startBot({ openIdUrl: keys.openIdUrl });
    bot.bus.on((e) => events.push(e));
  });
  afterAll(async () => bot.close());

  it('the same notification ten times gives one state change', async () => {
    const body = loadVector('notification-join-meeting-established.json');
    const before = bot.signaling.registry.stateChanges;
    for (let i = 0; i < 10; i++) expect((await post(bot, body)).status).toBe(202);
    await eventually(() => expect(bot.signaling.registry.get('2f1a1100-b174-40a0-aba7-0b405e01ed92')?.state).toBe('established'));
    await new Promise((r) => setTimeout(r, 50));
    await bot.signaling.registry.idle();
    expect(bot.signaling.registry.stateChanges - before).toBe(1);
  });

  it('a late established after terminated stays terminated', async () => {
    const id = '57dab8b1-894c-409a-b240-bd8beae78896';
    await post(bot, stateBody(id, 'established'));
    await post(bot, loadVector('notification-call-delete-terminated.json'));
    await post(bot, stateBody(id, 'established'));
    await new Promise((r) => setTimeout(r, 50));
    await bot.signaling.registry.idle();
    const call = bot.signaling.registry.get(id)!;
    expect(call.state).toBe('terminated');
    expect(call.termination?.subcode).toBe(5001);
  });

  it('answers a normal incoming call with service-hosted media', async () => {
    expect((await post(bot, loadVector('notification-call-answer-incoming.json'))).status).toBe(202);
    await eventually(() => expect(bot.port.of('answer').map((c) => c.callId)).toContain('57DAB8B1894C409AB240BD8BEAE78896'));
    const answer = bot.port.of('answer').find((c) => c.callId === '57DAB8B1894C409AB240BD8BEAE78896')!;
    expect(answer.body).toEqual({
      callbackUri: 'https://bot.example/api/calling',
      acceptedModalities: ['audio'],
      mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
    });
    // A replayed incoming notification is not answered twice.
    await post(bot, loadVector('notification-call-answer-incoming.json'));
    await new Promise((r) => setTimeout(r, 50));
    await bot.signaling.registry.idle();
    expect(bot.port.of('answer').filter((c) => c.callId === '57DAB8B1894C409AB240BD8BEAE78896')).toHaveLength(1);
  });

  it('answers a policy-based recording call and reports recording once established', async () => {
    const id = 'e71f0300-9c1f-4d99-b5f4-2722e877d497';
    await post(bot, loadVector('notification-call-answer-incoming-policy-based-recording.json'));
    await eventually(() => expect(bot.port.of('answer').some((c) => c.callId === id)).toBe(true));
    expect(bot.signaling.registry.get(id)?.compliance).toBe(true);
    expect(bot.port.of('updateRecordingStatus')).toEqual([]);
    await post(bot, stateBody(id, 'established'));
    await eventually(() => expect(bot.port.of('updateRecordingStatus').filter((c) => c.callId === id)).toHaveLength(1));
    expect(bot.port.of('updateRecordingStatus')[0]?.body).toMatchObject({ status: 'recording' });
    const incoming = events.find((e) => e.type === 'call.incoming' && e.callId === id);
    expect(incoming).toMatchObject({ action: 'answer', compliance: true });
  });

  it('keeps roster state from roster notifications', async () => {
    await post(bot, loadVector('notification-join-meeting-roster.json'));
    await eventually(() => expect(bot.signaling.registry.get('2f1a1100-b174-40a0-aba7-0b405e01ed92')?.participants).toHaveLength(2));
  });
});

describe('incoming call policy', () => {
  it.skipIf(!HAVE_VECTORS)('rejects and redirects as the policy says', async () => {
    let n = 0;
    const bot = await startBot({
      openIdUrl: keys.openIdUrl,
      policy: () => (n++ === 0 ? { action: 'reject', reason: 'busy' } : { action: 'redirect', targets: [{ identity: { user: { id: 'u1' } } }] }),
    });
    try {
      await post(bot, loadVector('notification-call-reject-incoming.json'));
      await eventually(() => expect(bot.port.of('reject')).toEqual([{ method: 'reject', callId: '57dab8b1-894c-409a-b240-bd8beae78896', body: { reason: 'busy' } }]));
      await post(bot, loadVector('notification-call-redirect-simulring-incoming.json'));
      await eventually(() => expect(bot.port.of('redirect')).toHaveLength(1));
      expect(bot.port.of('redirect')[0]?.body).toMatchObject({ targets: [{ identity: { user: { id: 'u1' } } }], callbackUri: 'https://bot.example/api/calling' });
      expect(bot.port.of('answer')).toEqual([]);
    } finally {
      await bot.close();
    }
  });
});

describe('awaitable operations', () => {
  let bot: Bot;
  beforeAll(async () => {
    bot = await startBot({ openIdUrl: keys.openIdUrl });
    bot.signaling.registry.track('op-call', { state: 'established' });
  });
  afterAll(async () => bot.close());

  it('playPrompt resolves on its completion notification', async () => {
    let settled = false;
    const p = bot.signaling.operations.playPrompt('op-call', [{ '@odata.type': '#microsoft.graph.mediaPrompt' }], { timeoutMs: 5000 }).finally(() => {
      settled = true;
    });
    await eventually(() => expect(bot.port.of('playPrompt')).toHaveLength(1));
    const opId = 'op-1';
    // Running status notification: still pending.
    await post(bot, operationBody('op-call', opId, 'playPromptOperation', 'running'));
    await new Promise((r) => setTimeout(r, 50));
    expect(settled).toBe(false);
    await post(bot, operationBody('op-call', opId.toUpperCase(), 'playPromptOperation', 'completed', { resultInfo: { code: 200, subcode: 0, message: 'ok' } }));
    const result = await p;
    expect(result).toMatchObject({ operationType: 'playPrompt', status: 'completed', resultInfo: { code: 200 } });
  });

  it('matches by the Location header when the body has no id', async () => {
    bot.port.handleFor = (_m, callId) => ({ status: 'running', location: `https://graph.example/v1.0/communications/calls/${callId}/operations/loc-op-7` });
    const p = bot.signaling.operations.recordResponse('op-call', { maxRecordDurationInSeconds: 10 }, { timeoutMs: 5000 });
    await eventually(() => expect(bot.port.of('recordResponse')).toHaveLength(1));
    await post(bot, operationBody('op-call', 'loc-op-7', 'recordOperation', 'completed', { recordingLocation: 'https://files.example/r1', recordingAccessToken: 'tok' }));
    expect((await p).recording).toEqual({ location: 'https://files.example/r1', accessToken: 'tok' });
  });

  it('rejects with MEDIABOT_OPERATION_FAILED on a failed notification', async () => {
    bot.port.handleFor = () => ({ id: 'fail-op', status: 'running' });
    const p = bot.signaling.operations.playPrompt('op-call', [], { timeoutMs: 5000 });
    const failure = expect(p).rejects.toMatchObject({ code: 'MEDIABOT_OPERATION_FAILED' });
    await eventually(() => expect(bot.port.of('playPrompt').length).toBeGreaterThanOrEqual(2));
    await post(bot, operationBody('op-call', 'fail-op', 'playPromptOperation', 'failed', { resultInfo: { code: 400, subcode: 8508, message: 'cancelled' } }));
    await failure;
  });

  it('treats a DTMF completion that was not successful as a failure', async () => {
    bot.port.handleFor = () => ({ id: 'dtmf-op', status: 'running' });
    const p = bot.signaling.operations.sendDtmfTones('op-call', ['tone1'], { timeoutMs: 5000 });
    const failure = expect(p).rejects.toMatchObject({ code: 'MEDIABOT_OPERATION_FAILED' });
    await eventually(() => expect(bot.port.of('sendDtmfTones')).toHaveLength(1));
    await post(bot, operationBody('op-call', 'dtmf-op', 'sendDtmfTonesOperation', 'completed', { completionReason: 'mediaOperationCanceled' }));
    await failure;
  });

  it('resolves when the completion arrives before the operation response', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const original = bot.port.playPrompt.bind(bot.port);
    bot.port.playPrompt = async (callId, body) => {
      await gate;
      return original(callId, body);
    };
    bot.port.handleFor = () => ({ id: 'early-op', status: 'running' });
    const p = bot.signaling.operations.playPrompt('op-call', [], { timeoutMs: 5000 });
    await post(bot, operationBody('op-call', 'early-op', 'playPromptOperation', 'completed'));
    await bot.signaling.registry.idle();
    await new Promise((r) => setTimeout(r, 30));
    release();
    await expect(p).resolves.toMatchObject({ operationId: 'early-op' });
    bot.port.playPrompt = original;
  });

  it('rejects with MEDIABOT_OPERATION_TIMEOUT when no completion arrives', async () => {
    bot.port.handleFor = () => ({ id: 'silent-op', status: 'running' });
    const err = await bot.signaling.operations.playPrompt('op-call', [], { timeoutMs: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MediabotError);
    expect((err as MediabotError).code).toBe('MEDIABOT_OPERATION_TIMEOUT');
    expect(bot.signaling.tracker.pendingCount).toBe(0);
  });

  it('rejects pending operations when the call ends, and refuses new ones', async () => {
    bot.signaling.registry.track('ending-call', { state: 'established' });
    bot.port.handleFor = () => ({ id: 'never', status: 'running' });
    const p = bot.signaling.operations.playPrompt('ending-call', [], { timeoutMs: 5000 });
    const rejected = expect(p).rejects.toMatchObject({ code: 'MEDIABOT_CALL_TERMINATED' });
    await eventually(() => expect(bot.port.of('playPrompt').some((c) => c.callId === 'ending-call')).toBe(true));
    await post(bot, stateBody('ending-call', 'terminated'));
    await rejected;
    await expect(bot.signaling.operations.playPrompt('ending-call', [])).rejects.toMatchObject({ code: 'MEDIABOT_CALL_TERMINATED' });
  });
});

describe('keepAlive', () => {
  it('is sent periodically for established calls and stops when they end', async () => {
    const bot = await startBot({ openIdUrl: keys.openIdUrl, keepAliveIntervalMs: 40 });
    try {
      await post(bot, stateBody('ka-call', 'established'));
      await eventually(() => expect(bot.port.of('keepAlive').length).toBeGreaterThanOrEqual(2));
      expect(bot.signaling.keepAlive.activeCount).toBe(1);
      await post(bot, stateBody('ka-call', 'terminated'));
      await eventually(() => expect(bot.signaling.keepAlive.activeCount).toBe(0));
      const count = bot.port.of('keepAlive').length;
      await new Promise((r) => setTimeout(r, 150));
      expect(bot.port.of('keepAlive').length).toBe(count);
    } finally {
      await bot.close();
    }
  });

  it('ends a call Graph no longer knows (keepAlive 404)', async () => {
    const bot = await startBot({ openIdUrl: keys.openIdUrl, keepAliveIntervalMs: 30 });
    try {
      bot.port.keepAlive = async () => {
        throw new MediabotError('MEDIABOT_GRAPH_HTTP', 'Graph answered 404', { status: 404 });
      };
      await post(bot, stateBody('gone-call', 'established'));
      await eventually(() => expect(bot.signaling.registry.get('gone-call')?.state).toBe('terminated'));
      expect(bot.signaling.registry.get('gone-call')?.termination).toMatchObject({ terminationReason: 'KeepAliveNotFound', explanation: expect.stringMatching(/404/) });
      expect(bot.signaling.keepAlive.activeCount).toBe(0);
    } finally {
      await bot.close();
    }
  });

  it('refuses an interval over 15 minutes', async () => {
    await expect(startBot({ openIdUrl: keys.openIdUrl, keepAliveIntervalMs: 16 * 60_000 })).rejects.toMatchObject({ code: 'MEDIABOT_CONFIG_INVALID' });
  });
});

describe('arbitrary bodies', () => {
  it('never crash the route: any JSON gets 202 or a 400 error shape', async () => {
    const fc = (await import('fast-check')).default;
    const bot = await startBot({ openIdUrl: keys.openIdUrl });
    const token = await signToken(key);
    try {
      const item = fc.record(
        {
          changeType: fc.constantFrom('created', 'updated', 'deleted', 'weird', 7),
          resourceUrl: fc.oneof(fc.constantFrom('/communications/calls/f1', '/communications/calls/f1/participants', '/communications/calls/f1/operations/o', '/app/calls/f2'), fc.string()),
          resourceData: fc.oneof(fc.jsonValue(), fc.record({ state: fc.constantFrom('incoming', 'established', 'terminated', 'Hold', 'x'), status: fc.constantFrom('completed', 'failed', 'running') })),
        },
        { requiredKeys: [] },
      );
      await fc.assert(
        fc.asyncProperty(fc.oneof(fc.jsonValue(), fc.record({ value: fc.array(fc.oneof(item, fc.jsonValue()), { maxLength: 5 }) })), async (body) => {
          const res = await postJson(`${bot.baseUrl}/api/calling`, JSON.stringify(body), { authorization: `Bearer ${token}` });
          expect([202, 400]).toContain(res.status);
          if (res.status === 400) expect(res.json).toMatchObject({ error: { code: expect.stringMatching(/^MEDIABOT_/) } });
        }),
        { numRuns: 150 },
      );
      await bot.signaling.registry.idle();
      expect(bot.logText()).not.toMatch(/"level":50/);
    } finally {
      await bot.close();
    }
  });
});

describe('202 before processing', () => {
  it('answers while processing of the notification is still blocked', async () => {
    const bot = await startBot({ openIdUrl: keys.openIdUrl });
    try {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let handled = false;
      bot.signaling.registry.use(async (item) => {
        if (item.callId === 'slow-call') {
          await gate;
          handled = true;
        }
      });
      const res = await post(bot, stateBody('slow-call', 'established'));
      expect(res.status).toBe(202);
      expect(handled).toBe(false);
      // A second notification for the same call waits behind the first (ordered per call) …
      await post(bot, stateBody('slow-call', 'terminated'));
      await new Promise((r) => setTimeout(r, 30));
      expect(bot.signaling.registry.get('slow-call')?.state).toBe('established');
      // … while other calls proceed.
      await post(bot, stateBody('fast-call', 'established'));
      await eventually(() => expect(bot.signaling.registry.get('fast-call')?.state).toBe('established'));
      release();
      await eventually(() => expect(bot.signaling.registry.get('slow-call')?.state).toBe('terminated'));
      expect(handled).toBe(true);
    } finally {
      await bot.close();
    }
  });
});
