import type { RtpIoMode } from '../session/rtp/rtp-io.js';
import type { MediaThreadData } from './protocol.js';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { errorFromWire, MediabotError } from '../../errors.js';
import type { MediaEvent } from '../hooks/api.js';
import type { CallSpec } from '../session/spec.js';
import { Emitter } from '../../util/emitter.js';
import { disableMemoryReducer } from './gc-tuning.js';
import type { CallMediaStats, CreatedCall, FromMediaThread, MediaRequestBody, MediaRequestType, MediaResult, OutboundFrame, PcmFrameMessage, PlaybackResult, ToMediaThread } from './protocol.js';

export type { CallMediaStats, CreatedCall, OutboundFrame, PcmFrameMessage, PlaybackResult } from './protocol.js';

/** A PCM frame handed to pushPcm (flags default 0). */
export interface PcmFrameIn {
  sourceId: string;
  rate: number;
  timestampMs: number;
  samples: Int16Array;
  flags?: number;
}

/** A request waiting for its reply; `resolve` takes the result type of its own request. */
interface Pending {
  resolve: (v: MediaResult<MediaRequestType>) => void;
  reject: (e: unknown) => void;
}

interface MediaThread {
  worker: Worker;
  calls: Set<string>;
  pending: Map<number, Pending>;
  failed: Error | null;
}

/**
 * Starts a media thread: the compiled script, or under the test runner (which
 * runs the TypeScript sources) the .ts file through tsx's loader.
 */
