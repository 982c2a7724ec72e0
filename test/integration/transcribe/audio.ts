import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Debian's pocketsphinx-testdata: real read speech with reference transcripts. */
export const LIBRIVOX_DIR = '/usr/share/pocketsphinx/test/data/librivox';
export const HAVE_LIBRIVOX = existsSync(join(LIBRIVOX_DIR, 'transcription'));

export const CLIPS = ['0870', '0880', '0890', '0920', '0930'].map((n) => `sense_and_sensibility_01_austen_64kb-${n}`);

/** Reference text per clip id, from the `transcription` file. */
export function references(): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync(join(LIBRIVOX_DIR, 'transcription'), 'utf8').split('\n')) {
    const m = /^<s> (.*) <\/s> \((.*)\)$/.exec(line.trim());
    if (m) out.set(m[2]!, m[1]!);
  }
  return out;
}

/** Reads a 16 kHz mono s16le WAV (finds the data chunk rather than assuming 44 bytes). */
export function readWav16k(path: string): Int16Array {
  const b = readFileSync(path);
  if (b.toString('ascii', 0, 4) !== 'RIFF' || b.toString('ascii', 8, 12) !== 'WAVE') throw new Error(`${path}: not a WAV file`);
  let off = 12;
  let rate = 0;
  while (off + 8 <= b.length) {
    const id = b.toString('ascii', off, off + 4);
    const size = b.readUInt32LE(off + 4);
    if (id === 'fmt ') {
      rate = b.readUInt32LE(off + 12);
      if (b.readUInt16LE(off + 10) !== 1 || b.readUInt16LE(off + 22) !== 16) throw new Error(`${path}: expected mono 16-bit PCM`);
    } else if (id === 'data') {
      if (rate !== 16000) throw new Error(`${path}: expected 16 kHz, got ${rate}`);
      const n = Math.floor(Math.min(size, b.length - off - 8) / 2);
      const out = new Int16Array(n);
      for (let i = 0; i < n; i++) out[i] = b.readInt16LE(off + 8 + 2 * i);
      return out;
    }
    off += 8 + size + (size & 1);
  }
  throw new Error(`${path}: no data chunk`);
}

export function clip(id: string): Int16Array {
  return readWav16k(join(LIBRIVOX_DIR, `${id}.wav`));
}

export function silence(ms: number): Int16Array {
  return new Int16Array(Math.round(ms * 16));
}

/** Concatenates and pads to whole 20 ms frames. */
export function concat(...parts: Int16Array[]): Int16Array {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Int16Array(Math.ceil(n / 320) * 320);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function durationMs(pcm: Int16Array): number {
  return pcm.length / 16;
}

/** Word error rate (Levenshtein over words) of hypothesis vs reference. */
export function wordErrors(reference: string, hypothesis: string): { errors: number; words: number } {
  const r = normalise(reference);
  const h = normalise(hypothesis);
  let prev = Array.from({ length: h.length + 1 }, (_, j) => j);
  for (let i = 1; i <= r.length; i++) {
    const cur = [i];
    for (let j = 1; j <= h.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (r[i - 1] === h[j - 1] ? 0 : 1));
    prev = cur;
  }
  return { errors: prev[h.length]!, words: r.length };
}

export function normalise(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/\(\d+\)/g, '')
    .replace(/[^a-z' ]+/g, ' ')
    .split(/\s+/)
    .filter((w) => w !== '');
}

/**
 * A streaming energy segmenter with real timing, standing in for a speech
 * service in the WS loopback server and behind the Azure SDK boundary: a frame
 * is voiced above `thresholdDbov`; an utterance opens after `minSpeechMs` of
 * voiced frames and closes after `hangMs` of unvoiced ones. Times are ms of
 * audio received.
 */
export class EnergySegmenter {
  private t = 0;
  private voicedRun = 0;
  private unvoicedRun = 0;
  private openAt: number | null = null;
  private lastVoicedEnd = 0;
  private count = 0;

  constructor(
    private readonly onUtterance: (u: { index: number; startMs: number; endMs: number; final: boolean }) => void,
    private readonly opts: { thresholdDbov?: number; minSpeechMs?: number; hangMs?: number; partialEveryMs?: number } = {},
  ) {}

  /** One 20 ms frame (320 samples). */
  frame(pcm: Int16Array): void {
    let sum = 0;
    for (let i = 0; i < pcm.length; i++) sum += pcm[i]! * pcm[i]!;
    const rms = Math.sqrt(sum / Math.max(1, pcm.length));
    const db = rms === 0 ? -127 : 20 * Math.log10(rms / 32768);
    const voiced = db > (this.opts.thresholdDbov ?? -45);
    const start = this.t;
    this.t += 20;
    if (voiced) {
      this.voicedRun += 20;
      this.unvoicedRun = 0;
      this.lastVoicedEnd = this.t;
      if (this.openAt === null && this.voicedRun >= (this.opts.minSpeechMs ?? 100)) this.openAt = this.t - this.voicedRun;
    } else {
      this.voicedRun = 0;
      this.unvoicedRun += 20;
    }
    void start;
    if (this.openAt !== null) {
      const every = this.opts.partialEveryMs ?? 500;
      if (voiced && (this.t - this.openAt) % every === 0) this.onUtterance({ index: this.count, startMs: this.openAt, endMs: this.t, final: false });
      if (this.unvoicedRun >= (this.opts.hangMs ?? 400)) this.close();
    }
  }

  /** End of audio: closes an open utterance. */
  flush(): void {
    if (this.openAt !== null) this.close();
  }

  private close(): void {
    this.onUtterance({ index: this.count++, startMs: this.openAt!, endMs: this.lastVoicedEnd, final: true });
    this.openAt = null;
  }
}
