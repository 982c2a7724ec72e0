import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MediaThreadPool } from '../../../src/media/threads/pool.js';
import type { MediaEvent } from '../../../src/media/hooks/api.js';
import { envelope, correlation, speech48 } from '../../helpers/speech.js';
import { parseWavPcm16 } from '../../../src/media/wire/wav.js';

const dir = mkdtempSync(join(tmpdir(), 'mediabot-pcm-ogg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Streams `pcm` (48 kHz) into a PCM source at real time and returns the source's Ogg recording decoded by ffmpeg. */
async function recordOgg(pool: MediaThreadPool, callId: string, encodeOpus: boolean, pcm: Int16Array): Promise<Int16Array> {
  const events: MediaEvent[] = [];
  const off = pool.onEvent((e) => events.push(e));
  await pool.createCall({ callId, hooks: [{ builtin: 'recorder', options: { dir: join(dir, callId), format: 'ogg' } }], pcm: { encodeOpus } });
  const t0 = performance.now();
  for (let n = 0; (n + 1) * 960 <= pcm.length; n++) {
    const wait = t0 + n * 20 - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pool.pushPcm(callId, { sourceId: 'speaker', rate: 48_000, timestampMs: n * 20, samples: pcm.subarray(n * 960, (n + 1) * 960) });
  }
  await new Promise((r) => setTimeout(r, 300));
  await pool.endCall(callId);
  off();
  const file = events.find((e): e is Extract<MediaEvent, { type: 'recording.file' }> => e.type === 'recording.file' && e.sourceId === 'speaker' && e.format === 'ogg');
  expect(file).toBeDefined();
  const wav = execFileSync('ffmpeg', ['-v', 'error', '-i', file!.path, '-ar', '48000', '-ac', '1', '-f', 'wav', '-']);
  return parseWavPcm16(wav).samples;
}

describe('Ogg Opus recordings of PCM sources', () => {
  it('hold the speech when spec.pcm.encodeOpus is set (and only silence without it)', async () => {
    const pool = new MediaThreadPool(1);
    try {
      const speech = speech48('The recorder writes what the ingress hands it.');
      const withOpus = await recordOgg(pool, 'ogg-on', true, speech);
      const envRec = envelope(withOpus);
      const envSrc = envelope(speech);
      let best = -1;
      for (let lag = 0; lag < 30; lag++) best = Math.max(best, correlation(envSrc, envRec.subarray(lag)));
      expect(best).toBeGreaterThan(0.9);
      const without = await recordOgg(pool, 'ogg-off', false, speech);
      expect(Math.max(...envelope(without))).toBeLessThan(50);
    } finally {
      await pool.close();
    }
  });
});
