/**
 * Wiring of the object storage for the composition root (src/app/mediabot.ts): opens the
 * configured storage (its SDK loaded only then), queues each call's files when its artifacts are
 * written, and, when files go to an object storage, publishes `recording.ready` once the uploads
 * settled, with signed time-limited URLs.
 */
import type { Registry } from 'prom-client';
import type { MediabotConfig } from '../config/config.js';
import type { CallService } from '../calls/service.js';
import type { StoredRecording } from '../storage/api.js';
import type { Logger } from '../logger.js';
import type { Database } from '../store/db.js';
import { StorageUploadStore } from '../store/storage-uploads.js';
import { openObjectStorage } from '../storage/open.js';
import { StorageService, type UploadedRecording } from '../storage/service.js';
import type { RetryPolicy } from '../storage/uploader.js';

export interface ComposeStorageOptions {
  cfg: MediabotConfig;
  db: Database;
  registry: Registry;
  logger: Logger;
  retry?: Partial<RetryPolicy>;
  /** Publishes a webhook of a call (recording.ready once uploaded); bound late, webhooks are composed after. */
  publish: (callId: string, recordings: Array<Record<string, unknown>>) => void;
}

export async function composeStorage(o: ComposeStorageOptions): Promise<StorageService> {
  const target = o.cfg.storage.target;
  const log = o.logger.child({ component: 'storage' });
  const storage = await openObjectStorage(target, log);
  if (storage) log.info({ location: storage.location, keepLocal: o.cfg.storage.keepLocal }, 'call artifacts are uploaded to object storage');
  return new StorageService({
    store: new StorageUploadStore(o.db),
    storage,
    prefix: target.kind === 'local' ? '' : target.prefix,
    keepLocal: o.cfg.storage.keepLocal,
    urlTtlS: o.cfg.storage.urlTtlS,
    localLocation: o.cfg.dataDir,
    registry: o.registry,
    ...(o.retry !== undefined ? { retry: o.retry } : {}),
    logger: log,
    onRecordingsSettled: (callId, uploaded, notUploaded) => o.publish(callId, recordingReadyList(callId, uploaded, notUploaded)),
  });
}

/** Uploaded recordings with their signed URLs; any not uploaded (given up) with the worker's own route. */
function recordingReadyList(callId: string, uploaded: UploadedRecording[], notUploaded: StoredRecording[]): Array<Record<string, unknown>> {
  const base = `/v1/calls/${encodeURIComponent(callId)}/recordings/`;
  return [...uploaded.map((r) => ({ ...r, stored: true })), ...notUploaded.map((r) => ({ ...r, url: base + encodeURIComponent(r.file), expiresAt: null, stored: false }))].sort((a, b) => String(a.file).localeCompare(String(b.file)));
}

/** Queues a call's files for upload when its artifacts are written. */
export function uploadArtifactsOf(service: CallService, storage: StorageService, log: Logger): void {
  if (!storage.remote) return;
  service.onWorkerEvent((e) => {
    if (e.type !== 'call.artifacts') return;
    const artifacts = service.artifacts(e.callId);
    void (async () => {
      const recordings = [];
      for (const entry of artifacts?.recordings ?? []) {
        const path = await service.recordingPath(e.callId, entry.file).catch(() => null);
        if (path !== null) recordings.push({ entry, path });
      }
      storage.enqueueCall({ callId: e.callId, files: e.files, recordings });
    })().catch((err: unknown) => log.warn({ err, callId: e.callId }, 'queuing the call files for storage failed'));
  });
}
