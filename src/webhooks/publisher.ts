/**
 * Turns live events into webhook messages for the outbox: call state with reasons, the lobby,
 * participants joined and left, final transcript lines (partial ones when the call asked for them),
 * artifacts written and recording ready with its files, Teams' meeting artifacts stored;
 * `data.deleted` is published by whoever
 * deletes. Each message goes to MEDIABOT_WEBHOOK_URL and to the call's own URL, and carries the
 * call's metadata.
 */
import type { LiveEvent } from '../events/live.js';
import type { Logger } from '../logger.js';
import type { StoredCallSettings } from '../store/call-settings.js';
import type { WebhookDispatcher } from './dispatcher.js';

/** The webhook event types mediabot sends. */
export const WEBHOOK_EVENT_TYPES = [
  'call.state',
  'call.lobby',
  'participant.joined',
  'participant.left',
  'transcript.final',
  'transcript.partial',
  'artifacts.written',
  'recording.ready',
  'meeting_artifacts.stored',
  'call.join_failed',
  'data.deleted',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

interface RosterEntry {
  id: string;
  displayName: string | null;
  inLobby: boolean;
}

export interface WebhookPublisherOptions {
  dispatcher: WebhookDispatcher;
  /** MEDIABOT_WEBHOOK_URL. */
  globalUrl: string | undefined;
  /** A call's stored settings (webhook URL, metadata, partials). */
  settings: (callId: string) => StoredCallSettings | undefined;
  /** Who speaks on a media source of a call. */
  speakerName?: (callId: string, sourceId: string) => string | null;
  /** A finalized call's recordings. */
  recordings?: (callId: string) => Array<{ file: string; sourceId: string; speaker: string | null; format: string; bytes: number }>;
  /** Files go to an object storage: recording.ready is published by the storage once uploaded (signed URLs), not when artifacts are written. */
  recordingReadyAfterUpload?: boolean;
  logger: Logger;
}

export class WebhookPublisher {
  private readonly rosters = new Map<string, Map<string, RosterEntry>>();
  private readonly cache = new Map<string, StoredCallSettings | null>();

  constructor(private readonly o: WebhookPublisherOptions) {}

  /** The settings of a call were stored (or changed): forget what was cached. */
  settingsChanged(callId: string): void {
    this.cache.delete(callId.toLowerCase());
  }

  /** Publishes one message of a call (or of no call) to every target; returns how many rows were written. */
  publish(callId: string | null, type: WebhookEventType, data: Record<string, unknown>, extra: { url?: string; metadata?: Record<string, unknown> | null } = {}): number {
    const s = callId === null ? undefined : this.settingsOf(callId);
    const urls = [this.o.globalUrl, s?.webhookUrl ?? undefined, extra.url].filter((u): u is string => typeof u === 'string' && u !== '');
    if (urls.length === 0) return 0;
    const metadata = extra.metadata !== undefined ? extra.metadata : (s?.metadata ?? null);
    return this.o.dispatcher.enqueue(callId, urls, type, { ...(callId !== null ? { callId } : {}), ...data, metadata }).length;
  }

  /** The live-event listener. */
  onEvent(e: LiveEvent): void {
    try {
      this.map(e);
    } catch (err) {
      this.o.logger.warn({ err, type: e.type }, 'webhook event not written to the outbox');
    }
  }

  private settingsOf(callId: string): StoredCallSettings | undefined {
    const k = callId.toLowerCase();
    let s = this.cache.get(k);
    if (s === undefined) {
      s = this.o.settings(callId) ?? null;
      this.cache.set(k, s);
    }
    return s ?? undefined;
  }

  private map(e: LiveEvent): void {
    switch (e.type) {
      case 'call.state': {
        this.publish(e.callId, 'call.state', { state: e.state, previous: e.previous, reason: e.reason ?? null, at: e.at });
        if (e.state === 'inLobby' || e.previous === 'inLobby') this.publish(e.callId, 'call.lobby', { bot: e.state === 'inLobby' ? 'waiting' : 'admitted', waiting: this.waiting(e.callId), at: e.at });
        if (e.state === 'terminated') {
          this.rosters.delete(e.callId.toLowerCase());
          this.cache.delete(e.callId.toLowerCase());
        }
        return;
      }
      case 'call.roster':
        return this.roster(e.callId, e.participants, e.at);
      case 'transcript.final':
      case 'transcript.partial': {
        if (e.type === 'transcript.partial' && this.settingsOf(e.callId)?.partialTranscripts !== true) return;
        this.publish(e.callId, e.type, {
          sourceId: e.sourceId,
          speaker: this.speaker(e.callId, e.sourceId),
          text: e.text,
          startMs: e.startMs,
          endMs: e.endMs,
          ...(e.confidence !== undefined ? { confidence: e.confidence } : {}),
        });
        return;
      }
      case 'call.artifacts': {
        this.publish(e.callId, 'artifacts.written', { files: e.files, at: e.at });
        const recordings = this.o.recordings?.(e.callId) ?? [];
        if (recordings.length > 0 && this.o.recordingReadyAfterUpload !== true) {
          const base = `/v1/calls/${encodeURIComponent(e.callId)}/recordings/`;
          this.publish(e.callId, 'recording.ready', { recordings: recordings.map((r) => ({ ...r, url: base + encodeURIComponent(r.file) })), at: e.at });
        }
        return;
      }
      case 'call.meetingArtifacts':
        this.publish(e.callId, 'meeting_artifacts.stored', { meetingId: e.meetingId, files: e.files, attendanceRecords: e.attendanceRecords, url: `/v1/calls/${encodeURIComponent(e.callId)}/meeting-artifacts`, at: e.at });
        return;
      default:
        return;
    }
  }

  /** The speaker's name when known; a call the service no longer lists has none (the line is still sent). */
  private speaker(callId: string, sourceId: string): string | null {
    try {
      return this.o.speakerName?.(callId, sourceId) ?? null;
    } catch {
      return null;
    }
  }

  private waiting(callId: string): Array<{ id: string; displayName: string | null }> {
    return [...(this.rosters.get(callId.toLowerCase())?.values() ?? [])].filter((p) => p.inLobby).map((p) => ({ id: p.id, displayName: p.displayName }));
  }

  /** Joined, left and lobby changes, from the difference with the roster seen last. */
  private roster(callId: string, participants: Array<{ id: string; displayName: string | null; inLobby?: boolean }>, at: string): void {
    const k = callId.toLowerCase();
    const before = this.rosters.get(k) ?? new Map<string, RosterEntry>();
    const after = new Map<string, RosterEntry>(participants.map((p) => [p.id, { id: p.id, displayName: p.displayName, inLobby: p.inLobby === true }]));
    this.rosters.set(k, after);
    for (const p of after.values()) {
      if (!before.has(p.id)) this.publish(callId, 'participant.joined', { participant: { id: p.id, displayName: p.displayName, inLobby: p.inLobby }, at });
    }
    for (const p of before.values()) {
      if (!after.has(p.id)) this.publish(callId, 'participant.left', { participant: { id: p.id, displayName: p.displayName }, at });
    }
    const lobbyBefore = [...before.values()].filter((p) => p.inLobby).map((p) => p.id).sort().join(',');
    const lobbyAfter = [...after.values()].filter((p) => p.inLobby).map((p) => p.id).sort().join(',');
    if (lobbyBefore !== lobbyAfter) this.publish(callId, 'call.lobby', { bot: null, waiting: this.waiting(callId), at });
  }
}
