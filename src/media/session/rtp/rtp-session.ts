/**
 * A call whose participants speak RTP/Opus to one UDP port: each SSRC is a source, and each gets
 * its mix-minus back (see udp-transport.ts). RTCP reports go out every five seconds.
 */
import type { EncoderSettings } from '../../codec/types.js';
import type { CallPipeline } from '../../core/pipeline.js';
import type { HookRunner } from '../../hooks/runner.js';
import type { RtpEndpoint, SessionStats, SourceStats } from '../media-session.js';
import { PipelineSession } from '../pipeline-session.js';
import { UdpRtpTransport, type UdpRtpTransportOptions } from './udp-transport.js';

const REPORT_INTERVAL_MS = 5000;

export class RtpMediaSession extends PipelineSession {
  override rtp: RtpEndpoint | null = null;
  private readonly transport: UdpRtpTransport;
  private reportTimer: NodeJS.Timeout | null = null;

  private constructor(pipeline: CallPipeline, runner: HookRunner | null, encoder: Partial<EncoderSettings>, transport: UdpRtpTransportOptions) {
    super(pipeline, runner, encoder);
    this.transport = new UdpRtpTransport(pipeline, transport);
    pipeline.setSend(this.transport.send);
  }

  /** Binds the UDP port and starts the RTCP reports. */
  static async open(pipeline: CallPipeline, runner: HookRunner | null, encoder: Partial<EncoderSettings>, transport: UdpRtpTransportOptions): Promise<RtpMediaSession> {
    const s = new RtpMediaSession(pipeline, runner, encoder, transport);
    s.rtp = await s.transport.listen();
    const t = s.transport;
    s.reportTimer = setInterval(() => t.sendReports(), REPORT_INTERVAL_MS);
    return s;
  }

  /** The participants while `stats()` runs (one snapshot, not one per source). */
  private participants: Map<string, ReturnType<UdpRtpTransport['participants']>[number]> | null = null;

  override stats(): SessionStats {
    this.participants = new Map(this.transport.participants().map((p) => [p.sourceId, p]));
    try {
      return super.stats();
    } finally {
      this.participants = null;
    }
  }

  protected override describeSource(sourceId: string): SourceStats {
    const part = this.participants?.get(sourceId);
    if (!part) return super.describeSource(sourceId);
    return { sourceId, ssrc: part.ssrc, address: part.address, port: part.port, packetsSent: part.packetsSent, jitter: { ...part.stats } as Record<string, number> };
  }

  protected override *departedSources(): Iterable<string> {
    yield* super.departedSources();
    // Participants that left (idle or BYE) still report.
    if (this.participants) yield* this.participants.keys();
  }

  /** Batched I/O: the datagrams that arrived go into the jitter buffers right before the tick. */
  beforeTick(): void {
    this.transport.poll();
  }

  /** Batched I/O: the tick's packets leave in one batch right after it. */
  afterTick(): void {
    this.transport.flush();
  }

  /** Which socket I/O carries this call's packets. */
  get io(): 'batched' | 'dgram' | null {
    return this.transport.io;
  }

  protected override transportStats(): Record<string, number> {
    return { ...this.transport.stats, batched: this.transport.io === 'batched' ? 1 : 0 };
  }

  protected override async doClose(): Promise<SessionStats> {
    if (this.reportTimer) clearInterval(this.reportTimer);
    const stats = await super.doClose();
    await this.transport.close();
    return stats;
  }
}
