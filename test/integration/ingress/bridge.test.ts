import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { MediaSessionProvider } from '../../../src/graph/media-config.js';
import { appHostedMediaConfigFrom } from '../../../src/graph/media-config.js';
import { createOpusEncoder } from '../../../src/media/codec/opus.js';
import { MediaThreadPool } from '../../../src/media/threads/pool.js';
import type { MediaEvent } from '../../../src/media/hooks/api.js';
import { BridgeIngress, BridgeMediaSessionProvider, bridgeIngressPlugin, type BridgeControlEvent } from '../../../src/ingress/bridge/adapter.js';
import { startBridgeSimulator } from '../../../testing/bridge-peer.js';
import { encodeFrame, FrameCodec, FrameKind, payloadFromPcm } from '../../../src/ingress/bridge/wire.js';
import type { IngressCallInfo } from '../../../src/ingress/common/shared.js';
import { speech48 } from '../../helpers/speech.js';
import { envelope16, haveLibrivox, librivox, LIBRIVOX, place16, readWav16, rmsOf, startIngressServer, waitFor } from './helpers.js';
import { correlation } from '../../helpers/speech.js';

const TOKEN = 'bridge-test-token';

if (!haveLibrivox) console.warn(`skipping bridge speech tests: ${LIBRIVOX} is missing (apt install pocketsphinx-testdata)`);

