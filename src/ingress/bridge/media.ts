/**
 * The bridge's media frames: inbound frames (kind 0 mixed, 1 unmixed; PCM 16 kHz or Opus) are
 * checked, rate-limited per stream, decoded into reused buffers and pushed to the call's media;
 * the call's outbound audio goes back as kind 2 frames through the connection's bounded sender.
 */
import { MediabotError } from '../../errors.js';
import { createOpusDecoder } from '../../media/codec/opus.js';
import type { IngressMetrics } from '../common/metrics.js';
import { MIXED_SOURCE, msiSource, type BridgeCall } from './call.js';
import type { BridgeConnection } from './connection.js';
import { decodeFrameHeader, encodeFrame, FrameCodec, FrameKind, HEADER_BYTES, MIXED_SOURCE_ID, PCM16K_FRAME_BYTES, pcmFromPayload, payloadFromPcm } from './wire.js';

export class BridgeMediaFrames {
  private readonly scratch = new Int16Array(PCM16K_FRAME_BYTES / 2);
  private readonly opusOut = new Int16Array(960);

  constructor(private readonly metrics: IngressMetrics) {}

  /** One binary message from a sidecar. Throws the typed error of a bad frame. */
  receive(conn: BridgeConnection, buf: Buffer): void {
    const s = conn.session;
    if (!s) throw new MediabotError('MEDIABOT_INGRESS_BAD_MESSAGE', 'media frame before hello');
    this.metrics.inc('bridge', 'frames');
    const h = decodeFrameHeader(buf);
    if (h.kind === FrameKind.Outbound) throw new MediabotError('MEDIABOT_INGRESS_BAD_FRAME', 'a sidecar cannot send outbound (kind 2) frames');
    const call = s.byIndex.get(h.callIndex);
    if (!call) throw new MediabotError('MEDIABOT_INGRESS_UNKNOWN_CALL', `no call with callIndex ${h.callIndex} on this session`);
    const sourceId = h.kind === FrameKind.Mixed ? MIXED_SOURCE : msiSource(h.sourceId);
    if (!call.gates.admit(sourceId)) {
      this.metrics.fault('bridge', 'MEDIABOT_INGRESS_RATE_EXCEEDED');
      conn.maybeSendError(new MediabotError('MEDIABOT_INGRESS_RATE_EXCEEDED', `stream ${sourceId} of call ${call.callId} sends faster than real time; frames dropped`), call.callId);
      return;
    }
    if (h.codec === FrameCodec.Pcm16k) {
      call.media.push({ sourceId, rate: 16_000, timestampMs: h.timestampMs, samples: pcmFromPayload(buf, HEADER_BYTES, h.payloadLength, this.scratch), flags: h.flags & 3 });
      return;
    }
    let dec = call.decoders.get(sourceId);
    if (!dec) {
      dec = createOpusDecoder();
      call.decoders.set(sourceId, dec);
    }
    try {
      dec.decode(buf.subarray(HEADER_BYTES), this.opusOut);
    } catch (err) {
      throw new MediabotError('MEDIABOT_INGRESS_BAD_FRAME', `Opus packet of ${sourceId} does not decode: ${(err as Error).message}`);
    }
    call.media.push({ sourceId, rate: 48_000, timestampMs: h.timestampMs, samples: this.opusOut, flags: h.flags & 3 });
  }

  /** One 20 ms of the call's outbound audio (16 kHz) to its sidecar, if connected. */
  send(call: BridgeCall, mediaTimeMs: number, samples: Int16Array): void {
    const conn = call.session.conn;
    if (!conn) return;
    const frame = encodeFrame({ kind: FrameKind.Outbound, codec: FrameCodec.Pcm16k, flags: 0, callIndex: call.callIndex, sourceId: MIXED_SOURCE_ID, sequence: call.outSeq++, timestampMs: mediaTimeMs }, payloadFromPcm(samples));
    conn.outbound.send(conn.ws, frame);
  }
}
