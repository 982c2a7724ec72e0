/**
 * A call's recordings as the API lists them, over HTTP and in code: the local files the download
 * route would serve (regular files inside the recordings folder, no symlinks), and, with object
 * storage, the uploaded ones with a signed time-limited `url`, listed even once their local copy is gone.
 */
import { dirname } from 'node:path';
import { isServableFile } from '../util/safe-path.js';
import type { RecordingEntry } from './types.js';

/** A recording; `url` and `expiresAt` once it was uploaded to object storage. */
export type ListedRecording = RecordingEntry & { url?: string; expiresAt?: string };

/** Uploaded recordings of a call with their signed URLs (the object storage service). */
export interface UploadedRecordings {
  recordings(callId: string): Promise<Array<RecordingEntry & { url: string; expiresAt: string }>>;
}

export interface LocalRecordings {
  recordings(callId: string): Promise<RecordingEntry[]>;
  recordingPath(callId: string, file: string): Promise<string>;
}

/** `recordingsRoot`: files are listed only from inside it (default: two levels above each file, <root>/<call>/<file>). */
export function recordingLister(local: LocalRecordings, recordingsRoot: string | undefined, uploaded?: UploadedRecordings): (callId: string) => Promise<ListedRecording[]> {
  return async (callId) => {
    const listed: ListedRecording[] = [];
    for (const r of await local.recordings(callId)) {
      const path = await local.recordingPath(callId, r.file).catch(() => null);
      if (path !== null && (await isServableFile(recordingsRoot ?? dirname(dirname(path)), path))) listed.push(r);
    }
    if (!uploaded) return listed;
    const up = new Map((await uploaded.recordings(callId)).map((r) => [r.file, r]));
    const merged = [...listed.map((r) => up.get(r.file) ?? r), ...[...up.values()].filter((u) => !listed.some((r) => r.file === u.file))];
    return merged.sort((a, b) => a.file.localeCompare(b.file));
  };
}
