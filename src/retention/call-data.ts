/**
 * Deleting one call's data everywhere mediabot keeps it: the call's folder
 * (`<dataDir>/calls/<callId>/`: call.json, transcript, analytics, timeline, Teams' artifacts), its
 * recordings (`<dataDir>/recordings/<mediaId>/`) and a leftover scratch folder, its SQLite rows
 * (speech store, per-call settings and requests, webhook messages whose bodies carry its
 * transcript), its objects in object storage, and what memory holds of it. The deletion is logged
 * with counts only (deletion-log.ts), then announced (`data.deleted`).
 *
 * A call still live, or whose artifacts are still being written, is refused (MEDIABOT_CALL_ACTIVE).
 * Deletions of one call run one at a time. Deleting again once nothing is left answers the last
 * record (`alreadyDeleted: true`); a call that never had anything stored is MEDIABOT_CALL_NOT_FOUND.
 */
import { lstat, readdir } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { MediabotError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { CallSettingsStore } from '../store/call-settings.js';
import { checkpointAndTruncate, type Database } from '../store/db.js';
import type { SpeechStore } from '../store/speech-store.js';
import type { WebhookOutbox } from '../store/webhook-outbox.js';
import { folderForId, isPlainSegment, openRegularFileUnder, resolveUnder } from '../util/safe-path.js';
import type { DeletedCounts, DeletionLog, DeletionReason, DeletionRecord } from './deletion-log.js';
import { emptyTally, removeFolderUnder, type RemovalTally } from './remove-tree.js';

/** Object storage, as far as deletion needs it: removes the call's objects, returns their keys. */
export interface RemoteCallStore {
  deleteCall(callId: string): Promise<string[]>;
}

/** Another store with rows of calls (a feature's own table): deletes one call's rows, returns the count per table. */
export interface CallRowsStore {
  deleteCall(callId: string): Record<string, number>;
}

/** What the live side (the call service) knows of a call. */
export interface LiveCallsPort {
  /** `live` while the call is up, `writing` while its artifacts are being written, else null. */
  activity(callId: string): 'live' | 'writing' | null;
  /** The media ids memory knows for the call (they name its recordings folders). */
  mediaIds(callId: string): string[];
  /** Stops work on the call (a fetch of Teams' artifacts) and drops what memory holds of it; true when it held something. */
  forget(callId: string): Promise<boolean>;
}

export interface CallDataOptions {
  dataDir: string;
  /** The database the stores live in: its write-ahead log is emptied after a deletion. */
  db: Database;
  speech: SpeechStore;
  settings: CallSettingsStore;
  outbox: WebhookOutbox;
  log: DeletionLog;
  calls: LiveCallsPort;
  /** Object storage, when configured. */
  remote?: RemoteCallStore;
  /** More tables with rows of calls, deleted in the same step as the stores above. */
  moreRows?: readonly CallRowsStore[];
  /** After a deletion was logged (complete or not): the call's own webhook URL, read before its settings were deleted. */
  onDeleted?: (record: DeletionRecord, call: { webhookUrl: string | null }) => void;
  now?: () => Date;
  logger: Logger;
}

/** A deletion's answer: the logged record, and whether it is an earlier one (nothing was left to delete). */
export type DeletionResult = DeletionRecord & { alreadyDeleted: boolean };

const key = (id: string): string => id.toLowerCase();

/** Checks a caller-given call id (MEDIABOT_BAD_REQUEST): 1-200 characters, no control characters, not `.` or `..`. */
export function checkCallId(callId: unknown): string {
  if (typeof callId !== 'string' || callId.length === 0 || callId.length > 200 || /[\x00-\x1f\x7f]/.test(callId) || callId === '.' || callId === '..') {
    throw new MediabotError('MEDIABOT_BAD_REQUEST', 'a call id is 1-200 characters without control characters, and not . or ..');
  }
  return callId;
}

export class CallDataDeleter {
  private readonly running = new Map<string, Promise<DeletionResult>>();
  private readonly now: () => Date;
  readonly callsDir: string;
  readonly recordingsDir: string;
  readonly scratchDir: string;

  constructor(private readonly o: CallDataOptions) {
    this.now = o.now ?? (() => new Date());
    this.callsDir = join(o.dataDir, 'calls');
    this.recordingsDir = join(o.dataDir, 'recordings');
    this.scratchDir = join(o.dataDir, 'tmp', 'media');
  }

  /** Deletes the call's data; one deletion per call at a time (a second waits, then finds what is left). */
  delete(callId: string, reason: DeletionReason): Promise<DeletionResult> {
    let id: string;
    try {
      id = checkCallId(callId);
    } catch (err) {
      return Promise.reject(err);
    }
    const k = key(id);
    const before = this.running.get(k) ?? Promise.resolve(null);
    const next = before
      .catch(() => null)
      .then(() => this.deleteNow(id, reason))
      .finally(() => {
        if (this.running.get(k) === next) this.running.delete(k);
      });
    this.running.set(k, next);
    return next;
  }

  /** The deletion log, newest first. */
  deletions(filter: Parameters<DeletionLog['list']>[0] = {}): DeletionRecord[] {
    return this.o.log.list(filter);
  }

  private async deleteNow(callId: string, reason: DeletionReason): Promise<DeletionResult> {
    const activity = this.o.calls.activity(callId);
    if (activity === 'live') throw new MediabotError('MEDIABOT_CALL_ACTIVE', `call ${callId} is live: hang it up first, its data is deleted once it ended`);
    if (activity === 'writing') throw new MediabotError('MEDIABOT_CALL_ACTIVE', `call ${callId} has ended and its artifacts are being written: try again in a few seconds`);

    const webhookUrl = this.o.settings.settings(callId)?.webhookUrl ?? null;
    const mediaIds = new Set(this.o.calls.mediaIds(callId));
    const failed: string[] = [];
    const tally = emptyTally();
    let folders = 0;

    // Memory first: a fetch of Teams' artifacts still running would write into the folder.
    const inMemory = await this.o.calls.forget(callId);

    const callFolders = await this.callFolders(callId);
    for (const folder of callFolders) for (const m of await this.mediaIdsFromCallJson(folder)) mediaIds.add(m);
    let rows: Record<string, number> = {};
    let recordingPaths: string[] = [];
    try {
      const speech = this.o.speech.deleteCall(callId);
      recordingPaths = speech.recordingPaths;
      rows = { ...speech.rows, ...this.o.settings.deleteCall(callId), webhook_outbox: this.o.outbox.deleteCall(callId) };
      for (const more of this.o.moreRows ?? []) for (const [table, n] of Object.entries(more.deleteCall(callId))) rows[table] = (rows[table] ?? 0) + n;
    } catch (err) {
      failed.push('rows');
      this.o.logger.error({ err, callId }, 'deleting the call\'s rows failed');
    }
    for (const p of recordingPaths) {
      const m = this.mediaIdOfRecording(p);
      if (m !== null) mediaIds.add(m);
    }

    try {
      for (const folder of callFolders) if (await this.removeCounted(this.callsDir, folder, tally)) folders++;
      for (const m of mediaIds) {
        for (const root of [this.recordingsDir, this.scratchDir]) {
          let folder: string;
          try {
            folder = folderForId(root, m);
          } catch {
            continue;
          }
          if (await this.removeCounted(root, folder, tally)) folders++;
        }
      }
    } catch (err) {
      failed.push('files');
      this.o.logger.error({ err: { code: (err as NodeJS.ErrnoException)?.code }, callId }, 'deleting the call\'s files failed');
    }

    let objects = 0;
    if (this.o.remote) {
      try {
        objects = (await this.o.remote.deleteCall(callId)).length;
      } catch (err) {
        failed.push('objects');
        this.o.logger.error({ err: { name: (err as Error)?.name, code: (err as { code?: unknown })?.code }, callId }, 'deleting the call\'s objects in object storage failed');
      }
    }

    const rowCount = Object.values(rows).reduce((a, n) => a + n, 0);
    if (rowCount > 0) {
      try {
        if (!checkpointAndTruncate(this.o.db)) this.o.logger.warn({ callId }, 'the database log could not be emptied yet after a deletion (a reader is busy); the next checkpoint will');
      } catch (err) {
        this.o.logger.warn({ err, callId }, 'checkpointing the database after a deletion failed');
      }
    }
    if (failed.length === 0 && !inMemory && folders === 0 && tally.files === 0 && rowCount === 0 && objects === 0) {
      const earlier = this.o.log.latest(callId);
      if (earlier) return { ...earlier, alreadyDeleted: true };
      throw new MediabotError('MEDIABOT_CALL_NOT_FOUND', `no data is stored for call ${callId}`);
    }

    const deleted: DeletedCounts = { files: tally.files, bytes: tally.bytes, fileKinds: tally.fileKinds, rows, objects, inMemory };
    const record = this.o.log.add({ callId, reason, at: this.now().toISOString(), complete: failed.length === 0, failed, deleted });
    this.o.logger.info({ callId, reason, deletionId: record.id, files: tally.files, bytes: tally.bytes, rows: rowCount, objects, complete: record.complete }, 'call data deleted');
    try {
      this.o.onDeleted?.(record, { webhookUrl });
    } catch (err) {
      this.o.logger.warn({ err, callId }, 'announcing a deletion failed');
    }
    if (failed.length > 0) {
      throw new MediabotError('MEDIABOT_DELETION_INCOMPLETE', `deleting the data of call ${callId} failed for: ${failed.join(', ')}; deletion ${record.id} logged what was removed; repeat the request to remove the rest`, { deletionId: record.id });
    }
    return { ...record, alreadyDeleted: false };
  }

  private async removeCounted(root: string, folder: string, tally: RemovalTally): Promise<boolean> {
    const before = tally.files;
    const existed = await exists(folder);
    const ok = await removeFolderUnder(root, folder, tally);
    if (!ok) this.o.logger.warn('a call folder outside its root was not removed');
    return ok && (existed || tally.files > before);
  }

  /** The call's folders under `<dataDir>/calls`: its own name, and any spelt in another case (Graph ids are case-insensitive). */
  private async callFolders(callId: string): Promise<string[]> {
    const own = folderForId(this.callsDir, callId);
    const wanted = key(relative(this.callsDir, own));
    const names = await readdir(this.callsDir).catch(() => [] as string[]);
    return names.filter((n) => key(n) === wanted && isPlainSegment(n)).map((n) => resolveUnder(this.callsDir, n));
  }

  /** Media ids named by the recordings listed in the call's call.json (a restart forgets the in-memory ones). */
  private async mediaIdsFromCallJson(folder: string): Promise<string[]> {
    const doc = await readCallJson(this.callsDir, folder);
    const out: string[] = [];
    for (const r of doc?.recordings ?? []) {
      const m = typeof r?.path === 'string' ? this.mediaIdOfRecording(r.path) : null;
      if (m !== null) out.push(m);
    }
    return out;
  }

  /** The media id of a recording path: the folder directly under the recordings folder, else null. */
  private mediaIdOfRecording(path: string): string | null {
    const rel = relative(resolve(this.recordingsDir), resolve(dirname(path)));
    if (rel === '' || rel.startsWith('..') || rel.includes(sep) || !isPlainSegment(rel)) return null;
    return rel;
  }

  /**
   * Calls whose data has not changed since before `cutoff` and that are neither live nor being
   * written: what the retention sweep deletes. Looks at every place a call leaves data.
   */
  async staleCalls(cutoff: Date): Promise<string[]> {
    const cutoffMs = cutoff.getTime();
    const seen = new Map<string, string>();
    const add = (id: string): void => {
      if (!seen.has(key(id))) seen.set(key(id), id);
    };
    for (const c of this.o.speech.callsUpdatedBefore(cutoff.toISOString())) add(c.callId);
    for (const c of this.o.settings.callsCreatedBefore(cutoffMs)) add(c.callId);
    for (const c of this.o.outbox.callsIdleBefore(cutoffMs)) add(c.callId);
    const folderEnds = new Map<string, number>();
    for (const name of await readdir(this.callsDir).catch(() => [] as string[])) {
      if (!isPlainSegment(name)) continue;
      const folder = resolveUnder(this.callsDir, name);
      const doc = await readCallJson(this.callsDir, folder);
      const id = typeof doc?.callId === 'string' && doc.callId !== '' ? doc.callId : name;
      const ended = typeof doc?.endedAt === 'string' ? Date.parse(doc.endedAt) : NaN;
      if (Number.isFinite(ended)) folderEnds.set(key(id), Math.max(folderEnds.get(key(id)) ?? 0, ended));
      if (Number.isFinite(ended) && ended < cutoffMs) add(id);
    }
    const out: string[] = [];
    for (const id of seen.values()) {
      if (this.o.calls.activity(id) !== null) continue;
      // The newest trace of the call anywhere must be older than the cutoff.
      const updated = this.o.speech.callUpdatedAt(id);
      const last = Math.max(updated === null ? 0 : Date.parse(updated), this.o.outbox.callLastAt(id) ?? 0, folderEnds.get(key(id)) ?? 0);
      if (last < cutoffMs) out.push(id);
    }
    return out;
  }
}

const exists = (path: string): Promise<boolean> =>
  lstat(path).then(
    () => true,
    () => false,
  );

interface CallJsonDoc {
  callId?: unknown;
  endedAt?: unknown;
  recordings?: Array<{ path?: unknown } | null>;
}

/** A call folder's call.json (a regular file inside the calls folder, not through a symlink), or null. */
async function readCallJson(callsDir: string, folder: string): Promise<CallJsonDoc | null> {
  const opened = await openRegularFileUnder(callsDir, join(folder, 'call.json')).catch(() => null);
  if (opened === null) return null;
  try {
    const doc = JSON.parse(await opened.handle.readFile({ encoding: 'utf8' })) as unknown;
    return doc !== null && typeof doc === 'object' ? (doc as CallJsonDoc) : null;
  } catch {
    return null;
  } finally {
    await opened.handle.close().catch(() => undefined);
  }
}
