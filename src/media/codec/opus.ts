import { createRequire } from 'node:module';
import { MediabotError } from '../../errors.js';
import type { DecodeRate, EncoderSettings, FrameDecoder, FrameEncoder, OpusApplication } from './types.js';
import { native, type NativeKernels } from './native.js';

export type { EncoderSettings, FrameDecoder, FrameEncoder } from './types.js';

/**
 * Encoder defaults, chosen from measurements (see docs/media-core.md):
 * VOIP at 32 kbps keeps speech transparent for transcription; complexity 5
 * costs about half of complexity 10 with no audible loss on speech, and the
 * shared-encode design bounds the number of encodes to talkers + 1 per tick.
 * In-band FEC is on; the expected loss starts at 0 % and follows what the
 * receivers report in RTCP (adaptiveLoss), so FEC bits are spent only on lossy paths.
 */
export const DEFAULT_ENCODER_SETTINGS: EncoderSettings = {
  application: 'voip',
  bitrate: 32_000,
  complexity: 5,
  inbandFec: true,
  expectedLossPct: 0,
  adaptiveLoss: true,
};

const APPLICATION: Record<OpusApplication, number> = { voip: 2048, audio: 2049, lowdelay: 2051 };
const CTL = { bitrate: 4002, complexity: 4010, inbandFec: 4012, lossPct: 4014 } as const;
/** libopus's largest packet for one frame. */
export const MAX_OPUS_PACKET = 1276;

interface DiscordOpus {
  OpusEncoder: new (rate: number, channels: number) => {
    encode(buf: Buffer): Buffer;
    decode(buf: Buffer): Buffer;
    applyEncoderCTL(ctl: number, value: number): void;
    setBitrate(bitrate: number): void;
  };
}

const require = createRequire(import.meta.url);

/** Which libopus binding the media core uses: the native one (FEC, zero-copy) or @discordjs/opus. */
export const codecBackend: 'native' | 'discordjs' = native ? 'native' : 'discordjs';

function codecError(op: string, rc: number): MediabotError {
  return new MediabotError('MEDIABOT_CODEC_FAILED', `opus ${op} failed (libopus error ${rc})`, { rc });
}

/**
 * Whether an Opus packet carries in-band FEC (SILK LBRR) data for the frame
 * before it. Reads the LBRR flag that follows the VAD flags at the start of
 * the first SILK frame (RFC 6716 section 4.2.3). CELT-only packets never do.
 */
export function packetHasFec(packet: Uint8Array): boolean {
  if (packet.length < 2) return false;
  const toc = packet[0]!;
  const config = toc >> 3;
  if (config >= 16) return false; // CELT-only
  const code = toc & 3;
  let offset = 1;
  if (code === 2) {
    // two frames of different sizes: one or two length bytes follow the TOC
    const b = packet[1]!;
    offset = b < 252 ? 2 : 3;
  } else if (code === 3) {
    offset = 2; // frame count byte (no padding support needed for the first frame's flags)
    if ((packet[1]! & 0x40) !== 0) return false;
  }
  if (offset >= packet.length) return false;
  const silkFrames = config >= 12 ? 1 : [1, 1, 2, 3][config & 3]!;
  const stereo = (toc & 4) !== 0;
  const first = packet[offset]!;
  let lbrr = (first >> (7 - silkFrames)) & 1;
  if (stereo) lbrr |= (first >> (6 - 2 * silkFrames)) & 1;
  return lbrr === 1;
}

class NativeDecoder implements FrameDecoder {
  private handle: unknown;
  constructor(
    private readonly n: NativeKernels,
    rate: DecodeRate,
  ) {
    this.handle = n.createDecoder(rate, 1);
  }
  decode(packet: Uint8Array, out: Int16Array): number {
    const rc = this.n.decode(this.handle, packet, out, 0);
    if (rc < 0) throw codecError('decode', rc);
    return rc;
  }
  decodeFec(nextPacket: Uint8Array, out: Int16Array): number {
    if (!packetHasFec(nextPacket)) return 0;
    const rc = this.n.decode(this.handle, nextPacket, out, 1);
    return rc < 0 ? 0 : rc;
  }
  conceal(out: Int16Array): number {
    const rc = this.n.decode(this.handle, null, out, 0);
    if (rc < 0) throw codecError('conceal', rc);
    return rc;
  }
  reset(): void {
    this.n.decoderReset(this.handle);
  }
}

