/**
 * The ACS ingress mounted on a running mediabot: a real `ws` client plays Azure Communication
 * Services media streaming (AudioMetadata, then AudioData with base64 PCM per participant) with two
 * LibriVox speakers into /media/acs. The stream is a call of the operator API (its
 * x-ms-call-connection-id is its id); once the stream ends it has a transcript attributed to each
 * participant, Ogg recordings with audio, analytics, and the ingress counters are on /metrics.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startMediabot, type ComposedMediabot } from '../../../src/app/mediabot.js';
import { silentLogger } from '../../../src/logger.js';
import { testConfig, until } from './helpers.js';

const TOKEN = 'acs-ingress-test-token-0123456789';
const LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox';
const CLIPS = ['sense_and_sensibility_01_austen_64kb-0870', 'sense_and_sensibility_01_austen_64kb-0880'];
const HAVE_CLIPS = CLIPS.every((c) => existsSync(join(LIBRIVOX, `${c}.wav`)));
const HAVE_PS = spawnSync('sh', ['-c', 'command -v pocketsphinx_continuous']).status === 0;
if (!HAVE_CLIPS) console.warn(`skipping the ACS ingress app test: ${LIBRIVOX} is missing (apt install pocketsphinx-testdata)`);
if (!HAVE_PS) console.warn('ACS ingress app test: pocketsphinx_continuous is missing; the transcript assertion is skipped (apt install pocketsphinx)');

/** 16-bit mono PCM samples of a RIFF/WAVE file (the data chunk). */
function wavPcm16(file: string): Int16Array {
  const b = readFileSync(file);
  let off = 12;
  while (off + 8 <= b.length) {
    const id = b.toString('ascii', off, off + 4);
    const size = b.readUInt32LE(off + 4);
    if (id === 'data') {
      const out = new Int16Array(Math.floor(Math.min(size, b.length - off - 8) / 2));
      for (let i = 0; i < out.length; i++) out[i] = b.readInt16LE(off + 8 + 2 * i);
      return out;
    }
    off += 8 + size + (size & 1);
  }
  throw new Error(`${file} has no data chunk`);
}

