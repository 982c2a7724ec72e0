/**
 * Renders the emulator's default script and the demo's prompt (espeak-ng + sox) into assets/speech
 * as Ogg Opus, so `npm start` speaks without espeak-ng installed.
 * Run after changing DEFAULT_SCRIPT: `npx tsx scripts/render-demo-speech.ts`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createOpusEncoder } from '../src/media/codec/opus.js';
import { SAMPLES_48K } from '../src/media/core/frame.js';
import { DEFAULT_SCRIPT, SpeechBank } from '../testing/emulator/speech.js';
import { speechKey } from '../src/media/speech/assets.js';
import { openOggOpusFile } from '../src/media/hooks/recorder/index.js';
import { DEMO_PROMPT } from '../src/cli/demo.js';

const outDir = fileURLToPath(new URL('../assets/speech', import.meta.url));
const cache = mkdtempSync(join(tmpdir(), 'mediabot-render-'));
process.env['MEDIABOT_IGNORE_SPEECH_ASSETS'] = '1';
const bank = new SpeechBank(cache);
const scripts = [...DEFAULT_SCRIPT, { name: 'mediabot (prompt)', voice: DEMO_PROMPT.voice, sentences: [DEMO_PROMPT.text] }];
await bank.prepare(scripts);
for (const s of scripts) {
  for (const text of s.sentences) {
    const pcm = bank.clip(s.voice, text);
    const enc = createOpusEncoder({ bitrate: 32_000, complexity: 10, inbandFec: false });
    const path = join(outDir, `${speechKey(s.voice, text)}.opus`);
    rmSync(path, { force: true });
    const writer = openOggOpusFile(path, { comments: { TITLE: text, ARTIST: s.name } });
    const buf = new Uint8Array(1276);
    const frame = new Int16Array(SAMPLES_48K);
    for (let at = 0; at < pcm.length; at += SAMPLES_48K) {
      frame.fill(0);
      frame.set(pcm.subarray(at, Math.min(pcm.length, at + SAMPLES_48K)));
      const n = enc.encode(frame, buf);
      writer.writePacket(buf.subarray(0, n));
    }
    writer.end();
    console.log(`${s.name}: ${text}`);
  }
}
rmSync(cache, { recursive: true, force: true });
