/** Whether the configured object storage answers with the given credentials (for `mediabot doctor`). */
import type { StorageTarget } from '../config/storage.js';
import { isMediabotError } from '../errors.js';
import { callsKeyPrefix } from './keys.js';
import { openObjectStorage } from './open.js';

export interface StorageCheck {
  /** null: local storage, nothing to reach. */
  ok: boolean | null;
  detail: string;
}

/** Lists the key prefix mediabot writes under (read access; writing is proven by the first upload). */
export async function checkStorage(target: StorageTarget, dataDir: string): Promise<StorageCheck> {
  const storage = await openObjectStorage(target);
  if (storage === null) return { ok: null, detail: `local: call artifacts stay in ${dataDir} (MEDIABOT_STORAGE_URL unset)` };
  try {
    const prefix = callsKeyPrefix(target.kind === 'local' ? '' : target.prefix);
    const objects = await storage.list(prefix);
    return { ok: true, detail: `${storage.location} answers (${objects.length} objects under ${prefix})` };
  } catch (err) {
    return { ok: false, detail: `${storage.location}: ${isMediabotError(err) ? `${err.code}: ${err.message}` : String(err)}` };
  } finally {
    await storage.close();
  }
}
