import { createSocket, type Socket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import opus from '@discordjs/opus';
import type { Logger } from '../../src/logger.js';
import { isMediabotError } from '../../src/errors.js';
import { isRtcp, parseRtp, RTP_HEADER_SIZE, writeRtp } from '../../src/media/wire/rtp.js';

/**
 * Where the emulator sends a call's participant audio. The bot puts it in the join/answer request's
 * `mediaConfig.blob` (app-hosted media) as JSON, either raw or base64-encoded:
 *   {"rtp":{"host":"127.0.0.1","port":40000},"payloadType":111}
 * Each simulated participant sends Opus RTP (48 kHz mono, 20 ms, its own SSRC) from its own UDP socket.
 * The bot's audio is accepted on every participant socket: reply to the source address of the
 * packets you receive (symmetric RTP), one stream per participant or the same mix to all.
 */
export interface MediaEndpoint {
  rtp: { host: string; port: number };
  /** RTP payload type the emulator uses for Opus; default 111. */
  payloadType?: number;
}

export const FRAME_SAMPLES = 960;
const FRAME_MS = 20;
/** Int16 RMS above which a decoded frame of the bot's audio counts as carrying sound. */
const SOUND_RMS = 200;

/** Reads a MediaEndpoint from an appHostedMediaConfig blob; undefined when the blob is not one (e.g. a real media-platform blob). */
export function parseMediaBlob(blob: unknown): MediaEndpoint | undefined {
  if (typeof blob !== 'string' || blob.length === 0 || blob.length > 8192) return undefined;
  let text = blob.trim();
  if (!text.startsWith('{')) {
    if (!/^[A-Za-z0-9+/=_-]+$/.test(text)) return undefined;
    text = Buffer.from(text, 'base64').toString('utf8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const rtp = (parsed as { rtp?: unknown }).rtp;
  if (typeof rtp !== 'object' || rtp === null) return undefined;
  const { host, port } = rtp as { host?: unknown; port?: unknown };
  if (typeof host !== 'string' || !/^[0-9a-fA-F.:]+$|^localhost$/.test(host)) return undefined;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  const pt = (parsed as { payloadType?: unknown }).payloadType;
  const endpoint: MediaEndpoint = { rtp: { host, port } };
  if (typeof pt === 'number' && Number.isInteger(pt) && pt >= 96 && pt <= 127) endpoint.payloadType = pt;
  return endpoint;
}

/** Builds the blob string for an endpoint (base64 of the JSON), as a bot would put in mediaConfig.blob. */
export function encodeMediaBlob(endpoint: MediaEndpoint): string {
  return Buffer.from(JSON.stringify(endpoint), 'utf8').toString('base64');
}

/** A 12-byte RTP header (no CSRC, no extension) followed by the payload (the media core's RTP writer). */
export function buildRtpPacket(pt: number, marker: boolean, seq: number, ts: number, ssrc: number, payload: Uint8Array): Buffer {
  const pkt = Buffer.allocUnsafe(RTP_HEADER_SIZE + payload.length);
  writeRtp(pkt, { payloadType: pt & 0x7f, marker, sequence: seq & 0xffff, timestamp: ts >>> 0, ssrc: ssrc >>> 0 }, payload);
  return pkt;
}

/** The payload of an RTP packet, skipping CSRCs, extension and padding (the media core's RTP parser); undefined for RTCP or malformed packets. */
export function rtpPayload(pkt: Buffer): { ssrc: number; seq: number; payload: Buffer } | undefined {
  if (isRtcp(pkt)) return undefined;
  let p;
  try {
    p = parseRtp(pkt);
  } catch (err) {
    if (isMediabotError(err)) return undefined;
    throw err;
  }
  return { ssrc: p.ssrc, seq: p.sequence, payload: Buffer.from(p.payload.buffer, p.payload.byteOffset, p.payload.byteLength) };
}

export interface ReceivedAudioStats {
  packets: number;
  /** RTCP packets (receiver/sender reports) the bot sent to this socket. */
  rtcpPackets: number;
  bytes: number;
  decodedFrames: number;
  decodeErrors: number;
  malformed: number;
  /** Frames whose RMS exceeded the sound threshold. */
  soundFrames: number;
  meanRms: number;
  maxRms: number;
  ssrcs: number[];
}

export interface MediaParticipantStats {
  participantId: string;
  name: string;
  ssrc: number;
  localPort: number;
  sentPackets: number;
  /** The bot's audio that arrived on this participant's socket. */
  received: ReceivedAudioStats;
}

interface Sender {
  participantId: string;
  name: string;
  ssrc: number;
  socket: Socket;
  localPort: number;
  track: Int16Array;
  cursor: number;
  seq: number;
  ts: number;
  encoder: opus.OpusEncoder;
  decoder: opus.OpusEncoder;
  sentPackets: number;
  received: ReceivedAudioStats & { rmsSum: number };
  done: boolean;
}

function emptyReceived(): ReceivedAudioStats & { rmsSum: number } {
  return { packets: 0, rtcpPackets: 0, bytes: 0, decodedFrames: 0, decodeErrors: 0, malformed: 0, soundFrames: 0, meanRms: 0, maxRms: 0, ssrcs: [], rmsSum: 0 };
}

/**
 * The media side of one emulated call with app-hosted media: each simulated participant streams its
 * speech track as paced Opus RTP to the bot and records what the bot sends back.
 */
export class CallMediaSession {
  private readonly senders = new Map<string, Sender>();
  private timer: NodeJS.Timeout | undefined;
  private startAt = 0;
  private ticks = 0;
  private closed = false;
  lateTicks = 0;

  constructor(
    readonly endpoint: MediaEndpoint,
    private readonly logger: Logger,
  ) {}

  /** Binds the participant's socket and starts streaming its track on the next tick. */
  async addParticipant(participantId: string, name: string, track: Int16Array, ssrc: number): Promise<void> {
    if (this.closed || this.senders.has(participantId)) return;
    const socket = createSocket(this.endpoint.rtp.host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, this.endpoint.rtp.host.includes(':') ? '::1' : '127.0.0.1', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const encoder = new opus.OpusEncoder(48_000, 1);
    encoder.setBitrate(32_000);
    // Complexity 5 (OPUS_SET_COMPLEXITY): the emulator shares the CPU with the bot it tests.
    encoder.applyEncoderCTL(4010, 5);
    const sender: Sender = {
      participantId,
      name,
      ssrc,
      socket,
      localPort: socket.address().port,
      track,
      cursor: 0,
      seq: randomInt(0, 0xffff),
      ts: randomInt(0, 0xffffffff),
      encoder,
      decoder: new opus.OpusEncoder(48_000, 1),
      sentPackets: 0,
      received: emptyReceived(),
      done: false,
    };
    socket.on('error', (err) => this.logger.warn({ err, participantId }, 'emulator RTP socket error'));
    socket.on('message', (msg) => this.onBotPacket(sender, msg));
    this.senders.set(participantId, sender);
    this.ensureClock();
  }

  /** Stops the participant's stream and closes its socket. */
  removeParticipant(participantId: string): void {
    const s = this.senders.get(participantId);
    if (!s) return;
    s.done = true;
    try {
      s.socket.close();
    } catch {
      // already closed
    }
  }

  stats(): { target: MediaEndpoint; participants: MediaParticipantStats[]; botAudio: ReceivedAudioStats; lateTicks: number } {
    const participants = [...this.senders.values()].map((s) => ({
      participantId: s.participantId,
      name: s.name,
      ssrc: s.ssrc,
      localPort: s.localPort,
      sentPackets: s.sentPackets,
      received: publicReceived(s.received),
    }));
    const total = emptyReceived();
    const ssrcs = new Set<number>();
    for (const s of this.senders.values()) {
      const r = s.received;
      total.packets += r.packets;
      total.rtcpPackets += r.rtcpPackets;
      total.bytes += r.bytes;
      total.decodedFrames += r.decodedFrames;
      total.decodeErrors += r.decodeErrors;
      total.malformed += r.malformed;
      total.soundFrames += r.soundFrames;
      total.rmsSum += r.rmsSum;
      total.maxRms = Math.max(total.maxRms, r.maxRms);
      for (const x of r.ssrcs) ssrcs.add(x);
    }
    total.ssrcs = [...ssrcs];
    return { target: this.endpoint, participants, botAudio: publicReceived(total), lateTicks: this.lateTicks };
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const id of this.senders.keys()) this.removeParticipant(id);
  }

  private ensureClock(): void {
    if (this.timer || this.closed) return;
    this.startAt = performance.now();
    this.ticks = 0;
    this.schedule();
  }

  /** Drift-corrected: each tick is scheduled against start + n * 20 ms, not the previous tick. */
  private schedule(): void {
    const due = this.startAt + this.ticks * FRAME_MS;
    this.timer = setTimeout(() => this.tick(), Math.max(0, due - performance.now()));
  }

  private tick(): void {
    if (this.closed) return;
    const lag = performance.now() - (this.startAt + this.ticks * FRAME_MS);
    if (lag > FRAME_MS) this.lateTicks += 1;
    // Far behind (e.g. the event loop was blocked): resynchronize instead of bursting.
    if (lag > 10 * FRAME_MS) {
      this.startAt = performance.now() - this.ticks * FRAME_MS;
    }
    const pt = this.endpoint.payloadType ?? 111;
    for (const s of this.senders.values()) {
      if (s.done) continue;
      if (s.cursor >= s.track.length) continue;
      const frame = Buffer.alloc(FRAME_SAMPLES * 2);
      const n = Math.min(FRAME_SAMPLES, s.track.length - s.cursor);
      for (let i = 0; i < n; i++) frame.writeInt16LE(s.track[s.cursor + i]!, i * 2);
      s.cursor += FRAME_SAMPLES;
      let payload: Buffer;
      try {
        payload = s.encoder.encode(frame);
      } catch (err) {
        this.logger.warn({ err }, 'emulator opus encode failed');
        continue;
      }
      const pkt = buildRtpPacket(pt, s.sentPackets === 0, s.seq, s.ts, s.ssrc, payload);
      s.seq = (s.seq + 1) & 0xffff;
      s.ts = (s.ts + FRAME_SAMPLES) >>> 0;
      s.sentPackets += 1;
      s.socket.send(pkt, this.endpoint.rtp.port, this.endpoint.rtp.host, (err) => {
        if (err && !s.done) this.logger.debug({ err }, 'emulator RTP send failed');
      });
    }
    this.ticks += 1;
    this.schedule();
  }

  private onBotPacket(s: Sender, msg: Buffer): void {
    const r = s.received;
    if (msg.length >= 8 && msg[0]! >> 6 === 2 && isRtcp(msg)) {
      r.rtcpPackets += 1;
      return;
    }
    const parsed = rtpPayload(msg);
    if (!parsed) {
      r.malformed += 1;
      return;
    }
    r.packets += 1;
    r.bytes += msg.length;
    if (!r.ssrcs.includes(parsed.ssrc) && r.ssrcs.length < 16) r.ssrcs.push(parsed.ssrc);
    let pcm: Buffer;
    try {
      pcm = s.decoder.decode(parsed.payload);
    } catch {
      r.decodeErrors += 1;
      return;
    }
    r.decodedFrames += 1;
    let sum = 0;
    const n = pcm.length >> 1;
    for (let i = 0; i < n; i++) {
      const v = pcm.readInt16LE(i * 2);
      sum += v * v;
    }
    const rms = n > 0 ? Math.sqrt(sum / n) : 0;
    r.rmsSum += rms;
    if (rms > r.maxRms) r.maxRms = rms;
    if (rms > SOUND_RMS) r.soundFrames += 1;
  }
}

function publicReceived(r: ReceivedAudioStats & { rmsSum: number }): ReceivedAudioStats {
  const { rmsSum, ...rest } = r;
  return { ...rest, meanRms: r.decodedFrames > 0 ? rmsSum / r.decodedFrames : 0, maxRms: r.maxRms };
}
