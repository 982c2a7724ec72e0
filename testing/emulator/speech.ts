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
import { parseWavPcm16 } from '../../src/media/wire/wav.js';

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
