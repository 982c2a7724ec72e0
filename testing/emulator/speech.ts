import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { speechAssetsIgnored } from '../../src/config/process-settings.js';
import { MediabotError } from '../../src/errors.js';
import { decodeOggOpusFile } from '../../src/media/codec/ogg-opus-file.js';
import { speechAssetPath, speechKey } from '../../src/media/speech/assets.js';

const run = promisify(execFile);

export const SPEECH_RATE = 48_000;

/** One simulated person: a display name, an espeak-ng voice and the sentences they say, in order. */
export interface SpeakerScript {
  name: string;
  voice: string;
  sentences: string[];
}

/**
 * The known default script; transcripts of the meeting can be scored (WER) against it. Voices are
 * distinct espeak-ng variants; en-us+f4 and +m7 were dropped because pocketsphinx does worst on them.
 */
export const DEFAULT_SCRIPT: readonly SpeakerScript[] = [
  {
    name: 'Alice Moreno',
    voice: 'en-us+f3',
    sentences: [
      'Good morning everyone, thanks for joining the weekly planning call.',
      'The new release is ready for testing on Monday.',
      'Please send me your notes before the end of the day.',
    ],
  },
  {
    name: 'Brian Okafor',
    voice: 'en-us+m3',
    sentences: [
      'The quarterly numbers look better than we expected.',
      'We still need two more people on the support team.',
      'I will schedule a follow up meeting for next week.',
    ],
  },
  {
    name: 'Chen Wei',
    voice: 'en-us',
    sentences: [
      'The database migration finished without any errors last night.',
      'Customers in the north region reported slow downloads.',
      'That sounds good to me, talk to you all tomorrow.',
    ],
  },
  {
    name: 'Dana Fischer',
    voice: 'en-us+m1',
    sentences: [
      'I reviewed the budget and the travel costs are too high.',
      'Let us move the design review to Thursday afternoon.',
      'Thank you, that is all from my side.',
    ],
  },
];

export function defaultSpeechCacheDir(): string {
  return join(tmpdir(), 'mediabot-emulator-speech');
}

/** Reads a 16-bit PCM mono WAV produced by sox into samples (the data chunk is located by walking chunks). */
export function parseWavPcm16(buf: Buffer): { sampleRate: number; samples: Int16Array } {
  if (buf.length < 44 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') {
    throw new MediabotError('MEDIABOT_EMULATOR_SPEECH_FAILED', 'not a RIFF/WAVE file');
  }
  let off = 12;
  let sampleRate = 0;
  let channels = 0;
  let bits = 0;
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ') {
      channels = buf.readUInt16LE(body + 2);
      sampleRate = buf.readUInt32LE(body + 4);
      bits = buf.readUInt16LE(body + 14);
    } else if (id === 'data') {
      if (channels !== 1 || bits !== 16) throw new MediabotError('MEDIABOT_EMULATOR_SPEECH_FAILED', 'expected 16-bit mono PCM');
      const end = Math.min(buf.length, body + size);
      const n = Math.floor((end - body) / 2);
      const samples = new Int16Array(n);
      for (let i = 0; i < n; i++) samples[i] = buf.readInt16LE(body + 2 * i);
      return { sampleRate, samples };
    }
    off = body + size + (size % 2);
  }
  throw new MediabotError('MEDIABOT_EMULATOR_SPEECH_FAILED', 'WAV has no data chunk');
}

/** Serializes 16-bit mono PCM as a WAV file. */
export function encodeWavPcm16(samples: Int16Array, sampleRate: number): Buffer {
  const out = Buffer.alloc(44 + samples.length * 2);
  out.write('RIFF', 0, 'ascii');
  out.writeUInt32LE(36 + samples.length * 2, 4);
  out.write('WAVE', 8, 'ascii');
  out.write('fmt ', 12, 'ascii');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20);
  out.writeUInt16LE(1, 22);
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * 2, 28);
  out.writeUInt16LE(2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'ascii');
  out.writeUInt32LE(samples.length * 2, 40);
  for (let i = 0; i < samples.length; i++) out.writeInt16LE(samples[i]!, 44 + 2 * i);
  return out;
}

/**
 * Speech clips rendered with espeak-ng and resampled to 48 kHz mono with sox, cached on disk by a
 * hash of (voice, rate, text) so a restart reuses them.
 */
export class SpeechBank {
  private readonly clips = new Map<string, Int16Array>();

  constructor(private readonly cacheDir: string) {}

  private key(voice: string, text: string): string {
    return speechKey(voice, text);
  }

  /** Renders (or loads from cache) every sentence of the scripts. */
  async prepare(scripts: readonly SpeakerScript[]): Promise<void> {
    await mkdir(this.cacheDir, { recursive: true });
    const jobs: Promise<void>[] = [];
    for (const s of scripts) for (const text of s.sentences) jobs.push(this.load(s.voice, text));
    await Promise.all(jobs);
  }

  /** A prepared clip; throws if `prepare` did not cover it. */
  clip(voice: string, text: string): Int16Array {
    const c = this.clips.get(this.key(voice, text));
    if (!c) throw new MediabotError('MEDIABOT_EMULATOR_SPEECH_FAILED', `speech for "${text}" (${voice}) was not prepared`);
    return c;
  }

  private async load(voice: string, text: string): Promise<void> {
    const key = this.key(voice, text);
    if (this.clips.has(key)) return;
    const asset = speechAssetsIgnored() ? null : speechAssetPath(key);
    if (asset !== null) {
      this.clips.set(key, await decodeOggOpusFile(asset));
      return;
    }
    const file = join(this.cacheDir, `${key}.wav`);
    const exists = await stat(file).then((s) => s.size > 44, () => false);
    if (!exists) {
      const raw = join(this.cacheDir, `${key}.${randomUUID()}.espeak.wav`);
      const tmp = join(this.cacheDir, `${key}.${randomUUID()}.tmp.wav`);
      try {
        await run('espeak-ng', ['-v', voice, '-s', '155', '-w', raw, text], { timeout: 30_000 });
        await run('sox', [raw, '-r', String(SPEECH_RATE), '-c', '1', '-b', '16', tmp], { timeout: 30_000 });
        await rename(tmp, file);
      } catch (err) {
        throw new MediabotError('MEDIABOT_EMULATOR_SPEECH_FAILED', `espeak-ng/sox failed for voice ${voice}: ${err instanceof Error ? err.message : String(err)}`);
      } finally {
        await rm(raw, { force: true });
        await rm(tmp, { force: true });
      }
    }
    const { sampleRate, samples } = parseWavPcm16(await readFile(file));
    if (sampleRate !== SPEECH_RATE) throw new MediabotError('MEDIABOT_EMULATOR_SPEECH_FAILED', `cached clip ${file} is ${sampleRate} Hz`);
    this.clips.set(key, samples);
  }
}
