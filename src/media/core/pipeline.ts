import type { HookContext, MediaEvent, TickFrame } from '../hooks/api.js';
import { MediabotError } from '../../errors.js';
import { createOpusEncoder, DEFAULT_ENCODER_SETTINGS } from '../codec/opus.js';
import type { EncoderSettings, FrameEncoder } from '../codec/types.js';
import { FRAME_MS, SAMPLES_16K } from './frame.js';
import { LatencyHistogram } from './histogram.js';
import { Mixer } from './mixer.js';
import { Decimator48to16 } from '../codec/resampler.js';
import { TickStamps } from './stamps.js';
import { MediaSource, type FrameInput } from './source.js';
import type { TalkDetectorOptions } from './talk-detector.js';

/** What the pipeline needs from a hook runner (src/media/hooks/runner.ts). */
export interface TickHooks {
  onTick(frame: TickFrame): void;
  onEvent(event: MediaEvent): void;
  stop(): Promise<void>;
}

/** Sends one participant's packet for this tick (payload bytes `packet[0..length)`). */
export type SendPacket = (source: MediaSource, packet: Uint8Array, length: number, tick: number) => void;

export interface PipelineOptions {
  callId: string;
  encoder?: Partial<EncoderSettings>;
  talk?: TalkDetectorOptions;
  hooks?: TickHooks | null;
  /** Media events (source added/removed, and what hooks emit). */
  emit?: (event: MediaEvent) => void;
  send?: SendPacket | null;
  /** Encode the full mix every tick even if no participant needs it (the mixed recording uses it). */
  alwaysEncodeMix?: boolean;
  /** Whether to mix and encode at all (false for a receive-only tap: decode, talk, 16 kHz). */
  mixing?: boolean;
  /**
   * A receive-only call whose hooks need only the 16 kHz tap: RTP sources decode straight
   * to 16 kHz (cheaper in libopus, and no decimation) and `pcm48` stays silent. Needs `mixing: false`.
   */
  speechOnly?: boolean;
  /** A source with no input for this long is removed. */
  sourceIdleMs?: number;
  now?: () => number;
}

export interface PipelineStageStats {
  tick: ReturnType<LatencyHistogram['snapshot']>;
  decode: ReturnType<LatencyHistogram['snapshot']>;
  mix: ReturnType<LatencyHistogram['snapshot']>;
  encode: ReturnType<LatencyHistogram['snapshot']>;
  hooks: ReturnType<LatencyHistogram['snapshot']>;
}


/**
 * The per-call media pipeline. Each tick, for each call (DESIGN.md):
 * pull one frame per source (decode or conceal) → detect talk → mix and limit
 * → encode each unique mix and send it → run the inline hooks.
 * Steady state allocates nothing: sources, buffers and the hook view are reused.
 */
export class CallPipeline implements HookContext {
  readonly callId: string;
  private readonly sourcesById = new Map<string, MediaSource>();
  /** Iteration arrays, rebuilt only when sources join or leave. */
  private sources: MediaSource[] = [];
  private receivers: MediaSource[] = [];
  private readonly mixer: Mixer;
  private readonly mixDecimator = new Decimator48to16();
  private readonly mix16 = new Int16Array(SAMPLES_16K);
  private readonly frame: { callId: string; tick: number; mediaTimeMs: number; sources: MediaSource[]; mix48: Int16Array; mix16: Int16Array; mixOpus: Uint8Array | null };
  /** Stage boundaries of the current tick: 0 start, 1 pulled, 2 mixed, 3 encoded and sent, 4 hooks done. */
  private readonly stamps = new TickStamps(5);
  private readonly hist = { tick: new LatencyHistogram(), decode: new LatencyHistogram(), mix: new LatencyHistogram(), encode: new LatencyHistogram(), hooks: new LatencyHistogram() };
  private readonly encoderSettings: EncoderSettings;
  private readonly hooks: TickHooks | null;
  private readonly emitFn: (event: MediaEvent) => void;
  private send: SendPacket | null;
  private readonly mixing: boolean;
  readonly speechOnly: boolean;
  private readonly alwaysEncodeMix: boolean;
  private readonly idleMs: number;
  private readonly now: () => number;
  private readonly talkOpts: TalkDetectorOptions;
  ticks = 0;
  encodesTotal = 0;
  lastEncodes = 0;
  private stopped = false;

  constructor(opts: PipelineOptions) {
    this.callId = opts.callId;
    this.encoderSettings = { ...DEFAULT_ENCODER_SETTINGS, ...opts.encoder };
    this.hooks = opts.hooks ?? null;
    this.emitFn = opts.emit ?? (() => {});
    this.send = opts.send ?? null;
    this.mixing = opts.mixing ?? true;
    this.speechOnly = opts.speechOnly ?? false;
    if (this.speechOnly && this.mixing) throw new MediabotError('MEDIABOT_CONFIG_INVALID', 'a speech-only call cannot mix: set mixing to false');
    this.alwaysEncodeMix = opts.alwaysEncodeMix ?? false;
    this.idleMs = opts.sourceIdleMs ?? 10_000;
    this.now = opts.now ?? (() => performance.now());
    this.talkOpts = opts.talk ?? {};
    this.mixer = new Mixer(createOpusEncoder(this.encoderSettings), { adaptive: this.encoderSettings.adaptiveLoss, basePct: this.encoderSettings.expectedLossPct });
    this.frame = { callId: this.callId, tick: 0, mediaTimeMs: 0, sources: this.sources, mix48: this.mixer.mix48, mix16: this.mix16, mixOpus: null };
  }

