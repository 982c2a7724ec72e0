/** ObjectStorage on S3 and S3-compatible servers (`@aws-sdk/client-s3`), loaded by open.ts only when configured. */
import { createReadStream } from 'node:fs';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { S3Target } from '../config/storage.js';
import type { Logger } from '../logger.js';
import { checkStored, deleteEach, fileDigest, storageCall, storageError, type ObjectStorage, type PutResult, type StoredObject } from './object-storage.js';

export function createS3Storage(t: S3Target, log?: Logger): ObjectStorage {
  const config: S3ClientConfig = {
    region: t.region,
    forcePathStyle: t.forcePathStyle,
    // Content-MD5 rather than the SDK's newer trailing checksums, which S3-compatible servers do not all speak.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 2,
    // A server that takes the connection and never answers must not hold an upload (and shutdown) forever.
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 120_000 },
    // The SDK's own notes (otherwise on the console) at debug: the upload queue logs each failure itself.
    logger: { debug: () => undefined, info: () => undefined, warn: (...a: unknown[]) => log?.debug({ sdk: a.map(String).join(' ') }, 's3 client'), error: (...a: unknown[]) => log?.debug({ sdk: a.map(String).join(' ') }, 's3 client') },
  };
  if (t.endpoint !== undefined) config.endpoint = t.endpoint;
  if (t.accessKeyId !== undefined && t.secretAccessKey !== undefined) config.credentials = { accessKeyId: t.accessKeyId, secretAccessKey: t.secretAccessKey };
  const client = new S3Client(config);

  const head = async (key: string): Promise<PutResult | null> => {
    try {
      const h = await client.send(new HeadObjectCommand({ Bucket: t.bucket, Key: key }));
      // A single-part upload's ETag is the MD5 of its content.
      return { bytes: h.ContentLength ?? -1, md5: (h.ETag ?? '').replace(/"/g, '').toLowerCase() };
    } catch (err) {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.$metadata?.httpStatusCode === 404 || e.name === 'NotFound' || e.name === 'NoSuchKey') return null;
      throw storageError(`reading ${key}`, err);
    }
  };

  const list = async (prefix: string): Promise<StoredObject[]> => {
    const out: StoredObject[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: t.bucket, Prefix: prefix, ...(token !== undefined ? { ContinuationToken: token } : {}) }));
        for (const o of page.Contents ?? []) if (o.Key !== undefined) out.push({ key: o.Key, bytes: o.Size ?? 0 });
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
    } catch (err) {
      throw storageError(`listing ${prefix}`, err);
    }
    return out;
  };

  return {
    kind: 's3',
    location: `s3://${t.bucket}${t.prefix !== '' ? `/${t.prefix}` : ''}`,
    async put(key, file, contentType) {
      const local = await fileDigest(file);
      // Content-MD5: the server refuses a body that does not match it.
      await storageCall(`uploading ${key}`, () =>
        client.send(new PutObjectCommand({ Bucket: t.bucket, Key: key, Body: createReadStream(file), ContentLength: local.bytes, ContentType: contentType, ContentMD5: Buffer.from(local.md5, 'hex').toString('base64') })),
      );
      return checkStored(key, local, await head(key));
    },
    head,
    signedUrl: (key, ttlS) => storageCall(`signing a URL for ${key}`, () => getSignedUrl(client, new GetObjectCommand({ Bucket: t.bucket, Key: key }), { expiresIn: ttlS })),
    list,
    deletePrefix: async (prefix) => deleteEach(await list(prefix), (key) => client.send(new DeleteObjectCommand({ Bucket: t.bucket, Key: key }))),
    close: () => {
      client.destroy();
      return Promise.resolve();
    },
  };
}
