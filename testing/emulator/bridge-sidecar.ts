/**
 * The emulator's bridge-sidecar mode: it plays the media sidecar of docs/bridge-protocol.md next to
 * the simulated Teams. Connected to a bot's /media/bridge, it answers createMediaSession with a blob
 * of its own (`{"bridge":{"sidecarId","callId"}}`, base64); when the bot then joins or answers a call
 * with that blob, the call's simulated people are streamed through the sidecar instead of RTP: each
 * person is an unmixed speaker (MSI) at 16 kHz, up to 4 at once, with activeSpeakers and
 * dominantSpeaker changes and a sourceMap naming the roster participant behind each MSI.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../src/logger.js';
import type { SidecarMessage } from '../../src/ingress/bridge/messages.js';
import { FRAME, frameRms, SidecarCall, SidecarConnection, to16k, type SidecarSpeaker } from '../sidecar/index.js';
import type { MediaEndpoint, MediaParticipantStats, ReceivedAudioStats } from './media-session.js';

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

function emptyReceived(): ReceivedAudioStats {
  return { packets: 0, rtcpPackets: 0, bytes: 0, decodedFrames: 0, decodeErrors: 0, malformed: 0, soundFrames: 0, meanRms: 0, maxRms: 0, ssrcs: [] };
}

interface Speaker extends SidecarSpeaker {
  track: Int16Array;
  cursor: number;
  sent: number;
  done: boolean;
  frame: Int16Array;
}

/** One call's media through the sidecar: its simulated people as unmixed speakers, ticking every 20 ms. */
class BridgeCallMedia implements EmulatorCallMedia {
  private readonly speakers: Speaker[] = [];
  private readonly stream: SidecarCall;
  private timer: NodeJS.Timeout | undefined;
  private t0 = 0;
  private n = 0;
  private closed = false;
  lateTicks = 0;
  readonly botAudio = emptyReceived();
  private rmsSum = 0;

  constructor(
    private readonly sidecar: EmulatorBridgeSidecar,
    readonly callId: string,
    readonly callIndex: number,
  ) {
    this.stream = new SidecarCall({ callId, callIndex, send: (m) => sidecar.send(m), sendFrame: (f) => sidecar.sendFrame(f) });
    this.stream.start();
  }

  async addParticipant(participantId: string, name: string, track: Int16Array, msi: number): Promise<void> {
    if (this.closed || this.speakers.some((s) => s.participantId === participantId)) return;
    this.speakers.push({ participantId, displayName: name, sourceId: msi, track: to16k(track), cursor: 0, sent: 0, done: false, frame: new Int16Array(FRAME) });
    this.stream.sendSourceMap(this.speakers);
    if (!this.timer) {
      this.t0 = performance.now();
      this.n = 0;
      this.schedule();
    }
  }

  removeParticipant(participantId: string): void {
    const s = this.speakers.find((x) => x.participantId === participantId);
    if (s) s.done = true;
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
    const frames = this.speakers.map((s) => {
      s.frame.fill(0);
      if (!s.done && s.cursor < s.track.length) s.frame.set(s.track.subarray(s.cursor, Math.min(s.track.length, s.cursor + FRAME)));
      s.cursor += FRAME;
      return s.frame;
    });
    this.stream.measure(frames);
    const tick = this.stream.send(this.n * 20, this.speakers, frames);
    for (const msi of tick.unmixed) {
      const s = this.speakers.find((x) => x.sourceId === msi);
      if (s) s.sent++;
    }
  }

  /** The bot's outbound audio for this call. */
  onOutbound(pcm: Int16Array): void {
    const r = this.botAudio;
    r.packets++;
    r.decodedFrames++;
    r.bytes += pcm.length * 2;
    const rms = frameRms(pcm);
    if (rms > 200) r.soundFrames++;
    this.rmsSum += rms;
    r.maxRms = Math.max(r.maxRms, rms);
    r.meanRms = this.rmsSum / r.decodedFrames;
  }

  stats(): ReturnType<EmulatorCallMedia['stats']> {
    const participants: MediaParticipantStats[] = this.speakers.map((s) => ({ participantId: s.participantId, name: s.displayName, ssrc: s.sourceId, localPort: 0, sentPackets: s.sent, received: emptyReceived() }));
    return { target: { bridge: { sidecarId: this.sidecar.sidecarId, callId: this.callId } }, participants, botAudio: { ...this.botAudio }, lateTicks: this.lateTicks };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.stream.end('the call ended');
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
  private conn: SidecarConnection | null = null;
  private readonly created = new Set<string>();
  private readonly calls = new Map<string, BridgeCallMedia>();
  private readonly byIndex = new Map<number, BridgeCallMedia>();
  private nextIndex = 1;
  createRequests = 0;

  private constructor(private readonly o: BridgeSidecarOptions) {
    this.sidecarId = o.sidecarId ?? `emulator-sidecar-${process.pid}`;
  }

  static async connect(o: BridgeSidecarOptions): Promise<EmulatorBridgeSidecar> {
    const s = new EmulatorBridgeSidecar(o);
    s.conn = await SidecarConnection.connect({
      url: o.url,
      token: o.token,
      sidecarId: s.sidecarId,
      capabilities: { opus: false, maxUnmixed: 4 },
      blob: (callId) => encodeBridgeBlob({ sidecarId: s.sidecarId, callId }),
      onCreateMediaSession: (callId) => {
        s.createRequests++;
        s.created.add(callId);
      },
      onEndMediaSession: (callId) => s.calls.get(callId)?.close(),
      onOutbound: (callIndex, _ts, pcm) => s.byIndex.get(callIndex)?.onOutbound(pcm),
      onError: (code, message) => o.logger.warn({ code, message }, 'emulator sidecar: the bot reported an error'),
    });
    return s;
  }

  /** The media of a call whose blob this sidecar created; undefined for another sidecar's blob. */
  mediaFor(blob: BridgeBlob): EmulatorCallMedia | undefined {
    if (blob.sidecarId !== this.sidecarId || !this.created.has(blob.callId) || !this.conn?.open) return undefined;
    const existing = this.calls.get(blob.callId);
    if (existing) return existing;
    const m = new BridgeCallMedia(this, blob.callId, this.nextIndex++);
    this.calls.set(blob.callId, m);
    this.byIndex.set(m.callIndex, m);
    return m;
  }

  send(msg: SidecarMessage): void {
    this.conn?.send(msg);
  }

  sendFrame(frame: Buffer): boolean {
    return this.conn?.sendFrame(frame) ?? false;
  }

  drop(m: BridgeCallMedia): void {
    this.calls.delete(m.callId);
    this.byIndex.delete(m.callIndex);
    this.created.delete(m.callId);
  }

  close(): void {
    for (const m of [...this.calls.values()]) m.close();
    this.conn?.close(1000, 'emulator closing');
  }
}
