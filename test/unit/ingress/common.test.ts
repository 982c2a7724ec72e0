import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { INGRESS_CLOSE } from '../../../src/ingress/common/close-codes.js';
import { IngressCallMedia, ingressContext } from '../../../src/ingress/common/lifecycle.js';
import { IngressMetrics } from '../../../src/ingress/common/metrics.js';
import type { IngressCallInfo, IngressPool } from '../../../src/ingress/common/shared.js';
import { ingressTokens, presentedToken, TokenSet } from '../../../src/ingress/common/tokens.js';
import { parseControlMessage } from '../../../src/ingress/bridge/schemas.js';

/** A pool whose createCall settles when the test says: the lifecycle is what is under test here. */
function manualPool(): IngressPool & { pushed: Array<{ callId: string; timestampMs: number; first: number }>; ended: string[]; settle(ok: boolean): void; outbound: number } {
  const calls = new Set<string>();
  let settle: (ok: boolean) => void = () => {};
  const pool = {
    pushed: [] as Array<{ callId: string; timestampMs: number; first: number }>,
    ended: [] as string[],
    outbound: 0,
    settle: (ok: boolean) => settle(ok),
    createCall: (spec: { callId: string }) =>
      new Promise<unknown>((resolve, reject) => {
        settle = (ok) => {
          if (!ok) return reject(new Error('no media thread'));
          calls.add(spec.callId);
          resolve(undefined);
        };
      }),
    endCall: async (callId: string) => {
      calls.delete(callId);
      pool.ended.push(callId);
    },
    hasCall: (callId: string) => calls.has(callId),
    pushPcm: (callId: string, f: { timestampMs: number; samples: Int16Array }) => pool.pushed.push({ callId, timestampMs: f.timestampMs, first: f.samples[0]! }),
    onOutbound: () => {
      pool.outbound++;
      return () => {
        pool.outbound--;
      };
    },
    onEvent: () => () => {},
  };
  return pool;
}

const info = (callId: string): IngressCallInfo => ({ callId, adapter: 'bridge', correlationId: null, startedAt: new Date(0).toISOString() });

describe('ingress call lifecycle', () => {
  it('pending keeps copies of early frames (bounded), active flushes them in order, ended takes none', async () => {
    const pool = manualPool();
    const metrics = new IngressMetrics();
    const ended: Array<{ reason: string }> = [];
    const media = new IngressCallMedia(ingressContext('bridge', { pool, onCallEnded: (i) => ended.push(i) }, metrics), info('c1'), { outbound: () => {} });
    media.start();
    expect(media.state).toBe('pending');
    const scratch = new Int16Array(320);
    for (let n = 0; n < 205; n++) {
      scratch[0] = n; // the caller reuses its buffer
      media.push({ sourceId: 's', rate: 16_000, timestampMs: n * 20, samples: scratch, flags: 0 });
    }
    expect(metrics.get('bridge', 'framesDroppedBeforeStart')).toBe(5);
    pool.settle(true);
    expect(await media.ready).toBe(true);
    expect(media.state).toBe('active');
    expect(pool.outbound).toBe(1);
    expect(pool.pushed.map((p) => p.first)).toEqual([...Array(200).keys()]);
    expect(await media.end('done')).toBe(true);
    expect(media.state).toBe('ended');
    media.push({ sourceId: 's', rate: 16_000, timestampMs: 0, samples: scratch, flags: 0 });
    expect(pool.pushed).toHaveLength(200);
    expect(pool.ended).toEqual(['c1']);
    expect(pool.outbound).toBe(0);
    expect(ended).toMatchObject([{ callId: 'c1', reason: 'done' }]);
    expect(await media.end('again')).toBe(false);
  });

  it('a failed media call ends the call without onCallEnded; an end while pending never subscribes outbound', async () => {
    const pool = manualPool();
    const failed: unknown[] = [];
    const endedHook: unknown[] = [];
    const ctx = ingressContext('acs', { pool, onCallEnded: (i) => endedHook.push(i) }, new IngressMetrics());
    const bad = new IngressCallMedia(ctx, info('c2'), { outbound: () => {}, failed: (e) => failed.push(e) });
    bad.start();
    pool.settle(false);
    expect(await bad.ready).toBe(false);
    expect(bad.state).toBe('ended');
    expect(failed).toHaveLength(1);
    const early = new IngressCallMedia(ctx, info('c3'), { outbound: () => {} });
    early.start();
    const ending = early.end('hung up');
    pool.settle(true);
    await ending;
    expect(pool.outbound).toBe(0);
    expect(pool.ended).toEqual(['c3']);
    expect(endedHook).toMatchObject([{ callId: 'c3', reason: 'hung up' }]);
  });
});

