/** One bridged call: its media (common lifecycle), what the sidecar told about its speakers, its streams. */
import type { FrameDecoder } from '../../media/codec/types.js';
import { StreamGates } from '../common/backpressure.js';
import type { IngressCallMedia } from '../common/lifecycle.js';
import type { MediaHealth } from './messages.js';
import type { BridgeSession } from './session.js';

export interface BridgeSourceMapEntry {
  /** The source id inside mediabot's media core (recordings, transcripts, talk events): `msi-<msi>`. */
  sourceId: string;
  msi: number;
  participantId: string;
  displayName: string | null;
}

export type BridgeControlEvent =
  | { type: 'sessionStarted'; callId: string; callIndex: number; sidecarId: string }
  | { type: 'sessionEnded'; callId: string; reason: string }
  | { type: 'activeSpeakers'; callId: string; sourceIds: string[] }
  | { type: 'dominantSpeaker'; callId: string; sourceId: string | null }
  | { type: 'sourceMap'; callId: string; entries: BridgeSourceMapEntry[] }
  | { type: 'dtmf'; callId: string; tone: string; direction: 'received' | 'sent' }
  | { type: 'mediaHealth'; callId: string; health: MediaHealth }
  | { type: 'sidecar'; sidecarId: string; state: 'connected' | 'resumed' | 'disconnected' | 'expired' };

export interface BridgeCallInfo {
  callId: string;
  callIndex: number;
  sidecarId: string;
  connected: boolean;
  sourceMap: BridgeSourceMapEntry[];
  activeSpeakers: string[];
  dominantSpeaker: string | null;
  health: MediaHealth | null;
}

/** The media core's source id of an unmixed stream. */
export const msiSource = (msi: number): string => `msi-${msi}`;
/** The media core's source id of the mixed stream. */
export const MIXED_SOURCE = 'mixed';

export class BridgeCall {
  readonly sourceMap = new Map<number, BridgeSourceMapEntry>();
  activeSpeakers: string[] = [];
  dominant: string | null = null;
  health: MediaHealth | null = null;
  readonly gates: StreamGates;
  readonly decoders = new Map<string, FrameDecoder>();
  /** Sequence number of the next outbound frame. */
  outSeq = 0;
  /** Set right after construction (the media's callbacks need this call). */
  media!: IngressCallMedia;

  constructor(
    readonly session: BridgeSession,
    readonly callIndex: number,
    burstFrames: number,
  ) {
    this.gates = new StreamGates(burstFrames);
  }

  get callId(): string {
    return this.media.callId;
  }

  /** Applies a sourceMap message's entries (after dropping the old ones when `replace`). */
  mapSources(entries: ReadonlyArray<{ sourceId: number; participantId: string; displayName?: string | null }>, replace: boolean): void {
    if (replace) this.sourceMap.clear();
    for (const e of entries) this.sourceMap.set(e.sourceId, { sourceId: msiSource(e.sourceId), msi: e.sourceId, participantId: e.participantId, displayName: e.displayName ?? null });
  }

  info(): BridgeCallInfo {
    return {
      callId: this.callId,
      callIndex: this.callIndex,
      sidecarId: this.session.sidecarId,
      connected: this.session.conn !== null,
      sourceMap: [...this.sourceMap.values()],
      activeSpeakers: this.activeSpeakers,
      dominantSpeaker: this.dominant,
      health: this.health,
    };
  }
}
