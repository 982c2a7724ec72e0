import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { MediaThreadPool } from '../../../src/media/threads/pool.js';
import type { MediaEvent } from '../../../src/media/hooks/api.js';
import { POCKETSPHINX_DEFAULT_ARGS } from '../../../src/media/hooks/transcribe/pocketsphinx.js';
import { AcsIngress, acsIngressPlugin, type AcsControlEvent } from '../../../src/ingress/acs/adapter.js';
import { PCM_FLAG_PLAYBACK } from '../../../src/media/session/pcm/pcm-call.js';
import type { IngressCallInfo } from '../../../src/ingress/common/shared.js';
import { speech48 } from '../../helpers/speech.js';
import { envelope16, haveLibrivox, LIBRIVOX, librivox, readWav16, rmsOf, startIngressServer, waitFor } from './helpers.js';

const HAVE_PS = spawnSync('sh', ['-c', 'command -v pocketsphinx_continuous && command -v stdbuf']).status === 0;
if (!haveLibrivox) console.warn(`skipping ACS speech tests: ${LIBRIVOX} is missing (apt install pocketsphinx-testdata)`);
if (!HAVE_PS) console.warn('ACS test: pocketsphinx_continuous is missing; transcript checks are skipped (apt install pocketsphinx)');

const words = (s: string): string[] => s.toLowerCase().replace(/\(\d+\)/g, '').split(/\s+/).filter((w) => w.length > 0 && !w.startsWith('<') && !w.startsWith('['));

/** pocketsphinx run directly on the clip: the baseline our streamed transcript is compared with. */
function directTranscript(id: string): string[] {
  const r = spawnSync('pocketsphinx_continuous', ['-infile', join(LIBRIVOX, `${id}.wav`), '-logfn', '/dev/null', ...POCKETSPHINX_DEFAULT_ARGS], { encoding: 'utf8' });
  return words(r.stdout);
}

interface AcsClient {
  ws: WebSocket;
  received: Array<Record<string, unknown>>;
  closed: Promise<number>;
}

async function acsClient(url: string, callId: string, correlationId: string): Promise<AcsClient> {
  const ws = new WebSocket(url, { headers: { 'x-ms-call-connection-id': callId, 'x-ms-call-correlation-id': correlationId } });
  const received: Array<Record<string, unknown>> = [];
  ws.on('message', (d) => received.push(JSON.parse(d.toString()) as Record<string, unknown>));
  const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, received, closed };
}

const b64 = (pcm: Int16Array): string => Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength).toString('base64');

function decodeOut(msgs: Array<Record<string, unknown>>): Int16Array[] {
  return msgs
    .filter((m) => m.kind === 'AudioData')
    .map((m) => {
      const b = Buffer.from((m.audioData as { data: string }).data, 'base64');
      const out = new Int16Array(b.length / 2);
      for (let i = 0; i < out.length; i++) out[i] = b.readInt16LE(2 * i);
      return out;
    });
}