/** A raw protocol client: sends what the test says, collects what mediabot answers. */
async function rawClient(url: string): Promise<{ ws: WebSocket; messages: Array<Record<string, unknown>>; closed: Promise<number>; next(type: string, timeoutMs?: number): Promise<Record<string, unknown>> }> {
  const ws = new WebSocket(url);
  const messages: Array<Record<string, unknown>> = [];
  const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
  ws.on('message', (d, bin) => {
    if (!bin) messages.push(JSON.parse(d.toString()) as Record<string, unknown>);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let seen = 0;
  return {
    ws,
    messages,
    closed,
    next: (type, timeoutMs = 5000) =>
      waitFor(() => {
        const i = messages.findIndex((m, k) => k >= seen && m.type === type);
        if (i < 0) return undefined;
        seen = i + 1;
        return messages[i];
      }, timeoutMs, `a ${type} message`),
  };
}

const hello = (extra: Record<string, unknown> = {}): string => JSON.stringify({ type: 'hello', protocol: 'mediabot-bridge', versions: [1], token: TOKEN, sidecarId: 'raw-1', ...extra });

describe('media bridge ingress', () => {
  let pool: MediaThreadPool;
  let ingress: BridgeIngress;
  let url: string;
  let close: () => Promise<void>;
  let dir: string;
  const events: MediaEvent[] = [];
  const control: BridgeControlEvent[] = [];
  const started: IngressCallInfo[] = [];
  const ended: Array<IngressCallInfo & { reason: string }> = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mediabot-bridge-'));
    pool = new MediaThreadPool(1);
    pool.onEvent((e) => events.push(e));
    ingress = new BridgeIngress({
      pool,
      tokens: [TOKEN],
      outbound: 'mix',
      heartbeatMs: 500,
      missedHeartbeats: 3,
      resumeWindowMs: 5000,
      callSpec: (callId) => ({
        sourceIdleMs: 60_000,
        hooks: [{ builtin: 'recorder', options: { dir: join(dir, callId), format: 'wav' } }, { builtin: 'talk-events' }],
      }),
      onCallStarted: (i) => started.push(i),
      onCallEnded: (i) => ended.push(i),
    });
    ingress.onControl((e) => control.push(e));
    ({ url, close } = await startIngressServer((app) => app.register(bridgeIngressPlugin, { ingress }), '/media/bridge', { ingress, pool }));
  });

  afterAll(async () => {
    await close?.();
    rmSync(dir, { recursive: true, force: true });
  });

  it('negotiates: welcome with version 1 and a session token; bad token → 4401; no common version → 4406; not hello first → 4400', async () => {
    const ok = await rawClient(url);
    ok.ws.send(hello({ versions: [1, 2, 3] }));
    const welcome = await ok.next('welcome');
    expect(welcome).toMatchObject({ version: 1, resumed: false, calls: [], heartbeatMs: 500 });
    expect((welcome.sessionResume as { sessionToken: string }).sessionToken.length).toBeGreaterThan(16);
    ok.ws.send(JSON.stringify({ type: 'ping', ts: 42 }));
    expect(await ok.next('pong')).toEqual({ type: 'pong', ts: 42 });
    ok.ws.close();

    const badToken = await rawClient(url);
    badToken.ws.send(hello({ token: 'wrong' }));
    expect(await badToken.closed).toBe(4401);
    expect(badToken.messages[0]).toMatchObject({ type: 'error', code: 'MEDIABOT_INGRESS_UNAUTHORIZED' });

    const badVersion = await rawClient(url);
    badVersion.ws.send(hello({ versions: [7, 9] }));
    expect(await badVersion.closed).toBe(4406);
    expect(badVersion.messages[0]).toMatchObject({ type: 'error', code: 'MEDIABOT_INGRESS_BAD_VERSION' });

    const notHello = await rawClient(url);
    notHello.ws.send(JSON.stringify({ type: 'ping' }));
    expect(await notHello.closed).toBe(4400);

    const garbage = await rawClient(url);
    garbage.ws.send('{not json');
    expect(await garbage.closed).toBe(4400);
    expect(garbage.messages[0]).toMatchObject({ type: 'error', code: 'MEDIABOT_INGRESS_BAD_MESSAGE' });
    expect(ingress.metrics.get('bridge', 'MEDIABOT_INGRESS_UNAUTHORIZED')).toBeGreaterThanOrEqual(1);
  });

  it('creates a media session through the sidecar: the blob lands in appHostedMediaConfig', async () => {
    const provider: MediaSessionProvider = new BridgeMediaSessionProvider(ingress);
    const sim = await startBridgeSimulator({ url, token: TOKEN, callId: 'blob-call', speakers: [{ sourceId: 1, participantId: 'p1', displayName: 'P1', pcm16: new Int16Array(320) }], waitForCreate: true, blob: (id) => `BLOB-FOR-${id}` });
    const cfg = await appHostedMediaConfigFrom(provider, 'blob-call');
    expect(cfg).toEqual({ '@odata.type': '#microsoft.graph.appHostedMediaConfig', blob: 'BLOB-FOR-blob-call' });
    const report = await sim.done;
    expect(report.createRequests).toBe(1);
    expect(report.errors).toEqual([]);
    await waitFor(() => ended.find((e) => e.callId === 'blob-call'), 5000, 'blob-call ended');
  });

  it('fails createMediaSession with a typed error when no sidecar is connected or the sidecar refuses', async () => {
    await waitFor(() => ingress.stats().connected === 0, 5000, 'no sidecar');
    await expect(ingress.createMediaSession('nobody')).rejects.toMatchObject({ code: 'MEDIABOT_INGRESS_NO_SIDECAR' });
    const c = await rawClient(url);
    c.ws.send(hello());
    await c.next('welcome');
    const pending = ingress.createMediaSession('refused');
    const req = await c.next('createMediaSession');
    c.ws.send(JSON.stringify({ type: 'error', code: 'NO_MEDIA_PLATFORM', message: 'platform not ready', requestId: req.requestId }));
    await expect(pending).rejects.toMatchObject({ code: 'MEDIABOT_INGRESS_SESSION_FAILED' });
    c.ws.close();
    await c.closed;
  });

  it.skipIf(!haveLibrivox)('streams 4 unmixed speakers and the mix at real time: recordings, source map, speaker events, DTMF, outbound', async () => {
    const clips = librivox();
    const totalMs = 6500;
    const speakers = [0, 1, 2, 3].map((i) => ({
      sourceId: 1000 + i,
      participantId: `participant-${i}`,
      displayName: `Speaker ${i}`,
      // staggered so each speaker leads for a while, with overlaps
      pcm16: place16(clips[i]!.pcm16.subarray(0, 16_000 * 2.5), i * 1300, totalMs),
    }));
    const callId = 'four-speakers';
    const sim = await startBridgeSimulator({ url, token: TOKEN, callId, speakers, dtmf: [{ atMs: 1000, tone: '5' }] });
    const report = await sim.done;
    expect(report.errors).toEqual([]);
    const endedInfo = await waitFor(() => ended.find((e) => e.callId === callId), 10_000, 'call ended');
    expect(endedInfo).toMatchObject({ adapter: 'bridge', reason: 'simulation finished' });
    expect(started.some((s) => s.callId === callId)).toBe(true);

    // every speaker sent unmixed frames; active speakers and dominant speaker changed
    for (const s of speakers) expect(report.perSource[String(s.sourceId)]).toBeGreaterThan(50);
    expect(report.dominantHistory.length).toBeGreaterThanOrEqual(3);
    const sourceMaps = control.filter((e): e is Extract<BridgeControlEvent, { type: 'sourceMap' }> => e.type === 'sourceMap' && e.callId === callId);
    expect(sourceMaps.at(-1)!.entries.map((e) => [e.sourceId, e.participantId, e.displayName])).toEqual(speakers.map((s) => [`msi-${s.sourceId}`, s.participantId, s.displayName]));
    expect(control.some((e) => e.type === 'dominantSpeaker' && e.callId === callId && e.sourceId === 'msi-1000')).toBe(true);
    expect(control.some((e) => e.type === 'activeSpeakers' && e.callId === callId && e.sourceIds.length >= 2)).toBe(true);
    expect(control.some((e) => e.type === 'dtmf' && e.callId === callId && e.tone === '5' && e.direction === 'received')).toBe(true);

    // talk events for each speaker, from the media core
    for (const s of speakers) expect(events.some((e) => e.type === 'talk.start' && e.callId === callId && e.sourceId === `msi-${s.sourceId}`)).toBe(true);

    // per-speaker recordings hold that speaker's speech where they spoke, and nothing of the others
    const files = events.filter((e): e is Extract<MediaEvent, { type: 'recording.file' }> => e.type === 'recording.file' && e.callId === callId);
    for (const s of speakers) {
      const file = files.find((f) => f.sourceId === `msi-${s.sourceId}`);
      expect(file, `recording of msi-${s.sourceId}`).toBeDefined();
      const rec = readWav16(file!.path);
      const src = s.pcm16;
      const envRec = envelope16(rec);
      const envSrc = envelope16(src);
      // the file starts at the speaker's first frame: find its offset by best envelope match
      let best = { corr: -1, lag: 0 };
      for (let lag = 0; lag < Math.min(envSrc.length, 400); lag++) {
        const n = Math.min(envRec.length, envSrc.length - lag);
        if (n < 50) break;
        const a = envRec.slice(0, n);
        const b = envSrc.slice(lag, lag + n);
        const corr = correlation(a, b);
        if (corr > best.corr) best = { corr, lag };
      }
      expect(best.corr, `speaker ${s.sourceId} recording matches its speech`).toBeGreaterThan(0.9);
    }
    const mixed = files.find((f) => f.sourceId === 'mixed');
    expect(mixed).toBeDefined();
    const mixRec = readWav16(mixed!.path);
    expect(mixRec.length / 16).toBeGreaterThan(totalMs - 300);
    expect(rmsOf(mixRec)).toBeGreaterThan(300);

    // outbound ('mix' mode): the call's mix came back, non-silent, in order
    expect(report.outbound.nonSilentFrames).toBeGreaterThan(100);
    expect(report.outbound.rms).toBeGreaterThan(200);
  });

  it.skipIf(!haveLibrivox)('survives a dropped connection: resume keeps the call; the recording is whole with the gap as silence', async () => {
    const clip = librivox()[0]!.pcm16; // 7.1 s of continuous speech
    const callId = 'resume-call';
    const dropAtMs = 2000;
    const resumeAfterMs = 1500;
    const sim = await startBridgeSimulator({ url, token: TOKEN, callId, speakers: [{ sourceId: 7, participantId: 'p7', displayName: 'Seven', pcm16: clip.subarray(0, 16_000 * 6) }], unmixed: true, mixed: false, dropAtMs, resumeAfterMs, endSession: false });
    const report = await sim.done;
    expect(report.resumed).toBe(true);
    expect(report.errors).toEqual([]);
    expect(report.framesSkipped).toBeGreaterThan(50);
    // the outage is counted as gap frames of the source (its length, give or take the play-out edges)
    await new Promise((r) => setTimeout(r, 300));
    const pcmStats = (await pool.callStats(callId)).sources.find((x) => x.sourceId === 'msi-7')!.pcm!;
    expect(pcmStats.gapFrames).toBeGreaterThanOrEqual(report.framesSkipped - 2);
    await ingress.endMediaSession(callId, 'test over');
    await waitFor(() => ended.find((e) => e.callId === callId), 10_000, 'resumed call ended');
    expect(ended.filter((e) => e.callId === callId)).toHaveLength(1);
    expect(ingress.metrics.get('bridge', 'resumes')).toBeGreaterThanOrEqual(1);

    const file = events.find((e): e is Extract<MediaEvent, { type: 'recording.file' }> => e.type === 'recording.file' && e.callId === callId && e.sourceId === 'msi-7');
    expect(file).toBeDefined();
    const rec = readWav16(file!.path);
    // whole: as long as the media time streamed (the gap included), not shortened by the outage

    // the skipped frames [drop, drop + skipped) are silence in the recording, at their own place;
    // the audio before and after sits at its media time (offset 0 from the file start)
    const env = envelope16(rec);
    const src = envelope16(clip.subarray(0, 16_000 * 6));
    const firstSkipped = dropAtMs / 20;
    const lastSkipped = firstSkipped + report.framesSkipped - 1;
    // the file's offset against media time (play-out delay; a cold media thread may drop a start-up backlog):
    // file frame = source frame + lag, found before the drop
    let lag = 0;
    let bestBefore = -1;
    for (let l = -80; l <= 10; l++) {
      const from = Math.max(5, 5 - l);
      const c = correlation(env.slice(from + l, firstSkipped - 2 + l), src.slice(from, firstSkipped - 2));
      if (c > bestBefore) [bestBefore, lag] = [c, l];
    }
    expect(bestBefore).toBeGreaterThan(0.9);
    const gap = env.slice(lag + firstSkipped + 1, lag + lastSkipped);
    expect(gap.length).toBe(report.framesSkipped - 2);
    expect(Math.max(...gap)).toBeLessThan(5);
    // after the gap the audio is at the same offset: the outage neither shifted nor shortened the timeline
    const after = correlation(env.slice(lag + lastSkipped + 6, lag + src.length - 5), src.slice(lastSkipped + 6, src.length - 5));
    expect(after).toBeGreaterThan(0.9);
    // whole: the file reaches the end of the streamed media time, the gap included, not shortened by the outage
    expect(env.length).toBeGreaterThanOrEqual(src.length + lag - 2);

  });

  it('rejects bad input with typed errors and counters, and keeps the call going', async () => {
    const c = await rawClient(url);
    c.ws.send(hello({ sidecarId: 'bad-input' }));
    await c.next('welcome');
    c.ws.send(JSON.stringify({ type: 'sessionStarted', callId: 'bad-input-call', callIndex: 9 }));
    await waitFor(() => started.find((s) => s.callId === 'bad-input-call'), 5000, 'call started');
    const frame = (over: Partial<{ kind: number; callIndex: number; ts: number; sourceId: number }> = {}): Buffer =>
      encodeFrame({ kind: (over.kind ?? FrameKind.Unmixed) as 0, codec: FrameCodec.Pcm16k, flags: 0, callIndex: over.callIndex ?? 9, sourceId: over.sourceId ?? 5, sequence: 0, timestampMs: over.ts ?? 0 }, payloadFromPcm(new Int16Array(320).fill(1000)));
    const before = { ...ingress.metrics.snapshot().bridge };
    const count = (code: string): number => (ingress.metrics.snapshot().bridge[code] ?? 0) - (before[code] ?? 0);

    c.ws.send('{"type":"activeSpeakers"'); // malformed JSON
    expect(await c.next('error')).toMatchObject({ code: 'MEDIABOT_INGRESS_BAD_MESSAGE' });
    c.ws.send(JSON.stringify({ type: 'dominantSpeaker', callId: 'bad-input-call', sourceId: 'x' })); // schema violation
    c.ws.send(JSON.stringify({ type: 'frobnicate' })); // unknown type
    const v2 = frame();
    v2[0] = 2; // unknown frame version
    c.ws.send(v2);
    expect(await c.next('error')).toMatchObject({ code: 'MEDIABOT_INGRESS_BAD_VERSION' });
    c.ws.send(frame().subarray(0, 300)); // wrong size
    expect(await c.next('error')).toMatchObject({ code: 'MEDIABOT_INGRESS_BAD_FRAME' });
    c.ws.send(frame({ callIndex: 77 })); // no such call
    expect(await c.next('error')).toMatchObject({ code: 'MEDIABOT_INGRESS_UNKNOWN_CALL' });
    c.ws.send(frame({ kind: FrameKind.Outbound })); // a sidecar cannot send outbound
    // a burst far faster than real time: 1000 frames (20 s of audio) at once
    const burstStart = performance.now();
    for (let i = 0; i < 1000; i++) c.ws.send(frame({ ts: i * 20 }));
    expect(await c.next('error')).toMatchObject({ code: 'MEDIABOT_INGRESS_RATE_EXCEEDED' });
    await waitFor(() => count('MEDIABOT_INGRESS_RATE_EXCEEDED') + count('framesAccepted') >= 1000, 10_000, 'burst handled');
    const burstSeconds = (performance.now() - burstStart) / 1000;
    expect(count('MEDIABOT_INGRESS_BAD_MESSAGE')).toBe(3);
    expect(count('MEDIABOT_INGRESS_BAD_VERSION')).toBe(1);
    expect(count('MEDIABOT_INGRESS_BAD_FRAME')).toBe(2);
    expect(count('MEDIABOT_INGRESS_UNKNOWN_CALL')).toBe(1);
    // bounded: at most the burst allowance got through to the media thread, and its queue stayed bounded
    const admitted = count('framesAccepted');
    expect(admitted).toBeGreaterThanOrEqual(100);
    // the 2 s allowance plus real time (50 frames/s) for however long the burst took to arrive
    expect(admitted).toBeLessThanOrEqual(100 + Math.ceil(50 * burstSeconds) + 2);
    expect(count('MEDIABOT_INGRESS_RATE_EXCEEDED')).toBeGreaterThan(500);
    const stats = await pool.callStats('bad-input-call');
    const src = stats.sources.find((s) => s.sourceId === 'msi-5');
    expect(src?.pcm).toBeDefined();
    expect(src!.pcm!.depth).toBeLessThanOrEqual(50);
    // the connection and the call are still alive: a control message still works, and so does the bot's side
    c.ws.send(JSON.stringify({ type: 'ping', ts: 1 }));
    expect(await c.next('pong')).toMatchObject({ ts: 1 });
    ingress.sendDtmf('bad-input-call', '12#');
    expect(await c.next('sendDtmf')).toEqual({ type: 'sendDtmf', callId: 'bad-input-call', tones: '12#' });
    expect(() => ingress.sendDtmf('bad-input-call', 'xyz')).toThrowError(expect.objectContaining({ code: 'MEDIABOT_BAD_REQUEST' }));
    expect(() => ingress.sendDtmf('no-such-call', '1')).toThrowError(expect.objectContaining({ code: 'MEDIABOT_CALL_NOT_FOUND' }));
    await ingress.endMediaSession('bad-input-call', 'bot hung up');
    expect(await c.next('endMediaSession')).toEqual({ type: 'endMediaSession', callId: 'bad-input-call', reason: 'bot hung up' });
    expect(ended.find((e) => e.callId === 'bad-input-call')).toMatchObject({ reason: 'bot hung up' });
    expect(pool.hasCall('bad-input-call')).toBe(false);
    c.ws.close();
  });

  it('takes Opus frames (codec 1): decoded, played and detected as talk', async () => {
    const c = await rawClient(url);
    c.ws.send(hello({ sidecarId: 'opus' }));
    await c.next('welcome');
    c.ws.send(JSON.stringify({ type: 'sessionStarted', callId: 'opus-call', callIndex: 3 }));
    await waitFor(() => started.find((s) => s.callId === 'opus-call'), 5000, 'call started');
    const speech = speech48('Opus frames from the sidecar are decoded too.');
    const enc = createOpusEncoder();
    const packet = new Uint8Array(1276);
    const frames = Math.floor(speech.length / 960);
    const t0 = performance.now();
    for (let n = 0; n < frames; n++) {
      const wait = t0 + n * 20 - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const len = enc.encode(speech.subarray(n * 960, n * 960 + 960), packet);
      c.ws.send(encodeFrame({ kind: FrameKind.Unmixed, codec: FrameCodec.Opus, flags: 0, callIndex: 3, sourceId: 33, sequence: n, timestampMs: n * 20 }, packet.subarray(0, len)));
    }
    await new Promise((r) => setTimeout(r, 200));
    const stats = await pool.callStats('opus-call');
    const pcm = stats.sources.find((x) => x.sourceId === 'msi-33')!.pcm!;
    expect(pcm.received).toBe(frames);
    expect(pcm.played).toBeGreaterThan(frames * 0.8);
    expect(events.some((e) => e.type === 'talk.start' && e.callId === 'opus-call' && e.sourceId === 'msi-33')).toBe(true);
    expect(c.messages.filter((m) => m.type === 'error')).toEqual([]);
    c.ws.send(JSON.stringify({ type: 'sessionEnded', callId: 'opus-call', reason: 'done' }));
    await waitFor(() => ended.find((e) => e.callId === 'opus-call'), 5000, 'call ended');
    c.ws.close();
  });

  it('drops a peer that misses its heartbeats (4408), keeping its call for resume', async () => {
    const c = await rawClient(url);
    c.ws.send(hello({ sidecarId: 'silent' }));
    await c.next('welcome');
    c.ws.send(JSON.stringify({ type: 'sessionStarted', callId: 'silent-call', callIndex: 1 }));
    await waitFor(() => started.find((s) => s.callId === 'silent-call'), 5000, 'call started');
    // answer nothing from now on: the socket stays open but we never send
    const code = await c.closed;
    expect(code).toBe(4408);
    expect(ingress.metrics.get('bridge', 'MEDIABOT_INGRESS_HEARTBEAT')).toBeGreaterThanOrEqual(1);
    await waitFor(() => ingress.calls().find((x) => x.callId === 'silent-call' && !x.connected), 3000, 'session detached');
    expect(pool.hasCall('silent-call')).toBe(true);
    await ingress.endMediaSession('silent-call');
    expect(pool.hasCall('silent-call')).toBe(false);
  });
});

