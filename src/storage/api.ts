/** `Mediabot.storage`: where a call's artifacts go after the call (MEDIABOT_STORAGE_URL; docs/storage.md). */
import type { UploadKind, UploadStatus } from '../store/storage-uploads.js';

export type { UploadKind, UploadStatus } from '../store/storage-uploads.js';

/** One file of a call queued for (or uploaded to) the object storage. */
export interface StorageUpload {
  id: number;
  callId: string;
  kind: UploadKind;
  file: string;
  /** The object's key: `<prefix>/calls/<callId>/<file>`, recordings under `recordings/`. */
  key: string;
  status: UploadStatus;
  attempts: number;
  /** When the next attempt is due (ISO), while pending. */
  nextAttemptAt: string | null;
  lastError: string | null;
  /** Size and MD5 (hex) of the stored object, once uploaded and checked. */
  bytes: number | null;
  md5: string | null;
  createdAt: string;
  uploadedAt: string | null;
  localPath: string;
  /** True once the local copy was removed after the verified upload (never with MEDIABOT_STORAGE_KEEP_LOCAL=true). */
  localRemoved: boolean;
}

/** A recording as the recordings API lists it (the call service's RecordingEntry). */
export interface StoredRecording {
  file: string;
  sourceId: string;
  speaker: string | null;
  format: 'ogg' | 'wav';
  bytes: number;
}

/** A time-limited download URL. */
export interface SignedUrl {
  url: string;
  expiresAt: string;
}

export interface MediabotStorage {
  /** `local`: files stay in the data folder (the default); else the object storage in use. */
  readonly kind: 'local' | 'azure' | 's3';
  /** Where files go, without secrets: the data folder's path, `azure-blob://container/prefix` or `s3://bucket/prefix`. */
  readonly location: string;
  /** Uploads, newest first (none with local storage); filter by call and status. */
  uploads(filter?: { callId?: string; status?: UploadStatus; limit?: number }): StorageUpload[];
  /**
   * Resolves with the call's uploads once none is pending or in flight (each `done`, or `failed`
   * after its retries); at once with [] for local storage. MEDIABOT_OPERATION_TIMEOUT after `timeoutMs` (default 5 min).
   */
  whenUploaded(callId: string, timeoutMs?: number): Promise<StorageUpload[]>;
  /** The call's uploaded recordings, each with a fresh signed `url` and its `expiresAt` (what GET /v1/calls/:id/recordings lists for them). */
  recordings(callId: string): Promise<Array<StoredRecording & SignedUrl>>;
  /** A signed, time-limited URL for an uploaded file of a call (a recording's name, or `call.json`…), else null. */
  downloadUrl(callId: string, file: string): Promise<SignedUrl | null>;
  /** Deletes every object of the call from the storage and forgets its uploads; returns the keys deleted ([] for local storage). */
  deleteCall(callId: string): Promise<string[]>;
}