/**
 * Opus to 16 kHz for the speech tap (native/speech_decoder.c). libopus asked
 * for 16 kHz still decodes a hybrid packet's CELT layer (everything above
 * 8 kHz, about half its work) and throws it away; this decoder runs the SILK
 * layer alone for 20 ms mono SILK and hybrid packets (bit-exact with libopus's
 * own 16 kHz output) and hands anything else to libopus.
 */
class NativeSpeechDecoder implements FrameDecoder {
  private readonly handle: unknown;
  constructor(private readonly n: NativeKernels) {
    this.handle = n.createSpeechDecoder();
  }
  decode(packet: Uint8Array, out: Int16Array): number {
    const rc = this.n.speechDecode(this.handle, packet, out, 0);
    if (rc < 0) throw codecError('decode', rc);
    return rc;
  }
  decodeFec(nextPacket: Uint8Array, out: Int16Array): number {
    if (!packetHasFec(nextPacket)) return 0;
    const rc = this.n.speechDecode(this.handle, nextPacket, out, 1);
    return rc < 0 ? 0 : rc;
  }
  conceal(out: Int16Array): number {
    const rc = this.n.speechDecode(this.handle, null, out, 0);
    if (rc < 0) throw codecError('conceal', rc);
    return rc;
  }
  reset(): void {
    this.n.speechDecoderReset(this.handle);
  }
}

class NativeEncoder implements FrameEncoder {
  private readonly handle: unknown;
  constructor(private readonly n: NativeKernels, s: EncoderSettings) {
    this.handle = n.createEncoder(48_000, 1, APPLICATION[s.application]);
    n.encoderCtl(this.handle, CTL.bitrate, s.bitrate);
    n.encoderCtl(this.handle, CTL.complexity, s.complexity);
    n.encoderCtl(this.handle, CTL.inbandFec, s.inbandFec ? 1 : 0);
    n.encoderCtl(this.handle, CTL.lossPct, s.expectedLossPct);
    this.lossPct = s.expectedLossPct;
  }
  private lossPct: number;
  setExpectedLossPct(pct: number): void {
    if (pct === this.lossPct) return;
    this.n.encoderCtl(this.handle, CTL.lossPct, pct);
    this.lossPct = pct;
  }
  encode(pcm: Int16Array, out: Uint8Array): number {
    const rc = this.n.encode(this.handle, pcm, out);
    if (rc < 0) throw codecError('encode', rc);
    return rc;
  }
}

/**
 * Fallback on @discordjs/opus: it allocates a Buffer per call, has no FEC
 * decode, and its concealment produces 120 ms at once (the first 20 ms are used).
 */
class DiscordDecoder implements FrameDecoder {
  private codec: InstanceType<DiscordOpus['OpusEncoder']>;
  private static readonly EMPTY = Buffer.alloc(0);
  constructor(
    private readonly lib: DiscordOpus,
    private readonly rate: DecodeRate,
  ) {
    this.codec = new lib.OpusEncoder(rate, 1);
  }
  private copy(pcm: Buffer, out: Int16Array): number {
    const n = Math.min(out.length, pcm.length >> 1);
    for (let i = 0; i < n; i++) out[i] = pcm.readInt16LE(i * 2);
    return n;
  }
  decode(packet: Uint8Array, out: Int16Array): number {
    try {
      return this.copy(this.codec.decode(Buffer.from(packet.buffer, packet.byteOffset, packet.length)), out);
    } catch (err) {
      throw new MediabotError('MEDIABOT_CODEC_FAILED', `opus decode failed: ${(err as Error).message}`);
    }
  }
  decodeFec(): number {
    return 0;
  }
  conceal(out: Int16Array): number {
    this.copy(this.codec.decode(DiscordDecoder.EMPTY), out);
    return this.rate / 50;
  }
  reset(): void {
    this.codec = new this.lib.OpusEncoder(this.rate, 1);
  }
}

