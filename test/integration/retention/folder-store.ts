/**
 * A small object store over a real local folder, for tests of deletion in object storage: objects
 * are files `<root>/<callId>/<name>`, keyed `<callId>/<name>`. `failNext` makes the next deleteCall
 * throw (an unreachable store) without touching anything.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RemoteCallStore } from '../../../src/index.js';

export class FolderObjectStore implements RemoteCallStore {
  failNext = false;

  constructor(readonly root: string) {}

  private folder(callId: string): string {
    return join(this.root, callId.replace(/[^A-Za-z0-9_.-]/g, '_'));
  }

  async put(callId: string, name: string, body: Buffer | string): Promise<string> {
    await mkdir(this.folder(callId), { recursive: true });
    await writeFile(join(this.folder(callId), name), body);
    return `${callId}/${name}`;
  }

  async keys(callId: string): Promise<string[]> {
    return (await readdir(this.folder(callId)).catch(() => [] as string[])).sort().map((n) => `${callId}/${n}`);
  }

  async deleteCall(callId: string): Promise<string[]> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('object storage unreachable');
    }
    const keys = await this.keys(callId);
    await rm(this.folder(callId), { recursive: true, force: true });
    return keys;
  }
}
