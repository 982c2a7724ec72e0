/**
 * An ingress call's life on the media side, the same for ACS and the bridge:
 *
 *   pending ──(media call created)──▶ active ──(end)──▶ ended
 *      └────────(creation failed, or end)──────────────▶ ended
 *
 * `pending` holds the frames that arrive before the media thread has the call (bounded); they are
 * flushed in order when it becomes `active`. A call whose media call already exists in the pool
 * (started by someone else) is `active` at once and is not ended in the pool by the adapter.
 */
import { silentLogger, type Logger } from '../../logger.js';
import { MAX_PENDING_FRAMES } from './backpressure.js';
import type { IngressAdapter, IngressMetrics } from './metrics.js';
import type { CallSpec } from '../../media/session/spec.js';
import { DEFAULT_MAX_CALLS, type IngressAdapterOptions, type IngressCallInfo, type PcmFrame } from './shared.js';

export type IngressCallState =
  | { state: 'pending'; frames: PcmFrame[] }
  | { state: 'active'; stopOutbound: () => void }
  | { state: 'ended'; reason: string };

export interface IngressCallEvents {
  /** The media call exists (before `onCallStarted`). */
  started?(): void;
  /** The media call could not be created; the call is already `ended`. */
  failed?(err: unknown): void;
  /** One 20 ms frame of the call's outbound audio (16 kHz). */
  outbound(mediaTimeMs: number, samples: Int16Array): void;
}

/** What an adapter's calls share: its options, metrics and logger. */
export interface IngressContext {
  adapter: IngressAdapter;
  options: IngressAdapterOptions;
  metrics: IngressMetrics;
  log: Logger;
}

export function ingressContext(adapter: IngressAdapter, options: IngressAdapterOptions, metrics: IngressMetrics): IngressContext {
  return { adapter, options, metrics, log: options.logger ?? silentLogger };
}

export function maxCalls(ctx: IngressContext): number {
  return ctx.options.maxCalls ?? DEFAULT_MAX_CALLS;
}

export class IngressCallMedia {
  private current: IngressCallState = { state: 'pending', frames: [] };
  private readonly ownsPoolCall: boolean;
  private readonly base: Omit<CallSpec, 'callId'>;
  private settled: Promise<boolean> = Promise.resolve(true);

  /** Throws (before anything is registered) when the adapter's `callSpec` throws. */
  constructor(
    private readonly ctx: IngressContext,
    readonly info: IngressCallInfo,
    private readonly events: IngressCallEvents,
  ) {
    this.ownsPoolCall = !ctx.options.pool.hasCall(info.callId);
    this.base = this.ownsPoolCall ? (ctx.options.callSpec?.(info.callId) ?? {}) : {};
  }

  /** Creates the media call (once the adapter has registered this call); see `ready`. */
  start(): void {
    const { adapter, metrics, log, options } = this.ctx;
    const { pool, playoutDelayMs, maxQueueMs } = options;
    const callId = this.callId;
    metrics.inc(adapter, 'callsStarted');
    if (!this.ownsPoolCall) {
      this.activate();
      return;
    }
    const pcm = {
      outbound: this.outboundMode,
      ...(playoutDelayMs !== undefined ? { playoutDelayMs } : {}),
      ...(maxQueueMs !== undefined ? { maxQueueMs } : {}),
    };
    this.settled = pool.createCall({ ...this.base, callId, pcm: { ...pcm, ...this.base.pcm } }).then(
      () => {
        this.activate();
        return true;
      },
      (err: unknown) => {
        log.error({ err, callId }, `${adapter} could not create the media call`);
        this.current = { state: 'ended', reason: 'media unavailable' };
        this.events.failed?.(err);
        return false;
      },
    );
  }

  /** Settles once the media call exists (true) or could not be created (false). */
  get ready(): Promise<boolean> {
    return this.settled;
  }

  get callId(): string {
    return this.info.callId;
  }

  get state(): IngressCallState['state'] {
    return this.current.state;
  }

  get ended(): boolean {
    return this.current.state === 'ended';
  }

  private get outboundMode(): 'mix-minus' | 'mix' | 'off' {
    return this.ctx.options.outbound ?? 'mix-minus';
  }

  private activate(): void {
    this.events.started?.();
    this.ctx.options.onCallStarted?.(this.info);
    // Ended while its media call was being created: end() releases it.
    if (this.current.state !== 'pending') return;
    const frames = this.current.frames;
    const stopOutbound = this.outboundMode === 'off' ? () => {} : this.ctx.options.pool.onOutbound(this.callId, (f) => this.events.outbound(f.mediaTimeMs, f.samples));
    this.current = { state: 'active', stopOutbound };
    for (const f of frames) this.push(f);
  }

  /** Takes one inbound frame: into the media thread, kept while pending, dropped once ended. */
  push(f: PcmFrame): void {
    const { adapter, metrics } = this.ctx;
    switch (this.current.state) {
      case 'pending':
        // Callers reuse their buffers: a kept frame needs its own copy.
        if (this.current.frames.length < MAX_PENDING_FRAMES) this.current.frames.push({ ...f, samples: f.samples.slice() });
        else metrics.inc(adapter, 'framesDroppedBeforeStart');
        return;
      case 'active':
        this.ctx.options.pool.pushPcm(this.callId, f);
        metrics.inc(adapter, 'framesAccepted');
        return;
      case 'ended':
        return;
    }
  }

  /**
   * Ends the call: no more frames are taken; once the media call exists, `beforeRelease` runs
   * (the outbound audio still flows), then outbound stops, the media call ends, `onCallEnded`.
   * Resolves when all of that is done; false when the call had already ended.
   */
  async end(reason: string, beforeRelease?: () => Promise<void> | void): Promise<boolean> {
    const prev = this.current;
    if (prev.state === 'ended') return false;
    this.current = { state: 'ended', reason };
    const { adapter, metrics, log, options } = this.ctx;
    metrics.inc(adapter, 'callsEnded');
    if (!(await this.ready)) return true;
    await beforeRelease?.();
    if (prev.state === 'active') prev.stopOutbound();
    if (this.ownsPoolCall && options.pool.hasCall(this.callId)) {
      await options.pool.endCall(this.callId).catch((err: unknown) => log.warn({ err, callId: this.callId }, 'ending the media call failed'));
    }
    options.onCallEnded?.({ ...this.info, reason });
    return true;
  }
}
