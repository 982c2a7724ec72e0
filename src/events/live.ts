/**
 * The live event union: everything the bus carries plus the call service's own events (speaker
 * mapping, finished artifacts). The events WebSocket, the demo and library users subscribe to it.
 */
import { Emitter } from '../util/emitter.js';
import type { MediabotEvent } from './bus.js';

/** Who is behind one media source of a call. */
export interface SpeakerRef {
  sourceId: string;
  participantId: string | null;
  displayName: string | null;
  /** True for audio mediabot itself played into the call. */
  prompt: boolean;
}

/** Events the call service adds to the bus's: speaker mapping, finished artifacts and Teams' meeting artifacts. */
export type WorkerEvent =
  | { type: 'call.speakers'; callId: string; speakers: SpeakerRef[]; at: string }
  | { type: 'call.artifacts'; callId: string; dir: string; files: string[]; at: string }
  /** Teams' attendance report and transcript of a meeting call, stored beside its artifacts (attendanceRecords: null without the report). */
  | { type: 'call.meetingArtifacts'; callId: string; meetingId: string; files: string[]; attendanceRecords: number | null; at: string };

/** Why a call's data was deleted: asked for (the operator API or code), or MEDIABOT_RETENTION_DAYS. */
export type DeletionReason = 'request' | 'retention';

/** What one deletion removed, as counts. */
export interface DeletedCounts {
  /** Local files removed (the call's folder, its recordings, a leftover scratch folder). */
  files: number;
  /** Their total size. */
  bytes: number;
  /** Files per kind: transcript, analytics, timeline, call, meeting_artifacts, recording, other. */
  fileKinds: Record<string, number>;
  /** Rows removed per SQLite table. */
  rows: Record<string, number>;
  /** Objects removed from object storage. */
  objects: number;
  /** True when the call was still held in memory (listed by GET /v1/calls) and was forgotten. */
  inMemory: boolean;
}

/**
 * A call's data was deleted (DELETE /v1/calls/:id/data, `calls.deleteData`, or the retention sweep):
 * what was removed, as counts (docs/retention.md). Also sent as the `data.deleted` webhook.
 */
export interface DataDeletedEvent {
  type: 'data.deleted';
  callId: string;
  /** The deletion log record's id. */
  deletionId: string;
  reason: DeletionReason;
  deleted: DeletedCounts;
  at: string;
}

export type LiveEvent = MediabotEvent | WorkerEvent | DataDeletedEvent;

/** One listener set of every live event, fed by the bus and the call service. */
export class LiveEvents extends Emitter<LiveEvent> {
  /** Forwards every event of `source` into this set; returns the unsubscribe function. */
  feedFrom<T extends LiveEvent>(source: { on(listener: (e: T) => void): () => void }): () => void {
    return source.on((e) => this.emit(e));
  }
}
