/**
 * playPcm: audio the bot plays into a call is one more source of its media session. An RTP
 * participant on a real UDP socket hears it in the mix it gets back (decoded, energy measured),
 * the recorder writes it as a source of its own, and a PCM (ingress) call carries it in its
 * outbound audio.
 */
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createOpusDecoder, createOpusEncoder } from '../../../src/media/codec/opus.js';
import type { MediaEvent } from '../../../src/media/hooks/api.js';
import { MediaThreadPool, type OutboundFrame } from '../../../src/media/threads/pool.js';
import { parseWavPcm16 } from '../../../src/media/wire/wav.js';
import { parseRtp, serializeRtp } from '../../../src/media/wire/rtp.js';
import { speech48 } from '../../helpers/speech.js';

/** A 440 Hz tone at about -12 dBFS. */
function tone(rate: number, seconds: number): Int16Array {
  const out = new Int16Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++) out[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate));
  return out;
}

function rms(x: Int16Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s / Math.max(1, x.length));
}

describe('playPcm', () => {
  const pool = new MediaThreadPool(1);
  const dir = mkdtempSync(join(tmpdir(), 'mediabot-play-pcm-'));
  afterAll(async () => {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('plays into an RTP call: a UDP participant hears it in its mix, and it is recorded as its own source', async () => {
    const events: MediaEvent[] = [];
    const off = pool.onEvent((e) => events.push(e));
    const created = await pool.createCall({ callId: 'rtp-play', rtp: { host: '127.0.0.1', port: 0 }, hooks: [{ builtin: 'recorder', options: { dir, format: 'wav' } }] });
    const sock = createSocket('udp4');
    sock.bind(0, '127.0.0.1');
    await once(sock, 'listening');
    // What the participant hears: each packet decoded, with the time it arrived.
    const heard: Array<{ at: number; rms: number }> = [];
    const dec = createOpusDecoder();
    const pcm = new Int16Array(960);
    sock.on('message', (msg) => {
      const p = parseRtp(msg);
      if (p.payloadType !== 111) return;
      dec.decode(p.payload, pcm);
      heard.push({ at: performance.now(), rms: rms(pcm) });
    });
    // The participant talks (its own voice is left out of its mix-minus, so before the prompt it hears silence).
    const speech = speech48('The participant keeps talking while the bot plays its prompt.');
    const enc = createOpusEncoder();
    const buf = new Uint8Array(1276);
    let seq = 0;
    const timer = setInterval(() => {
      const f = seq % Math.floor(speech.length / 960);
      const n = enc.encode(speech.subarray(f * 960, f * 960 + 960), buf);
      sock.send(serializeRtp({ payloadType: 111, sequence: seq, timestamp: seq * 960, ssrc: 777, payload: buf.subarray(0, n) }), created.rtp!.port, '127.0.0.1');
      seq++;
    }, 20);
    try {
      await new Promise((r) => setTimeout(r, 600));
      const before = heard.length;
      expect(before).toBeGreaterThan(10);
      // Settled (the first packets may carry the encoder's start-up): its mix is silent.
      expect(Math.max(...heard.slice(before - 10, before).map((h) => h.rms))).toBeLessThan(50);

      const t0 = performance.now();
      const result = await pool.playPcm('rtp-play', tone(48_000, 1), 48_000, { sourceId: 'prompt-test' });
      const t1 = performance.now();
      expect(result).toEqual({ sourceId: 'prompt-test', frames: 50, durationMs: 1000, completed: true });
      // Played in real time, not sent in a burst.
      expect(t1 - t0).toBeGreaterThan(800);
      await new Promise((r) => setTimeout(r, 200));
      const during = heard.filter((h) => h.at > t0 + 100 && h.at < t1);
      expect(during.length).toBeGreaterThan(25);
      // The tone's RMS is about 5700; Opus keeps most of it.
      const loud = during.filter((h) => h.rms > 2000).length;
      expect(loud / during.length).toBeGreaterThan(0.8);

      const stats = await pool.callStats('rtp-play');
      expect(stats.sources.find((s) => s.sourceId === 'prompt-test')?.playback).toEqual({ playedFrames: 50, totalFrames: 50 });
      // Once played, the prompt source leaves the call.
      expect(events.some((e) => e.type === 'source.added' && e.sourceId === 'prompt-test')).toBe(true);
      expect(events.some((e) => e.type === 'source.removed' && e.sourceId === 'prompt-test')).toBe(true);
    } finally {
      clearInterval(timer);
      sock.close();
      off();
    }
    await pool.endCall('rtp-play');
    const wav = parseWavPcm16(readFileSync(join(dir, 'rtp-play', 'prompt-test.wav')));
    expect(wav.samples.length / wav.sampleRate).toBeGreaterThan(0.9);
    expect(rms(wav.samples)).toBeGreaterThan(2000);
  }, 30_000);

  it('plays into a PCM (ingress) call: the outbound audio carries it, at 16 kHz input too', async () => {
    await pool.createCall({ callId: 'pcm-play', pcm: { outbound: 'mix-minus' } });
    const out: OutboundFrame[] = [];
    const off = pool.onOutbound('pcm-play', (f) => out.push(f));
    try {
      const result = await pool.playPcm('pcm-play', tone(16_000, 0.5), 16_000, { sourceId: 'prompt-pcm' });
      expect(result).toMatchObject({ sourceId: 'prompt-pcm', frames: 25, completed: true });
      await new Promise((r) => setTimeout(r, 100));
      const loud = out.filter((f) => rms(f.samples) > 2000);
      expect(loud.length).toBeGreaterThanOrEqual(20);
    } finally {
      off();
    }
    const final = await pool.endCall('pcm-play');
    expect(final.sources.find((s) => s.sourceId === 'prompt-pcm')?.playback).toEqual({ playedFrames: 25, totalFrames: 25 });
  }, 30_000);

  it('refuses bad audio and unknown calls with typed errors; a call that ends first ends the playback', async () => {
    await pool.createCall({ callId: 'edge', pcm: {} });
    await expect(pool.playPcm('edge', new Int16Array(960), 44_100)).rejects.toMatchObject({ code: 'MEDIABOT_INGRESS_BAD_RATE' });
    await expect(pool.playPcm('edge', new Int16Array(0), 48_000)).rejects.toMatchObject({ code: 'MEDIABOT_BAD_REQUEST' });
    await expect(pool.playPcm('nope', new Int16Array(960), 48_000)).rejects.toMatchObject({ code: 'MEDIABOT_CALL_NOT_FOUND' });
    const long = pool.playPcm('edge', tone(48_000, 5), 48_000, { sourceId: 'long' });
    await new Promise((r) => setTimeout(r, 300));
    await pool.endCall('edge');
    const r = await long;
    expect(r.completed).toBe(false);
    expect(r.frames).toBeGreaterThan(5);
    expect(r.frames).toBeLessThan(250);
  }, 30_000);
});