function startWorker(name: string, workerData: MediaThreadData): Worker {
  const js = new URL('./media-thread.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return new Worker(js, { name, workerData });
  const ts = new URL('./media-thread.ts', import.meta.url).href;
  const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(ts)}); })`;
  return new Worker(boot, { eval: true, name, workerData });
}

/**
 * Media threads: one per core by default. Each call is pinned to one thread
 * (the least loaded when it is created); signaling and HTTP stay on the main
 * thread, which only exchanges control messages and events with them.
 */
export class MediaThreadPool {
  private readonly threads: MediaThread[] = [];
  private readonly callThread = new Map<string, MediaThread>();
  private readonly events = new Emitter<MediaEvent>();
  private nextId = 1;
  /** PCM frames waiting for the next flush, per call (one postMessage per call per event-loop turn). */
  private pcmBatches = new Map<string, PcmFrameMessage[]>();
  private pcmFlushScheduled = false;
  private readonly outboundListeners = new Map<string, Emitter<OutboundFrame>>();
  /** Calls to create with their recording paused (holdRecordingAtStart). */
  private readonly heldAtStart = new Set<string>();

  /** Socket I/O of RTP calls whose spec does not choose (MEDIABOT_RTP_IO through the config). */
  private readonly rtpIo: RtpIoMode;

  constructor(
    readonly size: number = availableParallelism(),
    opts: { rtpIo?: RtpIoMode; nice?: number | undefined } = {},
  ) {
    this.rtpIo = opts.rtpIo ?? 'auto';
    const data: MediaThreadData = opts.nice === undefined ? {} : { nice: opts.nice };
    if (!Number.isInteger(size) || size < 1) throw new MediabotError('MEDIABOT_CONFIG_INVALID', `media threads must be >= 1 (got ${size})`);
    disableMemoryReducer();
    for (let i = 0; i < size; i++) {
      const worker = startWorker(`media-${i}`, data);
      const t: MediaThread = { worker, calls: new Set(), pending: new Map(), failed: null };
      worker.on('message', (m: FromMediaThread) => this.onMessage(t, m));
      worker.on('error', (err) => this.fail(t, err));
      worker.on('exit', (code) => {
        if (code !== 0) this.fail(t, new Error(`media thread exited with code ${code}`));
      });
      this.threads.push(t);
    }
  }

  onEvent(listener: (e: MediaEvent) => void): () => void {
    return this.events.on(listener);
  }

  private onMessage(t: MediaThread, m: FromMediaThread): void {
    if ('type' in m) {
      if (m.type === 'outbound') {
        for (const f of m.frames) this.outboundListeners.get(f.callId)?.emit(f);
        return;
      }
      for (const e of m.events) this.events.emit(e);
      return;
    }
    const p = t.pending.get(m.id);
    if (!p) return;
    t.pending.delete(m.id);
    if (m.ok) p.resolve(m.result);
    // The code crossed the thread boundary as a string: only a known code is kept.
    else p.reject(errorFromWire(m.error, 'MEDIABOT_MEDIA_THREAD_FAILED'));
  }

  private fail(t: MediaThread, err: Error): void {
    t.failed = err;
    for (const p of t.pending.values()) p.reject(new MediabotError('MEDIABOT_MEDIA_THREAD_FAILED', err.message));
    t.pending.clear();
  }

  private request<K extends MediaRequestType>(t: MediaThread, msg: MediaRequestBody<K>, transfer: ArrayBuffer[] = []): Promise<MediaResult<K>> {
    if (t.failed) return Promise.reject(new MediabotError('MEDIABOT_MEDIA_THREAD_FAILED', t.failed.message));
    const id = this.nextId++;
    return new Promise<MediaResult<K>>((resolve, reject) => {
      // The thread answers request `id` with the result of the same request type.
      t.pending.set(id, { resolve: resolve as (v: MediaResult<MediaRequestType>) => void, reject });
      const out: ToMediaThread = { ...msg, id };
      t.worker.postMessage(out, transfer);
    });
  }

  /** Creates a call on the least loaded media thread. */
  async createCall(spec: CallSpec): Promise<CreatedCall> {
    if (this.callThread.has(spec.callId)) throw new MediabotError('MEDIABOT_BAD_REQUEST', `call ${spec.callId} already exists`);
    const t = this.threads.filter((x) => !x.failed).sort((a, b) => a.calls.size - b.calls.size)[0];
    if (!t) throw new MediabotError('MEDIABOT_MEDIA_THREAD_FAILED', 'no healthy media thread');
    this.callThread.set(spec.callId, t);
    t.calls.add(spec.callId);
    const held = this.heldAtStart.delete(spec.callId);
    try {
      const withIo = spec.rtp && spec.rtpIo === undefined ? { ...spec, rtpIo: this.rtpIo } : spec;
      return await this.request(t, { type: 'create', spec: held ? { ...withIo, recordingPaused: true } : withIo });
    } catch (err) {
      this.callThread.delete(spec.callId);
      t.calls.delete(spec.callId);
      throw err;
    }
  }

  private threadOf(callId: string): MediaThread {
    const t = this.callThread.get(callId);
    if (!t) throw new MediabotError('MEDIABOT_CALL_NOT_FOUND', `no media for call ${callId}`);
    return t;
  }

  async callStats(callId: string): Promise<CallMediaStats> {
    return this.request(this.threadOf(callId), { type: 'stats', callId });
  }

  /** Ends the call's media, flushing its hooks; returns its final stats. */
  async endCall(callId: string): Promise<CallMediaStats> {
    const t = this.threadOf(callId);
    try {
      return await this.request(t, { type: 'end', callId });
    } finally {
      this.callThread.delete(callId);
      t.calls.delete(callId);
    }
  }

  /** Which media thread runs the call (0-based), for diagnostics. */
  threadIndexOf(callId: string): number {
    return this.threads.indexOf(this.threadOf(callId));
  }

  /**
   * Queues one 20 ms PCM frame for a call created with `spec.pcm` (16/24/48 kHz mono int16).
   * The samples are copied; frames are batched per call and posted once per event-loop turn
   * with their buffers transferred. Throws MEDIABOT_CALL_NOT_FOUND for an unknown call.
   */
  pushPcm(callId: string, frame: PcmFrameIn): void {
    if (!this.callThread.has(callId)) throw new MediabotError('MEDIABOT_CALL_NOT_FOUND', `no media for call ${callId}`);
    let batch = this.pcmBatches.get(callId);
    if (!batch) {
      batch = [];
      this.pcmBatches.set(callId, batch);
    }
    batch.push({ sourceId: frame.sourceId, rate: frame.rate, timestampMs: frame.timestampMs, samples: frame.samples.slice(), flags: frame.flags ?? 0 });
    if (!this.pcmFlushScheduled) {
      this.pcmFlushScheduled = true;
      setImmediate(() => this.flushPcm());
    }
  }

  private flushPcm(): void {
    this.pcmFlushScheduled = false;
    const batches = this.pcmBatches;
    this.pcmBatches = new Map();
    for (const [callId, frames] of batches) {
      const t = this.callThread.get(callId);
      if (!t || t.failed) continue;
      const msg: ToMediaThread = { type: 'pcm', callId, frames };
      t.worker.postMessage(msg, frames.map((f) => f.samples.buffer as ArrayBuffer));
    }
  }

  /**
   * Receives the call's outbound audio (16 kHz, 20 ms, non-silent frames only) when the call was
   * created with `spec.pcm.outbound` 'mix' or 'mix-minus'. Returns an unsubscribe function.
   */
  onOutbound(callId: string, listener: (frame: OutboundFrame) => void): () => void {
    let ls = this.outboundListeners.get(callId);
    if (!ls) {
      ls = new Emitter<OutboundFrame>();
      this.outboundListeners.set(callId, ls);
    }
    const off = ls.on(listener);
    const set = ls;
    return () => {
      off();
      if (set.size === 0 && this.outboundListeners.get(callId) === set) this.outboundListeners.delete(callId);
    };
  }

  /**
   * Plays mono audio (16, 24 or 48 kHz) into a call, RTP or PCM alike, as the source `sourceId`
   * (default `playback-<n>`): mixed into what every participant hears and recorded like one.
   * The samples are copied. Resolves once it has been played out, or the call ended first
   * (`completed: false`).
   */
  async playPcm(callId: string, samples: Int16Array, rate: number, opts: { sourceId?: string } = {}): Promise<PlaybackResult> {
    const t = this.threadOf(callId);
    const copy = samples.slice();
    const sourceId = opts.sourceId ?? `playback-${this.nextId}`;
    return this.request(t, { type: 'play', callId, sourceId, rate, samples: copy }, [copy.buffer]);
  }

  /**
   * Pauses or resumes a call's recording and transcription (the recorder writes silence, transcribers
   * get nothing); resolves with the media time it took effect at.
   */
  async setRecordingPaused(callId: string, paused: boolean): Promise<{ mediaTimeMs: number }> {
    return this.request(this.threadOf(callId), { type: 'recording', callId, paused });
  }

  /**
   * The call `callId`, once created, starts with its recording paused (it stays paused until
   * setRecordingPaused(false)): nothing is kept before the caller allows it, not even its first frame.
   */
  holdRecordingAtStart(callId: string): void {
    this.heldAtStart.add(callId);
    // Ids held for calls that never came: bounded.
    if (this.heldAtStart.size > 10_000) this.heldAtStart.delete(this.heldAtStart.values().next().value!);
  }

  hasCall(callId: string): boolean {
    return this.callThread.has(callId);
  }

  async close(): Promise<void> {
    await Promise.all(
      this.threads.map(async (t) => {
        if (!t.failed) await this.request(t, { type: 'shutdown' }).catch(() => undefined);
        await t.worker.terminate();
      }),
    );
  }
}