describe('ingress tokens', () => {
  it('matches only the configured tokens', () => {
    const t = new TokenSet(['alpha-secret', '', 'beta-secret']);
    expect(t.empty).toBe(false);
    expect(t.matches('alpha-secret')).toBe(true);
    expect(t.matches('beta-secret')).toBe(true);
    expect(t.matches('alpha-secreT')).toBe(false);
    expect(t.matches('')).toBe(false);
    expect(t.matches(null)).toBe(false);
    expect(new TokenSet([]).empty).toBe(true);
  });

  it('reads ACS tokens from ?token= or a bearer header', () => {
    expect(presentedToken({ headers: {}, url: '/media/acs?token=q' })).toBe('q');
    expect(presentedToken({ headers: { authorization: 'Bearer b' }, url: '/media/acs' })).toBe('b');
    expect(presentedToken({ headers: { authorization: 'Basic x' }, url: '/media/acs' })).toBeNull();
  });

  it('follows the README rules: ACS the API token; the bridge the bridge and API tokens, else one random token', () => {
    expect(ingressTokens({ apiToken: 'api', bridgeToken: 'bridge' })).toEqual({ acs: ['api'], bridge: ['bridge', 'api'] });
    expect(ingressTokens({ bridgeToken: 'bridge' })).toEqual({ acs: [], bridge: ['bridge'] });
    const open1 = ingressTokens({});
    const open2 = ingressTokens({});
    expect(open1.acs).toEqual([]);
    expect(open1.bridge).toHaveLength(1);
    expect(open1.bridge[0]!.length).toBeGreaterThanOrEqual(32);
    expect(open1.bridge[0]).not.toBe(open2.bridge[0]);
  });
});

describe('ingress close codes', () => {
  it('the bridge protocol document lists the close codes of the table', () => {
    const doc = readFileSync(join(process.cwd(), 'docs', 'bridge-protocol.md'), 'utf8');
    const section = doc.slice(doc.indexOf('## 7.'), doc.indexOf('## 8.'));
    const documented = [...section.matchAll(/^\| (\d{4}) \|/gm)].map((m) => Number(m[1]));
    const { protocolError, unauthorized, unsupportedVersion, heartbeatTimeout, replaced, shuttingDown } = INGRESS_CLOSE;
    expect(documented.sort()).toEqual([protocolError, unauthorized, unsupportedVersion, heartbeatTimeout, replaced, shuttingDown].sort());
  });
});

describe('bridge control messages', () => {
  it('parse into the typed union of their direction', () => {
    const msg = parseControlMessage('{"type":"sessionStarted","callId":"c","callIndex":7}');
    if (msg.type !== 'sessionStarted') throw new Error(`parsed as ${msg.type}`);
    expect(msg.callIndex + 1).toBe(8);
    const bot = parseControlMessage('{"type":"createMediaSession","requestId":"r","callId":"c"}', 'fromBot');
    expect(bot.type === 'createMediaSession' && bot.requestId).toBe('r');
    expect(() => parseControlMessage('{"type":"createMediaSession","requestId":"r","callId":"c"}')).toThrowError(expect.objectContaining({ code: 'MEDIABOT_INGRESS_BAD_MESSAGE' }));
  });
});