  /** HookContext: events from hooks go to the same sink as the pipeline's own. */
  emit(event: MediaEvent): void {
    this.emitFn(event);
    if (event.type !== 'level') this.hooks?.onEvent(event);
  }

  /** Sets where outbound packets go (the transport is created after the pipeline). */
  setSend(send: SendPacket | null): void {
    this.send = send;
  }

  get mediaTimeMs(): number {
    return this.ticks * FRAME_MS;
  }

  getSource(sourceId: string): MediaSource | undefined {
    return this.sourcesById.get(sourceId);
  }

  listSources(): readonly MediaSource[] {
    return this.sources;
  }

  addSource(sourceId: string, input: FrameInput, opts: { receivesMix?: boolean } = {}): MediaSource {
    const existing = this.sourcesById.get(sourceId);
    if (existing) return existing;
    if (this.mixing && input.sampleRate === 16_000) throw new MediabotError('MEDIABOT_CONFIG_INVALID', `source ${sourceId} gives 16 kHz frames; a mixing call needs 48 kHz`);
    const settings = this.encoderSettings;
    const makeEncoder = (): FrameEncoder => createOpusEncoder(settings);
    const src = new MediaSource(sourceId, input, makeEncoder, this.talkOpts, this.now(), opts.receivesMix ?? true);
    this.sourcesById.set(sourceId, src);
    this.rebuildLists();
    this.emit({ type: 'source.added', callId: this.callId, sourceId, mediaTimeMs: this.mediaTimeMs });
    return src;
  }

  removeSource(sourceId: string): void {
    if (!this.sourcesById.delete(sourceId)) return;
    this.rebuildLists();
    this.emit({ type: 'source.removed', callId: this.callId, sourceId, mediaTimeMs: this.mediaTimeMs });
  }

  /** Marks input activity so idle detection keeps the source (call on every packet or frame). */
  touch(source: MediaSource): void {
    source.lastInputMs = this.now();
  }

  private rebuildLists(): void {
    this.sources = [...this.sourcesById.values()];
    this.receivers = this.sources.filter((s) => s.receivesMix);
    this.frame.sources = this.sources;
  }

  /** Runs one 20 ms tick for this call. */
  tick(): void {
    if (this.stopped) return;
    const st = this.stamps;
    st.mark(0);
    const sources = this.sources;
    const n = sources.length;
    for (let i = 0; i < n; i++) sources[i]!.pullFrame();
    st.mark(1);
    if (this.mixing) {
      this.mixer.mix(sources, n);
      this.mixDecimator.process(this.mixer.mix48, this.mix16);
      st.mark(2);
      this.mixer.encode(this.receivers, this.receivers.length, this.alwaysEncodeMix);
      this.lastEncodes = this.mixer.encodes;
      this.encodesTotal += this.mixer.encodes;
      if (this.send) this.sendAll();
      st.mark(3);
    } else {
      st.copy(2, 1);
      st.copy(3, 1);
    }
    const f = this.frame;
    f.tick = this.ticks;
    f.mediaTimeMs = this.ticks * FRAME_MS;
    f.mixOpus = this.mixing ? this.mixer.mixOpus : null;
    if (this.hooks) this.hooks.onTick(f);
    st.mark(4);
    this.ticks++;
    this.hist.decode.record(st.between(0, 1));
    if (this.mixing) {
      this.hist.mix.record(st.between(1, 2));
      this.hist.encode.record(st.between(2, 3));
    }
    this.hist.hooks.record(st.between(3, 4));
    this.hist.tick.record(st.between(0, 4));
    if ((this.ticks & 63) === 0) this.dropIdleSources();
  }

  private sendAll(): void {
    const send = this.send!;
    const receivers = this.receivers;
    const mixPacket = this.mixer.mixPacket;
    const mixLen = this.mixer.mixPacketLength;
    for (let i = 0; i < receivers.length; i++) {
      const r = receivers[i]!;
      if (r.ownPacket) send(r, r.packet, r.packetLength, this.ticks);
      else send(r, mixPacket, mixLen, this.ticks);
    }
  }

  private dropIdleSources(): void {
    const now = this.now();
    // An index loop (a for-of would allocate an iterator); removeSource replaces this.sources, not this array.
    const sources = this.sources;
    for (let i = 0; i < sources.length; i++) if (now - sources[i]!.lastInputMs > this.idleMs) this.removeSource(sources[i]!.sourceId);
  }

  stageStats(): PipelineStageStats {
    return { tick: this.hist.tick.snapshot(), decode: this.hist.decode.snapshot(), mix: this.hist.mix.snapshot(), encode: this.hist.encode.snapshot(), hooks: this.hist.hooks.snapshot() };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.hooks) await this.hooks.stop();
  }
}
