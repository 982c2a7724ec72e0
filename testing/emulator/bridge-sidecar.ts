/**
 * The emulator's bridge-sidecar mode: it plays the media sidecar of docs/bridge-protocol.md next to
 * the simulated Teams. Connected to a bot's /media/bridge, it answers createMediaSession with a blob
 * of its own (`{"bridge":{"sidecarId","callId"}}`, base64); when the bot then joins or answers a call
 * with that blob, the call's simulated people are streamed through the sidecar instead of RTP: each
 * person is an unmixed speaker (MSI) at 16 kHz, up to 4 at once, with activeSpeakers and
 * dominantSpeaker changes and a sourceMap naming the roster participant behind each MSI.
 */
import { performance } from 'node:perf_hooks';
import { WebSocket, type RawData } from 'ws';
import { MediabotError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import { parseControlMessage } from '../../src/ingress/bridge/schemas.js';
import { decodeFrameHeader, encodeFrame, FrameCodec, FrameKind, HEADER_BYTES, pcmFromPayload, payloadFromPcm } from '../../src/ingress/bridge/wire.js';
import type { MediaEndpoint, MediaParticipantStats, ReceivedAudioStats } from './media-session.js';
import { SAMPLES_16K, SAMPLES_48K } from '../../src/media/core/frame.js';
import { Decimator48to16 } from '../../src/media/codec/resampler.js';

/** What the call engine drives for a call's app-hosted media (RTP or this sidecar). */
export interface EmulatorCallMedia {
  /** `sourceId` is the participant's audio mediaStream sourceId in the roster: its SSRC on RTP, its MSI on the bridge. */
  addParticipant(participantId: string, name: string, track: Int16Array, sourceId: number): Promise<void>;
  removeParticipant(participantId: string): void;
  stats(): { target: MediaEndpoint | { bridge: { sidecarId: string; callId: string } }; participants: MediaParticipantStats[]; botAudio: ReceivedAudioStats; lateTicks: number };
  close(): void;
}

export interface BridgeBlob {
  sidecarId: string;
  callId: string;
}

export function encodeBridgeBlob(b: BridgeBlob): string {
  return Buffer.from(JSON.stringify({ bridge: b }), 'utf8').toString('base64');
}

/** Reads a sidecar blob; undefined for anything else (an RTP blob, a real media-platform blob). */
export function parseBridgeBlob(blob: unknown): BridgeBlob | undefined {
  if (typeof blob !== 'string' || blob.length === 0 || blob.length > 4096 || !/^[A-Za-z0-9+/=]+$/.test(blob)) return undefined;
  try {
    const v = JSON.parse(Buffer.from(blob, 'base64').toString('utf8')) as { bridge?: { sidecarId?: unknown; callId?: unknown } };
    const b = v?.bridge;
    if (typeof b?.sidecarId !== 'string' || typeof b.callId !== 'string') return undefined;
    return { sidecarId: b.sidecarId, callId: b.callId };
  } catch {
    return undefined;
  }
}

const FRAME = 320;
const MAX_UNMIXED = 4;
const ACTIVE_RMS = 300;
const HANGOVER_FRAMES = 10;
const DOMINANT_FRAMES = 10;

function emptyReceived(): ReceivedAudioStats {
  return { packets: 0, rtcpPackets: 0, bytes: 0, decodedFrames: 0, decodeErrors: 0, malformed: 0, soundFrames: 0, meanRms: 0, maxRms: 0, ssrcs: [] };
}

/** 48 kHz → 16 kHz with the media core's anti-aliased decimator (as the media platform delivers 16 kHz). */
export function to16k(track48: Int16Array): Int16Array {
  const d = new Decimator48to16();
  const frames = Math.floor(track48.length / SAMPLES_48K);
  const out = new Int16Array(frames * SAMPLES_16K);
  for (let f = 0; f < frames; f++) d.process(track48.subarray(f * SAMPLES_48K, (f + 1) * SAMPLES_48K), out.subarray(f * SAMPLES_16K, (f + 1) * SAMPLES_16K));
  return out;
}

interface Speaker {
  participantId: string;
  name: string;
  msi: number;
  track: Int16Array;
  cursor: number;
  seq: number;
  sent: number;
  hangover: number;
  ema: number;
  done: boolean;
}

/** One call's media through the sidecar. */
class BridgeCallMedia implements EmulatorCallMedia {
  private readonly speakers = new Map<string, Speaker>();
  private timer: NodeJS.Timeout | undefined;
  private t0 = 0;
  private n = 0;
  private active: number[] = [];
  private dominant: number | null = null;
  private candidate: number | null = null;
  private candidateFrames = 0;
  private closed = false;
  lateTicks = 0;
  readonly botAudio = emptyReceived();
  private rmsSum = 0;

  constructor(
    private readonly sidecar: EmulatorBridgeSidecar,
    readonly callId: string,
    readonly callIndex: number,
  ) {
    sidecar.send({ type: 'sessionStarted', callId, callIndex, audio: 'unmixed' });
  }

  async addParticipant(participantId: string, name: string, track: Int16Array, msi: number): Promise<void> {
    if (this.closed || this.speakers.has(participantId)) return;
    this.speakers.set(participantId, { participantId, name, msi, track: to16k(track), cursor: 0, seq: 0, sent: 0, hangover: 0, ema: 0, done: false });
    this.sendSourceMap();
    if (!this.timer) {
      this.t0 = performance.now();
      this.n = 0;
      this.schedule();
    }
  }

  removeParticipant(participantId: string): void {
    const s = this.speakers.get(participantId);
    if (s) s.done = true;
  }

  private sendSourceMap(): void {
    const entries = [...this.speakers.values()].map((s) => ({ sourceId: s.msi, participantId: s.participantId, displayName: s.name }));
    this.sidecar.send({ type: 'sourceMap', callId: this.callId, replace: true, entries });
  }

  private schedule(): void {
    if (this.closed) return;
    const wait = Math.max(0, this.t0 + this.n * 20 - performance.now());
    this.timer = setTimeout(() => {
      if (performance.now() - (this.t0 + this.n * 20) > 40) this.lateTicks++;
      this.tick();
      this.n++;
      this.schedule();
    }, wait);
  }

  private tick(): void {
    const list = [...this.speakers.values()];
    const frames = new Map<Speaker, Int16Array>();
    for (const s of list) {
      const f = new Int16Array(FRAME);
      if (!s.done && s.cursor < s.track.length) f.set(s.track.subarray(s.cursor, Math.min(s.track.length, s.cursor + FRAME)));
      s.cursor += FRAME;
      let sq = 0;
      for (let i = 0; i < FRAME; i++) sq += f[i]! * f[i]!;
      const level = Math.sqrt(sq / FRAME);
      s.ema = 0.8 * s.ema + 0.2 * level;
      s.hangover = !s.done && level > ACTIVE_RMS ? HANGOVER_FRAMES : Math.max(0, s.hangover - 1);
      frames.set(s, f);
    }
    // Like Teams: the loudest active speakers (at most 4) are unmixed streams; the set is announced on change.
    const nowActive = list.filter((s) => s.hangover > 0).sort((a, b) => b.ema - a.ema).slice(0, MAX_UNMIXED).map((s) => s.msi);
    if (nowActive.length !== this.active.length || nowActive.some((m) => !this.active.includes(m))) {
      this.active = nowActive;
      this.sidecar.send({ type: 'activeSpeakers', callId: this.callId, sourceIds: nowActive });
    }
    const loudest = nowActive[0] ?? null;
    if (loudest !== this.dominant) {
      this.candidateFrames = this.candidate === loudest ? this.candidateFrames + 1 : 1;
      this.candidate = loudest;
      if (this.candidateFrames >= DOMINANT_FRAMES && loudest !== null) {
        this.dominant = loudest;
        this.sidecar.send({ type: 'dominantSpeaker', callId: this.callId, sourceId: loudest });
      }
    } else this.candidateFrames = 0;
    const ts = this.n * 20;
    for (const s of list) {
      if (!this.active.includes(s.msi)) continue;
      this.sidecar.sendBinary(encodeFrame({ kind: FrameKind.Unmixed, codec: FrameCodec.Pcm16k, flags: 0, callIndex: this.callIndex, sourceId: s.msi, sequence: s.seq++, timestampMs: ts }, payloadFromPcm(frames.get(s)!)));
      s.sent++;
    }
  }

  /** The bot's outbound audio for this call. */
  onOutbound(pcm: Int16Array): void {
    const r = this.botAudio;
    r.packets++;
    r.decodedFrames++;
    r.bytes += pcm.length * 2;
    let sq = 0;
    for (let i = 0; i < pcm.length; i++) sq += pcm[i]! * pcm[i]!;
    const rms = Math.sqrt(sq / Math.max(1, pcm.length));
    if (rms > 200) r.soundFrames++;
    this.rmsSum += rms;
    r.maxRms = Math.max(r.maxRms, rms);
    r.meanRms = this.rmsSum / r.decodedFrames;
  }

  stats(): ReturnType<EmulatorCallMedia['stats']> {
    const participants: MediaParticipantStats[] = [...this.speakers.values()].map((s) => ({ participantId: s.participantId, name: s.name, ssrc: s.msi, localPort: 0, sentPackets: s.sent, received: emptyReceived() }));
    return { target: { bridge: { sidecarId: this.sidecar.sidecarId, callId: this.callId } }, participants, botAudio: { ...this.botAudio }, lateTicks: this.lateTicks };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.sidecar.send({ type: 'sessionEnded', callId: this.callId, reason: 'the call ended' });
    this.sidecar.drop(this);
  }
}

export interface BridgeSidecarOptions {
  /** The bot's bridge endpoint, e.g. ws://127.0.0.1:3978/media/bridge */
  url: string;
  token: string;
  sidecarId?: string;
  logger: Logger;
}

/** The emulator's media sidecar: one connection to the bot, one BridgeCallMedia per call. */
export class EmulatorBridgeSidecar {
  readonly sidecarId: string;
  private ws: WebSocket | null = null;
  private readonly created = new Set<string>();
  private readonly calls = new Map<string, BridgeCallMedia>();
  private readonly byIndex = new Map<number, BridgeCallMedia>();
  private nextIndex = 1;
  private heartbeat: NodeJS.Timeout | undefined;
  createRequests = 0;

  private constructor(private readonly o: BridgeSidecarOptions) {
    this.sidecarId = o.sidecarId ?? `emulator-sidecar-${process.pid}`;
  }

  static async connect(o: BridgeSidecarOptions): Promise<EmulatorBridgeSidecar> {
    const s = new EmulatorBridgeSidecar(o);
    await s.open();
    return s;
  }

  private open(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(this.o.url);
      this.ws = ws;
      let welcomed = false;
      ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', protocol: 'mediabot-bridge', versions: [1], token: this.o.token, sidecarId: this.sidecarId, capabilities: { opus: false, maxUnmixed: MAX_UNMIXED } })));
      ws.on('message', (data: RawData, isBinary: boolean) => {
        const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
        try {
          if (isBinary) {
            const h = decodeFrameHeader(buf);
            if (h.kind === FrameKind.Outbound) this.byIndex.get(h.callIndex)?.onOutbound(pcmFromPayload(buf, HEADER_BYTES, h.payloadLength));
            return;
          }
          const msg = parseControlMessage(buf.toString('utf8'), 'fromBot');
          if (msg.type === 'welcome') {
            welcomed = true;
            resolve();
          } else this.onControl(msg);
        } catch (err) {
          this.o.logger.warn({ err }, 'emulator sidecar: bad message from the bot');
        }
      });
      ws.on('close', (code) => {
        if (!welcomed) reject(new MediabotError('MEDIABOT_INGRESS_UNAUTHORIZED', `the bot closed the bridge connection (${code}) before welcome`));
      });
      ws.on('error', (err) => {
        if (!welcomed) reject(err);
        else this.o.logger.warn({ err }, 'emulator sidecar socket error');
      });
      this.heartbeat = setInterval(() => this.send({ type: 'ping', ts: Date.now() }), 5000);
      this.heartbeat.unref();
    });
  }

  private onControl(msg: Record<string, unknown>): void {
    switch (msg['type']) {
      case 'ping':
        this.send(msg['ts'] === undefined ? { type: 'pong' } : { type: 'pong', ts: msg['ts'] });
        return;
      case 'createMediaSession': {
        const callId = msg['callId'] as string;
        this.createRequests++;
        this.created.add(callId);
        this.send({ type: 'mediaSessionCreated', requestId: msg['requestId'], callId, blob: encodeBridgeBlob({ sidecarId: this.sidecarId, callId }) });
        return;
      }
      case 'endMediaSession':
        this.calls.get(msg['callId'] as string)?.close();
        return;
      case 'error':
        this.o.logger.warn({ code: msg['code'], message: msg['message'] }, 'emulator sidecar: the bot reported an error');
        return;
      default:
        return;
    }
  }

  /** The media of a call whose blob this sidecar created; undefined for another sidecar's blob. */
  mediaFor(blob: BridgeBlob): EmulatorCallMedia | undefined {
    if (blob.sidecarId !== this.sidecarId || !this.created.has(blob.callId) || this.ws?.readyState !== WebSocket.OPEN) return undefined;
    const existing = this.calls.get(blob.callId);
    if (existing) return existing;
    const m = new BridgeCallMedia(this, blob.callId, this.nextIndex++);
    this.calls.set(blob.callId, m);
    this.byIndex.set(m.callIndex, m);
    return m;
  }

  send(msg: Record<string, unknown>): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  sendBinary(frame: Buffer): void {
    if (this.ws?.readyState === WebSocket.OPEN && this.ws.bufferedAmount < 1024 * 1024) this.ws.send(frame);
  }

  drop(m: BridgeCallMedia): void {
    this.calls.delete(m.callId);
    this.byIndex.delete(m.callIndex);
    this.created.delete(m.callId);
  }

  close(): void {
    clearInterval(this.heartbeat);
    for (const m of [...this.calls.values()]) m.close();
    this.ws?.close(1000, 'emulator closing');
  }
}
