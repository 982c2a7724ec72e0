import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Logger } from '../../../logger.js';
import { silentLogger } from '../../../logger.js';
import { BaseTranscriberStream, type Transcriber, type TranscriberStream, type TranscriberStreamInfo } from './types.js';

export interface PocketsphinxOptions {
  /** Default `pocketsphinx_continuous` (Debian package `pocketsphinx`, model `pocketsphinx-en-us`). */
  binary?: string;
  /**
   * Decoder arguments added to the fixed `-infile /dev/stdin -time yes -logfn /dev/null`.
   * Default: `-fwdflat no -bestpath no -vad_postspeech 25` (single-pass search, 0.25 s VAD hang-over; see docs/transcription.md).
   */
  args?: readonly string[];
  /** How long end() waits for the decoder to finish the audio before killing it. Default 30 s. */
  endTimeoutMs?: number;
  /** Audio waiting for the decoder beyond which new audio is skipped (and counted in droppedMs). Default 60 000 ms. */
  maxBacklogMs?: number;
  logger?: Logger;
}

/** Whether Debian's `pocketsphinx_continuous` is on the PATH. */
export function pocketsphinxAvailable(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v pocketsphinx_continuous'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const POCKETSPHINX_DEFAULT_ARGS: readonly string[] = ['-fwdflat', 'no', '-bestpath', 'no', '-vad_postspeech', '25'];
/** About 3x cheaper search (narrower beams): lower latency on a busy machine, higher WER (see docs/transcription.md). */
export const POCKETSPHINX_FAST_ARGS: readonly string[] = [...POCKETSPHINX_DEFAULT_ARGS, '-pl_window', '10', '-maxhmmpf', '3000', '-topn', '2'];

/** A word line of `-time yes`: `word start end posterior`, times in seconds of audio. */
const WORD_LINE = /^(\S+) (\d+\.\d+) (\d+\.\d+) (-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)$/;
/** Fillers and sentence markers pocketsphinx puts in the segmentation. */
const FILLER = /^(<s>|<\/s>|<sil>|\[[A-Z_]+\]|\+\+.*\+\+)$/;
/** Word lines of one utterance arrive right after its hypothesis; finalise if nothing more comes this long. */
const SETTLE_MS = 1000;

/**
 * Local speech recognition with CMU pocketsphinx 0.8 (5prealpha), one
 * long-lived `pocketsphinx_continuous` process per participant stream.
 *
 * Raw 16 kHz s16le audio is streamed into the process as it arrives; its own
 * voice activity detection cuts utterances and prints each hypothesis as soon
 * as the utterance ends, followed by the word times (`-time yes`) in seconds
 * of audio received, which StreamClock turns into media time. So the model is
 * loaded once per participant (about 1.3 s, overlapped with the call) rather
 * than once per utterance.
 *
 * Two details of the binary drive the plumbing:
 * - `-infile` must be a pipe or file: Node's stdio pipes are socketpairs and
 *   fopen("/dev/stdin") on a socket fails, so `cat` relays stdin into a real pipe.
 * - stdout to a pipe is block-buffered and the word times are written after the
 *   hypothesis' fflush, so `stdbuf -oL` makes it line-buffered; otherwise the
 *   word times of an utterance would only arrive with the next utterance.
 * pocketsphinx_continuous gives no partial hypotheses: results are final only.
 */
export class PocketsphinxTranscriber implements Transcriber {
  readonly name = 'pocketsphinx';
  constructor(private readonly opts: PocketsphinxOptions = {}) {}

  open(stream: TranscriberStreamInfo): TranscriberStream {
    return new PocketsphinxStream(stream, this.opts);
  }
}

interface Utterance {
  hyp: string;
  words: Array<{ word: string; start: number; end: number; p: number }>;
}

class PocketsphinxStream extends BaseTranscriberStream {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly exited: Promise<void>;
  private readonly logger: Logger;
  private current: Utterance | null = null;
  private settle: NodeJS.Timeout | null = null;
  private stderrTail = '';
  private killed = false;

  constructor(
    info: TranscriberStreamInfo,
    private readonly opts: PocketsphinxOptions,
  ) {
    super(info);
    this.logger = opts.logger ?? silentLogger;
    const bin = opts.binary ?? 'pocketsphinx_continuous';
    const args = ['-infile', '/dev/stdin', '-time', 'yes', '-logfn', '/dev/null', ...(opts.args ?? POCKETSPHINX_DEFAULT_ARGS)];
    // `$0` is the binary, `$@` its arguments: nothing is interpolated into the shell text.
    // The recognizer runs at a lower CPU priority (nice 10): it is asynchronous and tolerates lag,
    // the media threads' 20 ms ticks do not.
    this.proc = spawn('sh', ['-c', 'cat | exec nice -n 10 stdbuf -oL "$0" "$@"', bin, ...args], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    this.exited = new Promise<void>((resolve) => {
      this.proc.once('close', (code, signal) => {
        this.finishUtterance();
        if (code !== 0 && !this.killed) this.fail(`pocketsphinx exited (code ${code}, signal ${signal}): ${this.stderrTail.trim()}`);
        resolve();
      });
      this.proc.once('error', (err) => {
        this.fail(`could not start pocketsphinx: ${err.message}`);
        resolve();
      });
    });
    this.proc.stdin.on('error', (err) => this.fail(`pocketsphinx input: ${err.message}`));
    this.proc.stderr.on('data', (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString()).slice(-2000);
    });
    createInterface({ input: this.proc.stdout }).on('line', (line) => this.onLine(line));
  }

  protected override backlogFull(): boolean {
    // 32 bytes per ms of 16 kHz s16le audio.
    return this.proc.stdin.writableLength > (this.opts.maxBacklogMs ?? 60_000) * 32;
  }

  protected sendAudio(pcm16: Int16Array): void {
    // Buffer.from copies (write() keeps the bytes until the pipe takes them). Host order is little-endian.
    this.proc.stdin.write(Buffer.from(pcm16.buffer.slice(pcm16.byteOffset, pcm16.byteOffset + pcm16.byteLength)));
  }

  protected async finish(): Promise<void> {
    this.proc.stdin.end();
    const timeoutMs = this.opts.endTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.exited.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.kill();
      await this.exited;
      throw this.failure ?? new Error(`pocketsphinx did not finish within ${timeoutMs} ms`);
    }
    this.finishUtterance();
    if (this.failure !== null) throw this.failure;
  }

  private kill(): void {
    this.killed = true;
    try {
      if (this.proc.pid !== undefined) process.kill(-this.proc.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }

  private onLine(raw: string): void {
    const line = raw.trimEnd();
    const m = WORD_LINE.exec(line);
    if (m !== null) {
      // A word line is never a hypothesis; one that comes after its utterance was settled is dropped.
      if (this.current === null) return;
      this.current.words.push({ word: m[1]!, start: Number(m[2]), end: Number(m[3]), p: Number(m[4]) });
      if (m[1] === '</s>') this.finishUtterance();
      else this.armSettle();
      return;
    }
    // Anything else is the hypothesis line that opens an utterance (possibly empty).
    this.finishUtterance();
    this.current = { hyp: line.trim(), words: [] };
    this.armSettle();
  }

  private armSettle(): void {
    if (this.settle !== null) clearTimeout(this.settle);
    this.settle = setTimeout(() => this.finishUtterance(), SETTLE_MS);
  }

  private finishUtterance(): void {
    if (this.settle !== null) {
      clearTimeout(this.settle);
      this.settle = null;
    }
    const u = this.current;
    this.current = null;
    if (u === null) return;
    const words = u.words.filter((w) => !FILLER.test(w.word));
    if (words.length === 0 || u.hyp === '') return;
    const text = u.hyp;
    const startMs = Math.round(words[0]!.start * 1000);
    const endMs = Math.round(words[words.length - 1]!.end * 1000);
    // With -bestpath no every posterior is 1: not a confidence, so leave it out.
    const ps = words.map((w) => w.p);
    const informative = ps.some((p) => p > 0 && p < 1);
    const confidence = informative ? ps.reduce((a, b) => a + b, 0) / ps.length : undefined;
    this.logger.debug({ sourceId: this.info.sourceId, text, startMs, endMs }, 'pocketsphinx utterance');
    this.emitStreamResult(confidence === undefined ? { text, final: true, startMs, endMs } : { text, final: true, startMs, endMs, confidence });
  }
}
