import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { parseWavPcm16 } from '../../../src/media/wire/wav.js';
import { MediaThreadPool } from '../../../src/media/threads/pool.js';
import type { MediaEvent } from '../../../src/media/hooks/api.js';

export const LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox';

/** The LibriVox clips of pocketsphinx-testdata (16 kHz mono) with their reference text. */
export function librivox(): Array<{ id: string; pcm16: Int16Array; text: string }> {
  const refs = new Map<string, string>();
  for (const line of readFileSync(join(LIBRIVOX, 'transcription'), 'utf8').split('\n')) {
    const m = /^<s> (.*) <\/s> \((.*)\)$/.exec(line.trim());
    if (m) refs.set(m[2]!, m[1]!);
  }
  return readdirSync(LIBRIVOX)
    .filter((f) => f.endsWith('.wav'))
    .sort()
    .map((f) => {
      const { sampleRate, samples } = parseWavPcm16(readFileSync(join(LIBRIVOX, f)));
      if (sampleRate !== 16_000) throw new Error(`${f} is ${sampleRate} Hz`);
      const id = f.replace(/\.wav$/, '');
      return { id, pcm16: samples, text: refs.get(id) ?? '' };
    });
}

export const haveLibrivox = existsSync(LIBRIVOX);

/** A tiny fastify server on 127.0.0.1 with the given plugin(s); returns its base ws:// URL. */
export async function startServer(register: (app: FastifyInstance) => Promise<void>): Promise<{ app: FastifyInstance; ws: string }> {
  const app = Fastify();
  await register(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  if (!addr || typeof addr === 'string') throw new Error('no address');
  return { app, ws: `ws://127.0.0.1:${addr.port}` };
}

export function collectEvents(pool: MediaThreadPool): MediaEvent[] {
  const events: MediaEvent[] = [];
  pool.onEvent((e) => events.push(e));
  return events;
}

/** `pcm` placed at `startMs` (16 kHz) in `totalMs` of silence. */
export function place16(pcm: Int16Array, startMs: number, totalMs: number): Int16Array {
  const out = new Int16Array(Math.round(totalMs * 16));
  const at = Math.round(startMs * 16);
  out.set(pcm.subarray(0, Math.max(0, Math.min(pcm.length, out.length - at))), at);
  return out;
}

/** RMS per 20 ms window of 16 kHz audio. */
export function envelope16(pcm: Int16Array): number[] {
  const out: number[] = [];
  for (let i = 0; i + 320 <= pcm.length; i += 320) {
    let s = 0;
    for (let j = 0; j < 320; j++) s += pcm[i + j]! * pcm[i + j]!;
    out.push(Math.sqrt(s / 320));
  }
  return out;
}

export function rmsOf(pcm: Int16Array, from = 0, to = pcm.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += pcm[i]! * pcm[i]!;
  return to > from ? Math.sqrt(s / (to - from)) : 0;
}

export function waitFor<T>(fn: () => T | undefined | null | false, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const poll = (): void => {
      const v = fn();
      if (v) return resolve(v);
      if (Date.now() - t0 > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(poll, 20);
    };
    poll();
  });
}

export function readWav16(path: string): Int16Array {
  const { sampleRate, samples } = parseWavPcm16(readFileSync(path));
  if (sampleRate !== 16_000) throw new Error(`${path} is ${sampleRate} Hz`);
  return samples;
}

/** A fastify server with one ingress plugin mounted; `close` stops ingress, server and pool in that order. */
export async function startIngressServer(
  mount: (app: FastifyInstance) => PromiseLike<unknown>,
  path: '/media/acs' | '/media/bridge',
  parts: { ingress: { close(): Promise<void> }; pool: MediaThreadPool },
): Promise<{ url: string; close: () => Promise<void> }> {
  const s = await startServer(async (app) => {
    await mount(app);
  });
  return {
    url: `${s.ws}${path}`,
    close: async () => {
      await parts.ingress.close();
      await s.app.close();
      await parts.pool.close();
    },
  };
}
