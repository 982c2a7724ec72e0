/**
 * The history of ended calls, read from what is persisted (SQLite and `<dataDir>/calls/<id>/`), so it
 * survives a restart and the registry forgetting old calls: when and why each call ended, who talked
 * when (segments and overlaps), talk time per speaker, the transcript, recordings and files with
 * links, and its webhook deliveries. A call whose data was deleted simply is not listed; files removed
 * from disk (deleted, or moved to object storage) are shown as unavailable.
 */
import { lstat, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { MediabotError } from '../errors.js';
import type { SpeakerRef } from '../events/live.js';
import { endingFromRow, type CallEnding, type CallEndingStore, type StoredEndReason } from '../store/call-endings.js';
import type { SpeechStore, StoredRecording } from '../store/speech-store.js';
import { folderForId, isServableFile, resolveUnder } from '../util/safe-path.js';

/** A signed, expiring link to a file (made by the server's FileLinks). */
export interface SignedLink {
  url: string;
  expiresAt: string;
}

/** What the history shows of a webhook delivery (the outbox's view of it, without the payload). */
export interface DeliveryInfo {
  id: string;
  type: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

export interface HistoryQuery {
  /** At most this many (1-500, default 50). */
  limit?: number;
  /** Paging: only calls that ended before this time (the `endedAt` of the last one seen, or `next`). */
  before?: string;
}

/** One ended call in the list. */
export interface EndedCall {
  id: string;
  mediaMode: string | null;
  createdAt: string | null;
  endedAt: string;
  durationMs: number | null;
  /** The people who spoke (media sources with a name; mediabot's own prompts left out). */
  people: string[];
  endReason: StoredEndReason | null;
  talkMs: number;
  transcriptLines: number;
  recordingFiles: number;
}

export interface HistoryPage {
  calls: EndedCall[];
  /** Pass as `before` for the next page; null on the last one. */
  next: string | null;
}

export interface HistorySpeaker {
  sourceId: string;
  participantId: string | null;
  name: string;
  prompt: boolean;
  talkMs: number;
  /** Share of all talk time in the call, 0-1. */
  share: number;
}

export interface HistoryOverlap {
  startMs: number;
  endMs: number;
  sourceIds: string[];
}

export interface HistoryFile {
  name: string;
  bytes: number;
  /** Over the API (bearer token). */
  url: string;
  /** A signed, expiring link for a browser (an <audio> element, a download link). */
  link: SignedLink;
}

export interface HistoryRecording {
  file: string;
  sourceId: string | null;
  speaker: string;
  format: 'ogg' | 'wav';
  /** The call's media time of the recording's first sample: a transcript line at startMs plays at (startMs - this) / 1000 s. */
  startMediaTimeMs: number;
  bytes: number | null;
  /** False when the file is gone from this instance's disk (deleted, or moved to object storage). */
  available: boolean;
  url: string;
  link: SignedLink | null;
}

export interface HistoryDeliveries {
  total: number;
  delivered: number;
  pending: number;
  failed: number;
  items: DeliveryInfo[];
}

/** One ended call, whole: what GET /v1/history/:id answers. */
export interface CallSummaryView extends EndedCall {
  speakers: HistorySpeaker[];
  segments: Array<{ sourceId: string; startMs: number; endMs: number }>;
  overlaps: HistoryOverlap[];
  /** Media time of the last thing heard (segment or line end). */
  mediaEndMs: number;
  transcript: Array<{ sourceId: string; speaker: string; startMs: number; endMs: number; text: string; confidence?: number }>;
  recordings: HistoryRecording[];
  /** The artifact files (call.json, transcript.json/.vtt, analytics.json, timeline.json). */
  files: HistoryFile[];
  deliveries: HistoryDeliveries;
}

export type HistoryFileKind = 'files' | 'recordings';

export interface CallHistoryOptions {
  db: BetterSqlite3.Database;
  speech: SpeechStore;
  endings: CallEndingStore;
  dataDir: string;
  /** Where recordings are written; undefined when recording is off. */
  recordDir?: string | undefined;
  /** The call's webhook deliveries, newest first. */
  deliveries?: (callId: string) => DeliveryInfo[];
  /** True while the call is known and not yet terminated. */
  isLive?: (callId: string) => boolean;
  sign: (path: string) => SignedLink;
}

interface ListRow {
  call_id: string;
  first_seen: string;
  last_seen: string;
  ended: string;
  media_mode: string | null;
  created_at: string | null;
  ended_at: string | null;
  termination: string | null;
  speakers: string | null;
  talk_ms: number;
  lines: number;
  recordings: number;
}

const enc = encodeURIComponent;
const MAX_DELIVERIES = 100;

export class CallHistory {
  private readonly listStmt: BetterSqlite3.Statement;
  private readonly oneStmt: BetterSqlite3.Statement;

  constructor(private readonly o: CallHistoryOptions) {
    // Ended: an ending row (written with the artifacts), or a call the store saw terminate (e.g. before this table existed).
    const select = `SELECT c.call_id, c.created_at AS first_seen, c.updated_at AS last_seen, coalesce(e.ended_at, c.updated_at) AS ended,
        e.media_mode, e.created_at, e.ended_at, e.termination, e.speakers,
        (SELECT coalesce(sum(p.talk_ms), 0) FROM participants p WHERE p.call_id = c.call_id) AS talk_ms,
        (SELECT count(*) FROM transcript_lines t WHERE t.call_id = c.call_id) AS lines,
        (SELECT count(*) FROM recordings r WHERE r.call_id = c.call_id) AS recordings
      FROM calls c LEFT JOIN call_endings e ON e.call_id = c.call_id
      WHERE (e.call_id IS NOT NULL OR c.state = 'terminated')`;
    this.listStmt = o.db.prepare(`${select} AND coalesce(e.ended_at, c.updated_at) < @before ORDER BY ended DESC, c.call_id LIMIT @limit`);
    this.oneStmt = o.db.prepare(`${select} AND c.call_id = @callId COLLATE NOCASE`);
  }

  /** Ended calls, the most recently ended first. */
  list(q: HistoryQuery = {}): HistoryPage {
    const limit = q.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new MediabotError('MEDIABOT_BAD_REQUEST', 'limit must be an integer from 1 to 500');
    let before = '\uffff';
    if (q.before !== undefined) {
      const t = Date.parse(q.before);
      if (Number.isNaN(t)) throw new MediabotError('MEDIABOT_BAD_REQUEST', 'before must be a date-time (the endedAt of the last call seen)');
      before = new Date(t).toISOString();
    }
    this.o.speech.flush();
    const rows = this.listStmt.all({ before, limit }) as ListRow[];
    const calls = rows.map((r) => this.endedCall(r));
    return { calls, next: rows.length === limit ? (calls[calls.length - 1]?.endedAt ?? null) : null };
  }

  /** One ended call. MEDIABOT_CALL_NOT_ENDED while it is live, MEDIABOT_CALL_NOT_FOUND when nothing is stored (or it was deleted). */
  async summary(callId: string): Promise<CallSummaryView> {
    this.o.speech.flush();
    const row = this.oneStmt.get({ callId }) as ListRow | undefined;
    if (!row) {
      if (this.o.isLive?.(callId)) throw new MediabotError('MEDIABOT_CALL_NOT_ENDED', `call ${callId} has not ended yet`);
      throw new MediabotError('MEDIABOT_CALL_NOT_FOUND', `no ended call with id ${callId}`);
    }
    const id = row.call_id;
    const base = this.endedCall(row);
    const ending = this.ending(row);
    const refs = new Map(ending.speakers.map((s) => [s.sourceId, s]));
    const participants = this.o.speech.getParticipants(id);
    const names = new Map(participants.filter((p) => p.displayName !== null).map((p) => [p.sourceId, p.displayName!]));
    const nameOf = (sourceId: string): string => refs.get(sourceId)?.displayName ?? names.get(refs.get(sourceId)?.participantId ?? '') ?? names.get(sourceId) ?? sourceId;

    const segments = this.o.speech.getTalkSegments(id);
    const lines = this.o.speech.getTranscript(id);
    // Speakers: media sources (media times, talk, or named in the speaker map), in the order first heard;
    // the participants table also holds roster rows (keyed by participant id, with a display name only).
    const talkers = participants.filter((p) => p.firstMediaMs !== null || p.talkMs > 0 || refs.has(p.sourceId));
    const known = new Set(talkers.map((p) => p.sourceId));
    for (const s of ending.speakers) if (!known.has(s.sourceId)) talkers.push({ sourceId: s.sourceId, displayName: s.displayName, firstMediaMs: null, lastMediaMs: null, talkMs: 0 });
    const totalTalk = talkers.reduce((a, p) => a + p.talkMs, 0);
    const speakers: HistorySpeaker[] = talkers.map((p) => ({
        sourceId: p.sourceId,
        participantId: refs.get(p.sourceId)?.participantId ?? null,
        name: nameOf(p.sourceId),
        prompt: refs.get(p.sourceId)?.prompt ?? false,
        talkMs: p.talkMs,
        share: totalTalk > 0 ? p.talkMs / totalTalk : 0,
      }));
    const mediaEndMs = Math.max(0, ...segments.map((s) => s.endMs), ...lines.map((l) => l.endMs));
    const path = `/v1/history/${enc(id)}`;
    return {
      ...base,
      speakers,
      segments,
      overlaps: overlapsOf(segments),
      mediaEndMs,
      transcript: lines.map((l) => ({ ...l, speaker: nameOf(l.sourceId) })),
      recordings: await this.recordings(id, this.o.speech.getRecordings(id), nameOf, path),
      files: await this.files(id, path),
      deliveries: this.deliveries(id),
    };
  }

  /** The absolute path of one of a call's files or recordings as the summary lists it; MEDIABOT_NOT_FOUND otherwise. */
  filePath(callId: string, kind: HistoryFileKind, name: string): { root: string; path: string } {
    const row = this.oneStmt.get({ callId }) as ListRow | undefined;
    const notFound = new MediabotError('MEDIABOT_NOT_FOUND', `no ${kind === 'files' ? 'file' : 'recording'} ${name} for call ${callId}`);
    if (!row) throw notFound;
    if (kind === 'files') {
      const root = join(this.o.dataDir, 'calls');
      return { root, path: resolveUnder(folderForId(root, row.call_id), name) };
    }
    const rec = this.o.recordDir === undefined ? undefined : this.o.speech.getRecordings(row.call_id).find((r) => basename(r.path) === name);
    if (!rec || this.o.recordDir === undefined) throw notFound;
    return { root: this.o.recordDir, path: rec.path };
  }

  private ending(r: ListRow): CallEnding {
    if (r.ended_at !== null) return endingFromRow({ call_id: r.call_id, media_mode: r.media_mode, created_at: r.created_at, ended_at: r.ended_at, termination: r.termination, speakers: r.speakers ?? '[]' });
    return { callId: r.call_id, mediaMode: null, createdAt: r.first_seen, endedAt: r.last_seen, termination: null, speakers: [] };
  }

  private endedCall(r: ListRow): EndedCall {
    const e = this.ending(r);
    const created = e.createdAt === null ? NaN : Date.parse(e.createdAt);
    const people = e.speakers.filter((s: SpeakerRef) => !s.prompt && s.displayName !== null).map((s) => s.displayName!);
    return {
      id: r.call_id,
      mediaMode: e.mediaMode,
      createdAt: e.createdAt,
      endedAt: e.endedAt,
      durationMs: Number.isNaN(created) ? null : Math.max(0, Date.parse(e.endedAt) - created),
      people: [...new Set(people)],
      endReason: e.termination,
      talkMs: r.talk_ms,
      transcriptLines: r.lines,
      recordingFiles: r.recordings,
    };
  }

  private async recordings(callId: string, stored: StoredRecording[], nameOf: (sourceId: string) => string, path: string): Promise<HistoryRecording[]> {
    const out: HistoryRecording[] = [];
    for (const r of stored) {
      const file = basename(r.path);
      const available = this.o.recordDir !== undefined && (await isServableFile(this.o.recordDir, r.path));
      const bytes = available ? ((await lstat(r.path).catch(() => null))?.size ?? r.bytes) : r.bytes;
      const url = `${path}/recordings/${enc(file)}`;
      out.push({
        file,
        sourceId: r.sourceId,
        speaker: r.sourceId === null ? 'mix' : nameOf(r.sourceId),
        format: r.format,
        startMediaTimeMs: r.startMediaTimeMs,
        bytes,
        available,
        url,
        link: available ? this.o.sign(`/files/history/${enc(callId)}/recordings/${enc(file)}`) : null,
      });
    }
    return out;
  }

  private async files(callId: string, path: string): Promise<HistoryFile[]> {
    let dir: string;
    try {
      dir = folderForId(join(this.o.dataDir, 'calls'), callId);
    } catch {
      return [];
    }
    const out: HistoryFile[] = [];
    for (const name of (await readdir(dir).catch(() => [] as string[])).sort()) {
      const st = await lstat(join(dir, name)).catch(() => null);
      if (!st?.isFile()) continue;
      out.push({ name, bytes: st.size, url: `${path}/files/${enc(name)}`, link: this.o.sign(`/files/history/${enc(callId)}/files/${enc(name)}`) });
    }
    return out;
  }

  private deliveries(callId: string): HistoryDeliveries {
    const all = this.o.deliveries?.(callId) ?? [];
    const count = (s: string): number => all.filter((d) => d.status === s).length;
    return {
      total: all.length,
      delivered: count('delivered'),
      pending: count('pending'),
      failed: count('failed'),
      items: all.slice(0, MAX_DELIVERIES).map((d) => ({ id: d.id, type: d.type, status: d.status, attempts: d.attempts, lastStatus: d.lastStatus, lastError: d.lastError, createdAt: d.createdAt, deliveredAt: d.deliveredAt })),
    };
  }
}

/** Where two or more speakers talk at once: a sweep over segment starts and ends. */
export function overlapsOf(segments: ReadonlyArray<{ sourceId: string; startMs: number; endMs: number }>): HistoryOverlap[] {
  const points: Array<{ at: number; delta: 1 | -1; sourceId: string }> = [];
  for (const s of segments) {
    if (s.endMs <= s.startMs) continue;
    points.push({ at: s.startMs, delta: 1, sourceId: s.sourceId }, { at: s.endMs, delta: -1, sourceId: s.sourceId });
  }
  // Ends before starts at the same instant: touching segments do not overlap.
  points.sort((a, b) => a.at - b.at || a.delta - b.delta);
  const active = new Map<string, number>();
  const out: HistoryOverlap[] = [];
  let openAt: number | null = null;
  let during = new Set<string>();
  for (const p of points) {
    if (openAt !== null && p.at > openAt) {
      const last = out[out.length - 1];
      const ids = [...during].sort();
      if (last && last.endMs === openAt && last.sourceIds.join() === ids.join()) last.endMs = p.at;
      else out.push({ startMs: openAt, endMs: p.at, sourceIds: ids });
    }
    active.set(p.sourceId, (active.get(p.sourceId) ?? 0) + p.delta);
    if (active.get(p.sourceId) === 0) active.delete(p.sourceId);
    openAt = active.size >= 2 ? p.at : null;
    during = new Set(active.keys());
  }
  return out;
}
