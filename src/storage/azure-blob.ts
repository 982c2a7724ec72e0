/** ObjectStorage on Azure Blob Storage (`@azure/storage-blob`), loaded by open.ts only when configured. */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { BlobSASPermissions, BlobServiceClient, StorageSharedKeyCredential, type BlockBlobClient, type ContainerClient } from '@azure/storage-blob';
import type { AzureBlobTarget } from '../config/storage.js';
import { checkStored, deleteEach, storageCall, storageError, type ObjectStorage, type PutResult, type StoredObject } from './object-storage.js';

/** Blocks of 8 MiB: one Put Block each, its MD5 checked by the service on receipt. */
const BLOCK_BYTES = 8 * 1024 * 1024;
// Integrity is checked with per-block MD5s (below), which every Blob service and emulator speaks.
// Few tries per request: the upload queue retries with its own backoff.
const CLIENT_OPTIONS = { uploadContentChecksumAlgorithm: 'None', downloadContentChecksumAlgorithm: 'None', retryOptions: { maxTries: 2, retryDelayInMs: 500, tryTimeoutInMs: 120_000 } } as const;

/**
 * Uploads a file as staged blocks, each with its MD5 (the service refuses a block whose bytes do
 * not match), then commits them with the whole file's MD5 as the blob's; returns size and MD5.
 */
async function stageAndCommit(blob: BlockBlobClient, file: string, contentType: string): Promise<PutResult> {
  const whole = createHash('md5');
  const ids: string[] = [];
  let bytes = 0;
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(BLOCK_BYTES);
    for (;;) {
      let n = 0;
      while (n < BLOCK_BYTES) {
        const { bytesRead } = await fh.read(buf, n, BLOCK_BYTES - n, null);
        if (bytesRead === 0) break;
        n += bytesRead;
      }
      if (n === 0 && ids.length > 0) break;
      const block = buf.subarray(0, n);
      whole.update(block);
      const id = Buffer.from(`block-${String(ids.length).padStart(6, '0')}`).toString('base64');
      await blob.stageBlock(id, block, n, { transactionalContentMD5: createHash('md5').update(block).digest() });
      ids.push(id);
      bytes += n;
      if (n < BLOCK_BYTES) break;
    }
  } finally {
    await fh.close();
  }
  const md5 = whole.digest();
  await blob.commitBlockList(ids, { blobHTTPHeaders: { blobContentType: contentType, blobContentMD5: md5 } });
  return { bytes, md5: md5.toString('hex') };
}

export function createAzureBlobStorage(t: AzureBlobTarget): ObjectStorage {
  const service =
    t.connectionString !== undefined
      ? BlobServiceClient.fromConnectionString(t.connectionString, CLIENT_OPTIONS)
      : new BlobServiceClient(t.serviceUrl!, new StorageSharedKeyCredential(t.accountName!, t.accountKey!), CLIENT_OPTIONS);
  const container: ContainerClient = service.getContainerClient(t.container);
  let ensured: Promise<unknown> | null = null;
  // The container is created on the first upload when missing (the account key allows it).
  const ensureContainer = (): Promise<unknown> => {
    ensured ??= container.createIfNotExists().catch((err: unknown) => {
      ensured = null;
      throw err;
    });
    return ensured;
  };

  const head = async (key: string): Promise<PutResult | null> => {
    try {
      const p = await container.getBlobClient(key).getProperties();
      return { bytes: p.contentLength ?? -1, md5: p.contentMD5 ? Buffer.from(p.contentMD5).toString('hex') : '' };
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return null;
      throw storageError(`reading ${key}`, err);
    }
  };

  const list = async (prefix: string): Promise<StoredObject[]> => {
    const out: StoredObject[] = [];
    try {
      for await (const b of container.listBlobsFlat({ prefix })) out.push({ key: b.name, bytes: b.properties.contentLength ?? 0 });
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return [];
      throw storageError(`listing ${prefix}`, err);
    }
    return out;
  };

  return {
    kind: 'azure',
    location: `azure-blob://${t.container}${t.prefix !== '' ? `/${t.prefix}` : ''}`,
    async put(key, file, contentType) {
      const local = await storageCall(`uploading ${key}`, async () => {
        await ensureContainer();
        return stageAndCommit(container.getBlockBlobClient(key), file, contentType);
      });
      return checkStored(key, local, await head(key));
    },
    head,
    signedUrl: (key, ttlS) =>
      storageCall(`signing a URL for ${key}`, () =>
        container.getBlobClient(key).generateSasUrl({ permissions: BlobSASPermissions.parse('r'), startsOn: new Date(Date.now() - 5 * 60_000), expiresOn: new Date(Date.now() + ttlS * 1000) }),
      ),
    list,
    deletePrefix: async (prefix) => deleteEach(await list(prefix), (key) => container.getBlobClient(key).deleteIfExists({ deleteSnapshots: 'include' })),
    close: () => Promise.resolve(),
  };
}
