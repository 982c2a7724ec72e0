/**
 * One interface over the object stores call artifacts go to (Azure Blob Storage, S3 and
 * S3-compatible servers). Implementations are loaded on demand (open.ts), so a mediabot that keeps
 * everything local never loads a storage SDK.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { MediabotError } from '../errors.js';

export interface StoredObject {
  key: string;
  bytes: number;
}

/** What a verified upload stored: its size and MD5 (hex), as the server reports them. */
export interface PutResult {
  bytes: number;
  md5: string;
}

export interface ObjectStorage {
  readonly kind: 'azure' | 's3';
  /** Where objects go, for logs and docs (no secrets): `azure-blob://container/prefix`, `s3://bucket/prefix`. */
  readonly location: string;
  /**
   * Uploads a local file to `key` and checks the stored object against it (size and MD5, which
   * the server also checks on receipt); MEDIABOT_STORAGE_MISMATCH when they differ.
   */
  put(key: string, file: string, contentType: string): Promise<PutResult>;
  /** The stored object's size and MD5 (hex) when it exists, else null. */
  head(key: string): Promise<PutResult | null>;
  /** A GET URL for `key` valid for `ttlS` seconds. */
  signedUrl(key: string, ttlS: number): Promise<string>;
  /** Every object under a key prefix. */
  list(prefix: string): Promise<StoredObject[]>;
  /** Deletes every object under a key prefix; returns the keys deleted. */
  deletePrefix(prefix: string): Promise<string[]>;
  close(): Promise<void>;
}

/** Size and MD5 of a local file, read once as a stream. */
export async function fileDigest(file: string): Promise<PutResult> {
  const st = await stat(file);
  const hash = createHash('md5');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return { bytes: st.size, md5: hash.digest('hex') };
}

export function checkStored(key: string, local: PutResult, stored: PutResult | null): PutResult {
  if (stored === null) throw new MediabotError('MEDIABOT_STORAGE_MISMATCH', `${key} is not in storage after its upload`);
  if (stored.bytes !== local.bytes || stored.md5 !== local.md5) {
    throw new MediabotError('MEDIABOT_STORAGE_MISMATCH', `${key} in storage (${stored.bytes} bytes, md5 ${stored.md5}) differs from the local file (${local.bytes} bytes, md5 ${local.md5})`);
  }
  return stored;
}

/** A storage SDK error as a MediabotError with its status and code, never the request (it may carry signatures). */
export function storageError(what: string, err: unknown): MediabotError {
  if (err instanceof MediabotError) return err;
  const e = err as { name?: unknown; code?: unknown; statusCode?: unknown; $metadata?: { httpStatusCode?: unknown }; message?: unknown };
  const status = typeof e.statusCode === 'number' ? e.statusCode : typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  const code = typeof e.code === 'string' ? e.code : typeof e.name === 'string' ? e.name : 'Error';
  const message = typeof e.message === 'string' ? e.message.split('\n')[0]!.replace(/(sig|Signature|X-Amz-Signature|X-Amz-Credential|AccountKey)=[^&\s;]+/g, '$1=(hidden)').slice(0, 300) : '';
  return new MediabotError('MEDIABOT_STORAGE_FAILED', `${what}: ${code}${status !== undefined ? ` (HTTP ${status})` : ''}${message !== '' ? `: ${message}` : ''}`, { ...(status !== undefined ? { status } : {}), storageCode: code });
}

/** Runs one storage operation; an SDK error becomes MEDIABOT_STORAGE_FAILED naming `what`. */
export async function storageCall<T>(what: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw storageError(what, err);
  }
}

/** Deletes the listed objects one by one and returns their keys; a failure names the object. */
export async function deleteEach(objects: StoredObject[], deleteOne: (key: string) => Promise<unknown>): Promise<string[]> {
  const deleted: string[] = [];
  for (const o of objects) {
    await storageCall(`deleting ${o.key}`, () => deleteOne(o.key));
    deleted.push(o.key);
  }
  return deleted;
}
