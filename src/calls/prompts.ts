/**
 * Prompts: text made into speech with espeak-ng (a 16 kHz mono WAV, the format Graph's playPrompt
 * takes, served by mediabot under /media/prompts/<id>.wav), and the prompt audio decoded to 48 kHz
 * PCM for an app-hosted call, where it is played through the call's media session (`playPcm`), so
 * every participant hears it (Graph's playPrompt only works with service-hosted media).
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, stat, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MediabotError } from '../errors.js';
import { SAFE_FETCH_DEFAULTS, safeFetch } from '../net/safe-fetch.js';
import { decodeOggOpusFile } from '../media/codec/ogg-opus-file.js';
import { encodeWavPcm16, parseWavPcm16 } from '../media/wire/wav.js';
import { speechAssetPath, speechKey } from '../media/speech/assets.js';
import { SAMPLES_16K, SAMPLES_48K } from '../media/core/frame.js';
import { Decimator48to16 } from '../media/codec/resampler.js';
import { Upsampler } from '../media/codec/upsampler.js';

const run = promisify(execFile);

export const PROMPT_ID = /^[A-Za-z0-9_-]{1,64}$/;
export const MAX_PROMPT_TEXT = 1000;

export class PromptStore {
  /** `fetchAllowlist`: MEDIABOT_FETCH_ALLOWLIST, for prompt URLs callers give (see fetchPrompt). */
  constructor(
    readonly dir: string,
    readonly opts: { fetchAllowlist?: readonly string[] } = {},
  ) {}

  /** Downloads a caller-given prompt URL (fetchPrompt, with this store's allowlist) into `<dir>/downloads`. */
  download(url: string): Promise<string> {
    return fetchPrompt(url, join(this.dir, 'downloads'), { allowlist: this.opts.fetchAllowlist ?? [] });
  }

  path(id: string): string {
    if (!PROMPT_ID.test(id)) throw new MediabotError('MEDIABOT_NOT_FOUND', 'no such prompt');
    return join(this.dir, `${id}.wav`);
  }

  /** Renders `text` with espeak-ng into a 16 kHz mono 16-bit WAV; returns its id. */
  async speak(text: string, voice = 'en-us'): Promise<string> {
    if (typeof text !== 'string' || text.trim() === '' || text.length > MAX_PROMPT_TEXT) {
      throw new MediabotError('MEDIABOT_BAD_REQUEST', `text must be 1-${MAX_PROMPT_TEXT} characters`);
    }
    await mkdir(this.dir, { recursive: true });
    const id = randomUUID();
    const raw = join(this.dir, `${id}.espeak.wav`);
    try {
      // The text goes as one argv element after `--`: never through a shell, never read as an option.
      await run('espeak-ng', ['-v', voice, '-s', '160', '-w', raw, '--', text.replace(/\s+/g, ' ').trim()], { timeout: 30_000 });
      await run('sox', [raw, '-r', '16000', '-c', '1', '-b', '16', this.path(id)], { timeout: 30_000 });
    } catch (err) {
      // Without espeak-ng/sox, a prompt shipped pre-rendered (the demo's) still plays.
      const asset = speechAssetPath(speechKey(voice, text));
      if (asset === null) throw new MediabotError('MEDIABOT_PROMPT_FAILED', `speech synthesis failed (espeak-ng/sox): ${(err as Error).message}`);
      await writeFile(this.path(id), encodeWavPcm16(decimateTo16k(await decodeOggOpusFile(asset)), 16_000));
    } finally {
      await rm(raw, { force: true });
    }
    return id;
  }

  async exists(id: string): Promise<boolean> {
    if (!PROMPT_ID.test(id)) return false;
    return stat(this.path(id)).then((s) => s.isFile(), () => false);
  }
}

/** 48 kHz → 16 kHz with the media core's speech-tap decimator. */
function decimateTo16k(pcm48: Int16Array): Int16Array {
  const d = new Decimator48to16();
  const frames = Math.ceil(pcm48.length / SAMPLES_48K);
  const out = new Int16Array(frames * SAMPLES_16K);
  const frame = new Int16Array(SAMPLES_48K);
  for (let f = 0; f < frames; f++) {
    frame.fill(0);
    frame.set(pcm48.subarray(f * SAMPLES_48K, Math.min(pcm48.length, (f + 1) * SAMPLES_48K)));
    d.process(frame, out.subarray(f * SAMPLES_16K, (f + 1) * SAMPLES_16K));
  }
  return out;
}

/** 16 kHz mono PCM WAV (what PromptStore writes) to 48 kHz, without sox. */
async function wav16kTo48k(file: string): Promise<Int16Array | null> {
  let parsed: { sampleRate: number; samples: Int16Array };
  try {
    parsed = parseWavPcm16(await readFile(file));
  } catch {
    return null;
  }
  if (parsed.sampleRate === 48_000) return parsed.samples;
  if (parsed.sampleRate !== 16_000) return null;
  const up = new Upsampler(16_000, parsed.samples.length);
  const out = new Int16Array(parsed.samples.length * 3);
  up.process(parsed.samples, out);
  return out;
}

/** Decodes any audio file sox reads into 48 kHz mono int16 samples (16/48 kHz WAV even without sox). */
export async function load48k(file: string): Promise<Int16Array> {
  const own = await wav16kTo48k(file);
  if (own !== null) return own;
  try {
    const { stdout } = await run('sox', [file, '-t', 'raw', '-r', '48000', '-c', '1', '-b', '16', '-e', 'signed-integer', '-L', '-'], {
      encoding: 'buffer',
      maxBuffer: 64 * 1024 * 1024,
      timeout: 30_000,
    });
    const buf = stdout as unknown as Buffer;
    return new Int16Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + (buf.length - (buf.length % 2))));
  } catch (err) {
    throw new MediabotError('MEDIABOT_PROMPT_FAILED', `the prompt audio could not be decoded: ${(err as Error).message}`);
  }
}

/**
 * Fetches a caller-given prompt URL into a temporary file, through safeFetch (src/net/safe-fetch.ts):
 * public addresses only unless `allowlist` (MEDIABOT_FETCH_ALLOWLIST) names the target, checked
 * after DNS and after every redirect, size-capped while streaming, with a deadline. Every failure
 * is MEDIABOT_URL_REFUSED with one message (the reason is in its details, for the logs).
 */
export async function fetchPrompt(url: string, dir: string, opts: { allowlist?: readonly string[]; maxBytes?: number } = {}): Promise<string> {
  const res = await safeFetch(url, { allowlist: opts.allowlist ?? [], maxBytes: opts.maxBytes ?? SAFE_FETCH_DEFAULTS.maxBytes });
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${randomUUID()}.download`);
  await writeFile(file, res.body);
  return file;
}
