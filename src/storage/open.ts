/** Opens the configured object storage, importing its SDK only now (a local-only mediabot loads none). */
import type { StorageTarget } from '../config/storage.js';
import type { Logger } from '../logger.js';
import type { ObjectStorage } from './object-storage.js';

export async function openObjectStorage(target: StorageTarget, log?: Logger): Promise<ObjectStorage | null> {
  switch (target.kind) {
    case 'local':
      return null;
    case 'azure':
      return (await import('./azure-blob.js')).createAzureBlobStorage(target);
    case 's3':
      return (await import('./s3.js')).createS3Storage(target, log);
  }
}
