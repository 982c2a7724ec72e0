/**
 * The storage service: queues a call's files when its artifacts are written, uploads them
 * (Uploader), signs download URLs, deletes a call's objects. With local storage it does nothing
 * and every query answers "nothing uploaded".
 */
import type { Logger } from '../logger.js';
import type { StorageUploadStore, UploadRow } from '../store/storage-uploads.js';
import type { Registry } from 'prom-client';
import type { MediabotStorage, SignedUrl, StorageUpload, StoredRecording } from './api.js';
import { artifactKey, callKeyPrefix, contentTypeOf, recordingKey } from './keys.js';
import type { ObjectStorage } from './object-storage.js';
import { Uploader, waitForCall, type RetryPolicy } from './uploader.js';
import { basename } from 'node:path';

export interface CallFiles {
  callId: string;
  /** Absolute paths of the call's output files (call.json, transcript, analytics…). */
  files: readonly string[];
  recordings: ReadonlyArray<{ entry: StoredRecording; path: string }>;
}

/** An uploaded recording with its signed URL. */
export type UploadedRecording = StoredRecording & SignedUrl;

export interface StorageServiceOptions {
  store: StorageUploadStore;
  /** null: local storage. */
  storage: ObjectStorage | null;
  /** Key prefix (no slashes at the ends). */
  prefix: string;
  keepLocal: boolean;
  urlTtlS: number;
  /** What `location` says for local storage (the data folder). */
  localLocation: string;
  retry?: Partial<RetryPolicy>;
  registry?: Registry;
  /** A call's uploads settled: its uploaded recordings with signed URLs, and the names of those not uploaded. */
  onRecordingsSettled?: (callId: string, uploaded: UploadedRecording[], notUploaded: StoredRecording[]) => void;
  logger: Logger;
}

const DEFAULT_WAIT_MS = 5 * 60_000;

export class StorageService implements MediabotStorage {
  readonly kind: MediabotStorage['kind'];
  readonly location: string;
  private readonly uploader: Uploader | null;

  constructor(private readonly o: StorageServiceOptions) {
    this.kind = o.storage?.kind ?? 'local';
    this.location = o.storage?.location ?? o.localLocation;
    this.uploader =
      o.storage === null
        ? null
        : new Uploader({
            store: o.store,
            storage: o.storage,
            keepLocal: o.keepLocal,
            ...(o.retry !== undefined ? { retry: o.retry } : {}),
            ...(o.registry !== undefined ? { registry: o.registry } : {}),
            logger: o.logger,
            onCallSettled: (callId, rows) => this.announce(callId, rows),
          });
  }

  /** True when files go to an object storage (recording.ready then waits for the uploads). */
  get remote(): boolean {
    return this.uploader !== null;
  }

  start(): void {
    this.uploader?.start();
  }

  async stop(): Promise<void> {
    await this.uploader?.stop();
    await this.o.storage?.close();
  }

  /** Queues a call's files (no-op for local storage). */
  enqueueCall(c: CallFiles): UploadRow[] {
    if (!this.uploader) return [];
    return this.uploader.enqueue([
      ...c.files.map((path) => ({ callId: c.callId, kind: 'artifact' as const, file: basename(path), localPath: path, key: artifactKey(this.o.prefix, c.callId, basename(path)), contentType: contentTypeOf(path), meta: null })),
      ...c.recordings.map((r) => ({
        callId: c.callId,
        kind: 'recording' as const,
        file: r.entry.file,
        localPath: r.path,
        key: recordingKey(this.o.prefix, c.callId, r.entry.file),
        contentType: contentTypeOf(r.entry.file),
        meta: { ...r.entry } as Record<string, unknown>,
      })),
    ]);
  }

  uploads(filter: { callId?: string; status?: StorageUpload['status']; limit?: number } = {}): StorageUpload[] {
    if (!this.uploader) return [];
    return this.o.store.list(filter).map(publicRow);
  }