describe('ACS media streaming ingress', () => {
  let pool: MediaThreadPool;
  let ingress: AcsIngress;
  let url: string;
  let close: () => Promise<void>;
  let dir: string;
  const events: MediaEvent[] = [];
  const control: AcsControlEvent[] = [];
  const started: IngressCallInfo[] = [];
  const ended: Array<IngressCallInfo & { reason: string }> = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mediabot-acs-'));
    pool = new MediaThreadPool(1);
    pool.onEvent((e) => events.push(e));
    ingress = new AcsIngress({
      pool,
      endGraceMs: 300,
      callSpec: (callId) => ({
        sourceIdleMs: 60_000,
        hooks: [
          { builtin: 'recorder', options: { dir: join(dir, callId), format: 'wav' } },
          { builtin: 'talk-events' },
          ...(HAVE_PS ? [{ builtin: 'transcribe', options: { engine: 'pocketsphinx' } }] : []),
        ],
      }),
      onCallStarted: (i) => started.push(i),
      onCallEnded: (i) => ended.push(i),
    });
    ingress.onControl((e) => control.push(e));
    ({ url, close } = await startIngressServer((app) => app.register(acsIngressPlugin, { ingress }), '/media/acs', { ingress, pool }));
  });

  afterAll(async () => {
    await close?.();
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!haveLibrivox)('two unmixed participants at real time: per-participant recordings and transcripts, DTMF, bot audio back, barge-in', async () => {
    const clips = librivox();
    const alice = clips.find((c) => c.id.endsWith('0880'))!;
    const bob = clips.find((c) => c.id.endsWith('0930'))!;
    const callId = 'acs-call-1';
    const aliceId = '8:acs:11111111-aaaa';
    const bobId = '8:acs:22222222-bbbb';
    const client = await acsClient(url, callId, 'corr-1');
    await waitFor(() => started.find((s) => s.callId === callId), 10_000, 'ACS call registered');
    expect(started.find((s) => s.callId === callId)).toMatchObject({ adapter: 'acs', correlationId: 'corr-1' });
    client.ws.send(JSON.stringify({ kind: 'AudioMetadata', audioMetadata: { subscriptionId: 'sub-1', encoding: 'PCM', sampleRate: 16000, channels: 1, length: 640 } }));

    // what the bot says (a playback source, so it is in the outbound mix-minus): from t = 0
    const prompt = speech48('Welcome to the planning call. This meeting is being recorded for the minutes.');
    const aliceStart = 1000;
    const bobStart = aliceStart + alice.pcm16.length / 16 + 500;
    const endMs = bobStart + bob.pcm16.length / 16 + 600;
    const t0Wall = Date.parse('2026-01-01T10:00:00.000Z');
    const start = performance.now();
    for (let n = 0; n * 20 < endMs; n++) {
      const wait = start + n * 20 - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const ts = n * 20;
      const timestamp = new Date(t0Wall + ts).toISOString();
      if (n * 960 < prompt.length) pool.pushPcm(callId, { sourceId: 'bot-prompt', rate: 48_000, timestampMs: ts, samples: padTo(prompt.subarray(n * 960, n * 960 + 960), 960), flags: PCM_FLAG_PLAYBACK });
      for (const [who, clip, at] of [[aliceId, alice.pcm16, aliceStart], [bobId, bob.pcm16, bobStart]] as const) {
        const off = ((ts - at) / 20) * 320;
        if (off < 0 || off >= clip.length) continue;
        const frame = padTo(clip.subarray(off, off + 320), 320);
        client.ws.send(JSON.stringify({ kind: 'AudioData', audioData: { timestamp, participantRawID: who, data: b64(frame), silent: false } }));
      }
      if (ts === 2000) client.ws.send(JSON.stringify({ kind: 'DtmfData', dtmfData: { data: '7', participantRawID: bobId, timestamp } }));
    }
    client.ws.close();
    const tClose = Date.now();
    await waitFor(() => ended.find((e) => e.callId === callId), 40_000, 'ACS call ended');
    console.log('ACS call end took', Date.now() - tClose, 'ms');

    // DTMF and barge-in (alice started talking while the bot's prompt played)
    expect(control).toContainEqual({ type: 'dtmf', callId, tone: '7', participantRawId: bobId });
    expect(control.some((e) => e.type === 'bargeIn' && e.callId === callId && e.sourceId === aliceId)).toBe(true);
    expect(client.received.some((m) => m.kind === 'StopAudio')).toBe(true);

    // the bot's audio came back as AudioData: 640-byte 16 kHz frames holding the prompt (not the participants)
    const out = decodeOut(client.received);
    expect(out.length).toBeGreaterThan(50);
    expect(out.every((f) => f.length === 320)).toBe(true);
    const outAll = Int16Array.from(out.flatMap((f) => Array.from(f)));
    expect(rmsOf(outAll)).toBeGreaterThan(300);
    expect(out.length * 20).toBeLessThan(prompt.length / 48 + 400); // mix-minus: the participants' speech is not echoed back

    // per-participant recordings: each has its own speech at its own time, silence where the other spoke
    const files = events.filter((e): e is Extract<MediaEvent, { type: 'recording.file' }> => e.type === 'recording.file' && e.callId === callId);
    const recAlice = readWav16(files.find((f) => f.sourceId === aliceId)!.path);
    const recBob = readWav16(files.find((f) => f.sourceId === bobId)!.path);
    expect(rmsOf(recAlice)).toBeGreaterThan(200);
    const aliceSpeechFrames = envelope16(recAlice).filter((v) => v > 300).length;
    const bobSpeechFrames = envelope16(recBob).filter((v) => v > 300).length;
    expect(aliceSpeechFrames).toBeGreaterThan(40);
    expect(bobSpeechFrames).toBeGreaterThan(40);
    // bob's file starts where bob first spoke; alice's speech is not in it
    expect(Math.abs(recBob.length / 16 - (endMs - bobStart))).toBeLessThan(1500);
    for (const id of [aliceId, bobId]) expect(events.some((e) => e.type === 'talk.start' && e.callId === callId && e.sourceId === id)).toBe(true);

    // transcripts: one speaker per line, close to what pocketsphinx makes of the clip directly
    if (HAVE_PS) {
      for (const [id, clip] of [[aliceId, alice], [bobId, bob]] as const) {
        const lines = events.filter((e): e is Extract<MediaEvent, { type: 'transcript.partial' | 'transcript.final' }> => e.type === 'transcript.final' && e.callId === callId && e.sourceId === id);
        expect(lines.length, `transcript lines of ${id}`).toBeGreaterThan(0);
        const got = new Set(words(lines.map((l) => l.text).join(' ')));
        const direct = directTranscript(clip.id);
        const hit = direct.filter((w) => got.has(w)).length;
        console.log(`ACS transcript ${id}: "${lines.map((l) => l.text).join(' ')}" | direct: "${direct.join(' ')}" | reference: "${clip.text}"`);
        expect(hit / Math.max(1, direct.length)).toBeGreaterThanOrEqual(0.5);
      }
    }
  });

  it('24 kHz mixed audio: upsampled in, outbound sent back at 24 kHz (960-byte frames)', async () => {
    const callId = 'acs-call-24k';
    const client = await acsClient(url, callId, 'corr-24');
    client.ws.send(JSON.stringify({ kind: 'AudioMetadata', audioMetadata: { subscriptionId: 'sub-2', encoding: 'PCM', sampleRate: 24000, channels: 1, length: 960 } }));
    await waitFor(() => started.find((s) => s.callId === callId), 10_000, 'call registered');
    const speech = speech48('Testing twenty four kilohertz audio.');
    const start = performance.now();
    for (let n = 0; n * 960 < speech.length; n++) {
      const wait = start + n * 20 - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const f48 = padTo(speech.subarray(n * 960, n * 960 + 960), 960);
      const f24 = new Int16Array(480);
      for (let i = 0; i < 480; i++) f24[i] = Math.round((f48[2 * i]! + f48[2 * i + 1]!) / 2);
      client.ws.send(JSON.stringify({ kind: 'AudioData', audioData: { timestamp: new Date(1_700_000_000_000 + n * 20).toISOString(), data: b64(f24), silent: false } }));
      pool.pushPcm(callId, { sourceId: 'bot', rate: 48_000, timestampMs: n * 20, samples: f48, flags: PCM_FLAG_PLAYBACK });
    }
    await new Promise((r) => setTimeout(r, 300));
    client.ws.close();
    await waitFor(() => ended.find((e) => e.callId === callId), 10_000, 'call ended');
    const out = decodeOut(client.received);
    expect(out.length).toBeGreaterThan(30);
    expect(out.every((f) => f.length === 480)).toBe(true);
    const file = events.find((e): e is Extract<MediaEvent, { type: 'recording.file' }> => e.type === 'recording.file' && e.callId === callId && e.sourceId === 'mixed');
    expect(rmsOf(readWav16(file!.path))).toBeGreaterThan(200);
  });

  it('ACS reconnecting with the same call connection id within the grace period keeps the call', async () => {
    const callId = 'acs-reconnect';
    const frame = b64(new Int16Array(320).fill(1500));
    const send = (c: AcsClient, n: number): void => c.ws.send(JSON.stringify({ kind: 'AudioData', audioData: { timestamp: new Date(1_700_000_000_000 + n * 20).toISOString(), participantRawID: '8:acs:r', data: frame } }));
    const first = await acsClient(url, callId, 'corr-r');
    await waitFor(() => started.find((s) => s.callId === callId), 10_000, 'call registered');
    for (let n = 0; n < 10; n++) send(first, n);
    first.ws.close();
    await first.closed;
    const second = await acsClient(url, callId, 'corr-r');
    for (let n = 10; n < 20; n++) send(second, n);
    await new Promise((r) => setTimeout(r, 600)); // longer than the 300 ms grace
    expect(ended.find((e) => e.callId === callId)).toBeUndefined();
    expect(started.filter((s) => s.callId === callId)).toHaveLength(1);
    expect(ingress.metrics.get('acs', 'reconnects')).toBeGreaterThanOrEqual(1);
    const stats = await pool.callStats(callId);
    expect(stats.sources.find((s) => s.sourceId === '8:acs:r')!.pcm!.received).toBe(20);
    second.ws.close();
    await waitFor(() => ended.find((e) => e.callId === callId), 10_000, 'call ended');
  });

  it('bad input: typed errors counted, the call keeps its audio and the socket stays up', async () => {
    const callId = 'acs-bad';
    const client = await acsClient(url, callId, 'corr-bad');
    await waitFor(() => started.find((s) => s.callId === callId), 10_000, 'call registered');
    const before = { ...ingress.metrics.snapshot().acs };
    const count = (k: string): number => (ingress.metrics.snapshot().acs[k] ?? 0) - (before[k] ?? 0);
    const frame = b64(new Int16Array(320).fill(2000));
    const good = (n: number): string => JSON.stringify({ kind: 'AudioData', audioData: { timestamp: new Date(1_700_000_000_000 + n * 20).toISOString(), participantRawID: '8:acs:x', data: frame } });
    client.ws.send(good(0));
    client.ws.send('{"kind":'); // malformed JSON
    client.ws.send(JSON.stringify({ kind: 'AudioMetadata', audioMetadata: { encoding: 'PCM', sampleRate: 8000, channels: 1 } })); // unsupported rate
    client.ws.send(JSON.stringify({ kind: 'AudioData', audioData: { timestamp: 'yesterday', data: frame } })); // bad timestamp
    client.ws.send(JSON.stringify({ kind: 'AudioData', audioData: { timestamp: new Date().toISOString(), data: b64(new Int16Array(100)) } })); // wrong size
    client.ws.send(Buffer.from([1, 2, 3])); // binary
    client.ws.send(JSON.stringify({ kind: 'TranscriptionData', transcriptionData: {} })); // another kind: ignored
    const burstStart = performance.now();
    for (let n = 1; n < 600; n++) client.ws.send(good(n)); // 12 s of audio at once
    await waitFor(() => count('MEDIABOT_INGRESS_RATE_EXCEEDED') + count('framesAccepted') >= 600, 10_000, 'burst handled');
    const burstSeconds = (performance.now() - burstStart) / 1000;
    expect(count('MEDIABOT_INGRESS_RATE_EXCEEDED')).toBeGreaterThan(300);
    expect(count('MEDIABOT_INGRESS_BAD_MESSAGE')).toBe(3);
    expect(count('MEDIABOT_INGRESS_BAD_RATE')).toBe(1);
    expect(count('MEDIABOT_INGRESS_BAD_FRAME')).toBe(1);
    expect(count('ignoredMessages')).toBe(1);
    // the 2 s allowance plus real time (50 frames/s) for however long the burst took to arrive
    expect(count('framesAccepted')).toBeLessThanOrEqual(100 + Math.ceil(50 * burstSeconds) + 2);
    const stats = await pool.callStats(callId);
    expect(stats.sources.find((s) => s.sourceId === '8:acs:x')!.pcm!.depth).toBeLessThanOrEqual(50);
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
    client.ws.close();
    await waitFor(() => ended.find((e) => e.callId === callId), 10_000, 'call ended');
  });
});

function padTo(pcm: Int16Array, n: number): Int16Array {
  if (pcm.length === n) return pcm;
  const out = new Int16Array(n);
  out.set(pcm.subarray(0, n));
  return out;
}