let bot: ComposedMediabot;
const api = async (path: string): Promise<{ status: number; json: any }> => {
  const res = await fetch(`${bot.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const text = await res.text();
  return { status: res.status, json: text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : text };
};

beforeAll(async () => {
  bot = await startMediabot(testConfig({ MEDIABOT_API_TOKEN: TOKEN, MEDIABOT_TRANSCRIBER: HAVE_PS ? 'pocketsphinx' : 'none', MEDIABOT_RECORD: 'on' }), { logger: silentLogger });
});

afterAll(async () => {
  await bot?.close();
});

describe.skipIf(!HAVE_CLIPS)('ACS media streaming into mediabot', () => {
  it('refuses a stream without the token', async () => {
    const code = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${bot.url.replace('http', 'ws')}/media/acs`, { headers: { 'x-ms-call-connection-id': randomUUID() } });
      ws.on('close', (c) => resolve(c));
      ws.on('error', () => undefined);
    });
    expect(code).toBe(4401);
    expect((await api('/v1/calls')).json.calls ?? (await api('/v1/calls')).json).toHaveLength(0);
  });

  it('lists the stream as a call and keeps its transcript, recordings and analytics', async () => {
    const callId = randomUUID();
    const ws = new WebSocket(`${bot.url.replace('http', 'ws')}/media/acs?token=${encodeURIComponent(TOKEN)}`, {
      headers: { 'x-ms-call-connection-id': callId, 'x-ms-call-correlation-id': randomUUID() },
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.send(JSON.stringify({ kind: 'AudioMetadata', audioMetadata: { subscriptionId: randomUUID(), encoding: 'PCM', sampleRate: 16000, channels: 1, length: 640 } }));

    const people = ['8:acs:alice-0001', '8:acs:bob-0002'];
    const pcm = CLIPS.map((c) => wavPcm16(join(LIBRIVOX, `${c}.wav`)));
    // Alice reads her clip, then Bob his; each is silent (silent: true) while the other reads.
    const frames = pcm.reduce((a, p) => a + Math.ceil(p.length / 320), 0) + 25;
    const t0 = Date.now();
    const aliceDone = Math.ceil(pcm[0]!.length / 320);
    for (let i = 0; i < frames; i++) {
      const timestamp = new Date(t0 + i * 20).toISOString();
      for (let who = 0; who < 2; who++) {
        const start = who === 0 ? 0 : aliceDone + 10;
        const k = i - start;
        const clip = pcm[who]!;
        const speaking = k >= 0 && k * 320 < clip.length;
        const frame = new Int16Array(320);
        if (speaking) frame.set(clip.subarray(k * 320, Math.min(clip.length, (k + 1) * 320)));
        const data = Buffer.from(frame.buffer).toString('base64');
        ws.send(JSON.stringify({ kind: 'AudioData', audioData: { timestamp, participantRawID: people[who], data, silent: !speaking } }));
      }
      // Real time (the ingress cuts senders far ahead of it), in bursts of 10 frames.
      if (i % 10 === 9) {
        const due = t0 + (i + 1) * 20 - Date.now();
        if (due > 0) await new Promise((r) => setTimeout(r, due));
      }
      if (i === 50) {
        const listed = await api('/v1/calls');
        const calls: Array<{ id: string }> = listed.json.calls ?? listed.json;
        expect(calls.map((c) => c.id)).toContain(callId);
      }
    }
    ws.close(1000);

    await until('the call to end', async () => {
      const r = await api(`/v1/calls/${callId}`);
      return r.status === 200 && (r.json.state ?? r.json.call?.state) === 'terminated' ? true : undefined;
    }, 30_000);
    const artifacts = await bot.calls.whenFinalized(callId, 60_000);
    expect(artifacts.files.some((f) => f.endsWith('call.json'))).toBe(true);

    if (HAVE_PS) {
      const t = await api(`/v1/calls/${callId}/transcript`);
      expect(t.status).toBe(200);
      // mediabot's own consent announcement (a prompt-… source) is transcribed too; the people are what is checked here.
      const bySource = new Set((t.json.lines as Array<{ sourceId: string; text: string }>).filter((l) => l.text.trim() !== '' && !l.sourceId.startsWith('prompt-')).map((l) => l.sourceId));
      expect([...bySource].sort()).toEqual([...people].sort());
    } else {
      console.warn('transcript assertion skipped: pocketsphinx_continuous is absent');
    }

    const rec = await api(`/v1/calls/${callId}/recordings`);
    expect(rec.status).toBe(200);
    const list: Array<{ file: string; sourceId: string; format: string; bytes: number }> = rec.json.recordings ?? rec.json;
    for (const p of people) {
      const ogg = list.find((r) => r.sourceId === p && r.format === 'ogg') ?? list.find((r) => r.file.includes(p.replace(/[^A-Za-z0-9_.-]/g, '_')) && r.format === 'ogg');
      expect(ogg, `an Ogg recording of ${p} in ${JSON.stringify(list)}`).toBeDefined();
      // Several seconds of Opus speech, not an empty container.
      expect(ogg!.bytes).toBeGreaterThan(8000);
    }

    const analytics = await api(`/v1/calls/${callId}/analytics`);
    expect(analytics.status).toBe(200);
    expect(analytics.json.final).toBe(true);
    const talk = (analytics.json.participants as Array<{ sourceId: string; talkMs: number }>).filter((p) => people.includes(p.sourceId));
    expect(talk).toHaveLength(2);
    for (const p of talk) expect(p.talkMs).toBeGreaterThan(1000);

    const metrics = await (await fetch(`${bot.url}/metrics`)).text();
    const counter = /mediabot_ingress_events_total\{adapter="acs",event="frames"\} (\d+)/.exec(metrics) ?? /mediabot_ingress_events_total\{[^}]*adapter="acs"[^}]*\} (\d+)/.exec(metrics);
    expect(counter, "ingress counters on /metrics").not.toBeNull();
    expect(Number(counter![1])).toBeGreaterThan(100);
  }, 120_000);
});