class DiscordEncoder implements FrameEncoder {
  private readonly codec: InstanceType<DiscordOpus['OpusEncoder']>;
  constructor(lib: DiscordOpus, s: EncoderSettings) {
    this.codec = new lib.OpusEncoder(48_000, 1);
    this.codec.applyEncoderCTL(4000, APPLICATION[s.application]); // OPUS_SET_APPLICATION
    this.codec.setBitrate(s.bitrate);
    this.codec.applyEncoderCTL(CTL.complexity, s.complexity);
    this.codec.applyEncoderCTL(CTL.inbandFec, s.inbandFec ? 1 : 0);
    this.codec.applyEncoderCTL(CTL.lossPct, s.expectedLossPct);
    this.lossPct = s.expectedLossPct;
  }
  private lossPct: number;
  setExpectedLossPct(pct: number): void {
    if (pct === this.lossPct) return;
    this.codec.applyEncoderCTL(CTL.lossPct, pct);
    this.lossPct = pct;
  }
  encode(pcm: Int16Array, out: Uint8Array): number {
    const packet = this.codec.encode(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
    out.set(packet);
    return packet.length;
  }
}

let discord: DiscordOpus | null = null;
function discordOpus(): DiscordOpus {
  discord ??= require('@discordjs/opus') as DiscordOpus;
  return discord;
}

export function validateEncoderSettings(s: EncoderSettings): EncoderSettings {
  const bad = (what: string): never => {
    throw new MediabotError('MEDIABOT_CONFIG_INVALID', `encoder ${what}`);
  };
  if (!(s.application in APPLICATION)) bad(`application must be voip, audio or lowdelay (got ${String(s.application)})`);
  if (!Number.isInteger(s.bitrate) || s.bitrate < 6000 || s.bitrate > 510_000) bad(`bitrate must be 6000-510000 (got ${s.bitrate})`);
  if (!Number.isInteger(s.complexity) || s.complexity < 0 || s.complexity > 10) bad(`complexity must be 0-10 (got ${s.complexity})`);
  if (!Number.isInteger(s.expectedLossPct) || s.expectedLossPct < 0 || s.expectedLossPct > 100) bad(`expectedLossPct must be 0-100 (got ${s.expectedLossPct})`);
  if (typeof s.inbandFec !== 'boolean') bad(`inbandFec must be true or false (got ${String(s.inbandFec)})`);
  if (typeof s.adaptiveLoss !== 'boolean') bad(`adaptiveLoss must be true or false (got ${String(s.adaptiveLoss)})`);
  return s;
}

/**
 * An Opus decoder producing 20 ms frames at `rate`. At 16 kHz (the speech tap of
 * a speech-only call) the native backend decodes the SILK layer alone when that
 * is the whole 16 kHz signal; `{ fullDecode: true }` asks for libopus's own
 * 16 kHz decode instead (the benchmarks compare the two).
 */
export function createOpusDecoder(rate: DecodeRate = 48_000, opts: { fullDecode?: boolean } = {}): FrameDecoder {
  if (rate !== 48_000 && rate !== 16_000) throw new MediabotError('MEDIABOT_CONFIG_INVALID', `decode rate must be 48000 or 16000 (got ${String(rate)})`);
  if (!native) return new DiscordDecoder(discordOpus(), rate);
  return rate === 16_000 && opts.fullDecode !== true ? new NativeSpeechDecoder(native) : new NativeDecoder(native, rate);
}

export function createOpusEncoder(settings: Partial<EncoderSettings> = {}): FrameEncoder {
  const s = validateEncoderSettings({ ...DEFAULT_ENCODER_SETTINGS, ...settings });
  return native ? new NativeEncoder(native, s) : new DiscordEncoder(discordOpus(), s);
}