  whenUploaded(callId: string, timeoutMs = DEFAULT_WAIT_MS): Promise<StorageUpload[]> {
    if (!this.uploader) return Promise.resolve([]);
    return waitForCall(
      this.uploader,
      callId,
      () => {
        const rows = this.o.store.ofCall(callId);
        const settled = rows.length > 0 && rows.every((r) => r.status === 'done' || r.status === 'failed') && !this.uploader!.busy(callId);
        return settled ? rows.map(publicRow) : undefined;
      },
      timeoutMs,
    );
  }

  /** `kind` narrows to recordings or to the call's other files (their names never collide today, but may). */
  async downloadUrl(callId: string, file: string, kind?: UploadRow['kind']): Promise<SignedUrl | null> {
    if (!this.o.storage) return null;
    const row = this.o.store.ofCall(callId).find((r) => r.file === file && r.status === 'done' && (kind === undefined || r.kind === kind));
    return row === undefined ? null : this.sign(row.key);
  }

  /** The call's uploaded recordings with signed URLs (for the recordings API). */
  async recordings(callId: string): Promise<UploadedRecording[]> {
    if (!this.o.storage) return [];
    const rows = this.o.store.ofCall(callId).filter((r) => r.kind === 'recording' && r.status === 'done');
    return Promise.all(rows.map(async (r) => ({ ...recordingEntry(r), ...(await this.sign(r.key)) })));
  }

  async deleteCall(callId: string): Promise<string[]> {
    if (!this.o.storage || !this.uploader) return [];
    // Keys keep the call id's case as it was queued; the id given may differ in case only.
    const prefixes = new Set([callId, ...this.o.store.ofCall(callId).map((r) => r.callId)].map((id) => callKeyPrefix(this.o.prefix, id)));
    // Rows first, so nothing new starts for the call; then what is in flight ends before the objects go.
    const forgotten = this.o.store.forgetCall(callId);
    await this.uploader.settleInFlight(callId);
    const keys: string[] = [];
    for (const p of prefixes) keys.push(...(await this.o.storage.deletePrefix(p)));
    this.o.logger.info({ callId, objects: keys.length, uploads: forgotten }, 'call objects deleted from storage');
    return keys;
  }

  private async sign(key: string): Promise<SignedUrl> {
    const expiresAt = new Date(Date.now() + this.o.urlTtlS * 1000).toISOString();
    return { url: await this.o.storage!.signedUrl(key, this.o.urlTtlS), expiresAt };
  }

  private async announce(callId: string, rows: UploadRow[]): Promise<void> {
    const recordings = rows.filter((r) => r.kind === 'recording');
    if (recordings.length === 0 || !this.o.onRecordingsSettled) return;
    const uploaded = await Promise.all(recordings.filter((r) => r.status === 'done').map(async (r) => ({ ...recordingEntry(r), ...(await this.sign(r.key)) })));
    this.o.onRecordingsSettled(callId, uploaded, recordings.filter((r) => r.status !== 'done').map(recordingEntry));
  }
}

function recordingEntry(r: UploadRow): StoredRecording {
  const m = r.meta ?? {};
  return {
    file: r.file,
    sourceId: typeof m['sourceId'] === 'string' ? m['sourceId'] : '',
    speaker: typeof m['speaker'] === 'string' ? m['speaker'] : null,
    format: m['format'] === 'wav' ? 'wav' : 'ogg',
    bytes: r.bytes ?? (typeof m['bytes'] === 'number' ? m['bytes'] : 0),
  };
}

const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());

function publicRow(r: UploadRow): StorageUpload {
  return {
    id: r.id,
    callId: r.callId,
    kind: r.kind,
    file: r.file,
    key: r.key,
    status: r.status,
    attempts: r.attempts,
    nextAttemptAt: r.status === 'pending' ? iso(r.nextAttemptAt) : null,
    lastError: r.lastError,
    bytes: r.bytes,
    md5: r.md5,
    createdAt: new Date(r.createdAt).toISOString(),
    uploadedAt: iso(r.uploadedAt),
    localPath: r.localPath,
    localRemoved: r.localRemoved,
  };
}
