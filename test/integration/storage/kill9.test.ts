/**
 * An upload interrupted by kill -9 is redone: a child process starts uploading a call's files to
 * an S3 endpoint that accepts the connection and never answers (the upload hangs in flight), is
 * SIGKILLed while its rows say `uploading`, and a new storage worker on the same SQLite file
 * uploads everything to a real S3-compatible server (s3rver) on 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { parseStorageSettings } from '../../../src/config/storage.js';
import { silentLogger } from '../../../src/logger.js';
import { openDatabase } from '../../../src/store/db.js';
import { StorageUploadStore } from '../../../src/store/storage-uploads.js';
import { openObjectStorage } from '../../../src/storage/open.js';
import { StorageService } from '../../../src/storage/service.js';
import { until } from '../../helpers/redis.js';
import { removeS3rverFolder, S3RVER_KEY_ID, S3RVER_SECRET, startS3rver } from '../../helpers/storage-servers.js';

const REPO = resolve(import.meta.dirname, '../../..');
const root = mkdtempSync(join(tmpdir(), 'mediabot-storage-kill9-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('kill -9 during an upload', () => {
  it('redoes the interrupted upload in the next process', async () => {
    const dataDir = join(root, 'data');
    const callId = 'killed-call';
    mkdirSync(join(dataDir, 'calls', callId), { recursive: true });
    const files = ['call.json', 'analytics.json'].map((name, i) => {
      const path = join(dataDir, 'calls', callId, name);
      writeFileSync(path, JSON.stringify({ name, i, pad: 'x'.repeat(20_000) }));
      return path;
    });
    const hashes = files.map((f) => createHash('md5').update(readFileSync(f)).digest('hex'));

    // An endpoint that takes the request and never answers.
    const held: Socket[] = [];
    const hang = createServer((s) => {
      held.push(s);
      s.on('data', () => undefined);
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    const hangPort = (hang.address() as { port: number }).port;

    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/storage/upload-child.ts', dataDir, `http://127.0.0.1:${hangPort}`, callId, ...files], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_c, sig) => r(sig)));
    try {
      // Killed once an upload is in flight: the row says so, and the request reached the endpoint.
      const peek = (): string[] => {
        if (!existsSync(join(dataDir, 'mediabot.db'))) return [];
        const db = new Database(join(dataDir, 'mediabot.db'), { readonly: true, fileMustExist: true });
        try {
          return (db.prepare('SELECT status FROM storage_uploads ORDER BY id').all() as Array<{ status: string }>).map((r) => r.status);
        } catch {
          return [];
        } finally {
          db.close();
        }
      };
      await until('an upload in flight', () => (held.length > 0 && peek().includes('uploading') ? true : undefined), 30_000, 100, () => out);
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      for (const s of held) s.destroy();
      await new Promise((r) => hang.close(r));
    }
    expect(files.every((f) => existsSync(f))).toBe(true);

    // The next process, against a real server.
    const s3 = await startS3rver(['kill-bucket']);
    try {
      const db = openDatabase(dataDir);
      const target = parseStorageSettings((k) => ({ MEDIABOT_STORAGE_URL: `s3://kill-bucket?endpoint=${encodeURIComponent(s3.url)}&forcePathStyle=true`, MEDIABOT_STORAGE_S3_ACCESS_KEY_ID: S3RVER_KEY_ID, MEDIABOT_STORAGE_S3_SECRET_ACCESS_KEY: S3RVER_SECRET })[k]).target;
      const storage = await openObjectStorage(target);
      const service = new StorageService({ store: new StorageUploadStore(db), storage, prefix: '', keepLocal: false, urlTtlS: 600, localLocation: dataDir, logger: silentLogger });
      expect(service.uploads({ callId }).map((u) => u.status)).toContain('uploading');
      service.start();
      const done = await service.whenUploaded(callId, 30_000);
      expect(done.map((u) => [u.file, u.status, u.md5]).sort()).toEqual([
        ['analytics.json', 'done', hashes[1]],
        ['call.json', 'done', hashes[0]],
      ]);
      expect(files.filter((f) => existsSync(f)), JSON.stringify(service.uploads({ callId }))).toEqual([]);
      expect((await storage!.list(`calls/${callId}/`)).map((o) => o.key).sort()).toEqual([`calls/${callId}/analytics.json`, `calls/${callId}/call.json`]);
      await service.stop();
      db.close();
    } finally {
      await s3.stop();
      removeS3rverFolder(s3);
    }
  }, 90_000);
});
