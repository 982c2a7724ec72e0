/**
 * The upload queue across a stop and against a failing server, on real servers on 127.0.0.1:
 * rows a killed process left pending or in flight in the SQLite file are uploaded by the next
 * storage worker; a server that refuses connections gets retries with backoff, then the upload
 * succeeds once it is back; after the last attempt an upload is given up and its local file kept.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseStorageSettings, type StorageTarget } from '../../../src/config/storage.js';
import { silentLogger } from '../../../src/logger.js';
import { openDatabase } from '../../../src/store/db.js';
import { StorageUploadStore, type NewUpload } from '../../../src/store/storage-uploads.js';
import { openObjectStorage } from '../../../src/storage/open.js';
import { StorageService, type UploadedRecording } from '../../../src/storage/service.js';
import { until } from '../../helpers/redis.js';
import { removeS3rverFolder, S3RVER_KEY_ID, S3RVER_SECRET, startAzurite, startS3rver, type Azurite, type S3Server, type StorageServer } from '../../helpers/storage-servers.js';

let azurite: Azurite;
let s3: S3Server;
const root = mkdtempSync(join(tmpdir(), 'mediabot-storage-queue-'));

beforeAll(async () => {
  [azurite, s3] = await Promise.all([startAzurite(), startS3rver(['queue-bucket'])]);
}, 60_000);
afterAll(async () => {
  await Promise.all([azurite?.stop(), s3?.stop()]);
  if (s3) removeS3rverFolder(s3);
  rmSync(root, { recursive: true, force: true });
});

const backends: Array<[string, () => { target: StorageTarget; server: StorageServer }]> = [
  ['Azurite', () => ({ target: parseStorageSettings((k) => ({ MEDIABOT_STORAGE_URL: 'azure-blob://queue-test', MEDIABOT_STORAGE_AZURE_CONNECTION_STRING: azurite.connectionString })[k]).target, server: azurite })],
  [
    's3rver',
    () => ({
      target: parseStorageSettings(
        (k) => ({ MEDIABOT_STORAGE_URL: `s3://queue-bucket?endpoint=${encodeURIComponent(s3.url)}&forcePathStyle=true`, MEDIABOT_STORAGE_S3_ACCESS_KEY_ID: S3RVER_KEY_ID, MEDIABOT_STORAGE_S3_SECRET_ACCESS_KEY: S3RVER_SECRET })[k],
      ).target,
      server: s3,
    }),
  ],
];

let n = 0;
/** A data folder with a call's files (distinct content each time). */
function callFiles(callId: string): { dataDir: string; rows: NewUpload[] } {
  const dataDir = join(root, `data-${++n}`);
  const dir = join(dataDir, 'calls', callId);
  mkdirSync(join(dir, 'rec'), { recursive: true });
  const write = (path: string, body: string | Buffer): string => (writeFileSync(path, body), path);
  const rows: NewUpload[] = [
    { callId, kind: 'artifact', file: 'call.json', localPath: write(join(dir, 'call.json'), JSON.stringify({ callId, n })), key: `calls/${callId}/call.json`, contentType: 'application/json', meta: null },
    { callId, kind: 'artifact', file: 'transcript.vtt', localPath: write(join(dir, 'transcript.vtt'), `WEBVTT\n\n${n}\n`), key: `calls/${callId}/transcript.vtt`, contentType: 'text/vtt', meta: null },
    {
      callId,
      kind: 'recording',
      file: 'mix.opus',
      localPath: write(join(dir, 'rec', 'mix.opus'), Buffer.alloc(50_000 + n, n)),
      key: `calls/${callId}/recordings/mix.opus`,
      contentType: 'audio/ogg',
      meta: { file: 'mix.opus', sourceId: 'mix', speaker: 'mix', format: 'ogg', bytes: 50_000 + n },
    },
  ];
  return { dataDir, rows };
}

describe.each(backends)('the upload queue on %s', (_name, backend) => {
  it('uploads what a killed process left pending or in flight, once restarted', async () => {
    const callId = `resume-${n}`;
    const { dataDir, rows } = callFiles(callId);
    // The first process queued the files and was killed while uploading the first one.
    const db1 = openDatabase(dataDir);
    const store1 = new StorageUploadStore(db1);
    const added = store1.add(rows, Date.now());
    expect(store1.claim(added[0]!.id)).toBe(true);
    db1.close();
    const hashes = rows.map((r) => createHash('md5').update(readFileSync(r.localPath)).digest('hex'));

    // The next process: a new storage worker on the same database file.
    const db2 = openDatabase(dataDir);
    const { target } = backend();
    const settled: Array<{ callId: string; uploaded: UploadedRecording[] }> = [];
    const service = new StorageService({ store: new StorageUploadStore(db2), storage: await openObjectStorage(target), prefix: '', keepLocal: false, urlTtlS: 600, localLocation: dataDir, logger: silentLogger, onRecordingsSettled: (id, uploaded) => settled.push({ callId: id, uploaded }) });
    expect(service.uploads({ callId }).map((u) => u.status).sort()).toEqual(['pending', 'pending', 'uploading']);
    service.start();
    const done = await service.whenUploaded(callId, 30_000);
    expect(done.map((u) => [u.key, u.status, u.md5]).sort()).toEqual(rows.map((r, i) => [r.key, 'done', hashes[i]]).sort());
    for (const r of rows) expect(existsSync(r.localPath)).toBe(false);
    // The call's recording.ready step ran once, with a signed URL that downloads the recording.
    expect(settled.map((s) => s.callId)).toEqual([callId]);
    const res = await fetch(settled[0]!.uploaded[0]!.url);
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.alloc(rows[2]!.meta!['bytes'] as number, Number(rows[2]!.meta!['bytes']) - 50_000))).toBe(true);
    await service.stop();
    db2.close();

    // A third start finds nothing to do and does not announce the call again.
    const db3 = openDatabase(dataDir);
    const again: string[] = [];
    const third = new StorageService({ store: new StorageUploadStore(db3), storage: await openObjectStorage(target), prefix: '', keepLocal: false, urlTtlS: 600, localLocation: dataDir, logger: silentLogger, onRecordingsSettled: (id) => again.push(id) });
    third.start();
    await new Promise((r) => setTimeout(r, 300));
    expect(again).toEqual([]);
    expect(await third.deleteCall(callId)).toHaveLength(3);
    await third.stop();
    db3.close();
  }, 60_000);

  it('retries while the server refuses connections, then uploads once it is back', async () => {
    const callId = `retry-${n}`;
    const { dataDir, rows } = callFiles(callId);
    const { target, server } = backend();
    const db = openDatabase(dataDir);
    const registry = new Registry();
    const service = new StorageService({ store: new StorageUploadStore(db), storage: await openObjectStorage(target), prefix: '', keepLocal: true, urlTtlS: 600, localLocation: dataDir, registry, retry: { baseMs: 100, maxMs: 400, maxAttempts: 100 }, logger: silentLogger });
    await server.stop();
    try {
      service.start();
      service.enqueueCall({ callId, files: rows.slice(0, 2).map((r) => r.localPath), recordings: [{ entry: rows[2]!.meta as never, path: rows[2]!.localPath }] });
      const failing = await until('three failed attempts', () => {
        const u = service.uploads({ callId }).find((x) => x.attempts >= 3);
        return u;
      }, 40_000, 100);
      expect(failing.status === 'pending' || failing.status === 'uploading').toBe(true);
      expect(failing.lastError).toMatch(/MEDIABOT_STORAGE_FAILED/);
      const retried = /outcome="retried"\} (\d+)/.exec(await registry.getSingleMetricAsString('mediabot_storage_uploads_total'));
      expect(Number(retried?.[1])).toBeGreaterThanOrEqual(3);
    } finally {
      await server.start();
    }
    const done = await service.whenUploaded(callId, 30_000);
    expect(done.map((u) => u.status)).toEqual(['done', 'done', 'done']);
    // MEDIABOT_STORAGE_KEEP_LOCAL=true: the local copies stay.
    for (const r of rows) expect(existsSync(r.localPath)).toBe(true);
    expect(done.every((u) => !u.localRemoved)).toBe(true);
    expect(await registry.getSingleMetricAsString('mediabot_storage_uploads_pending')).toMatch(/pending 0/);
    await service.deleteCall(callId);
    await service.stop();
    db.close();
  }, 90_000);

  it('gives up after the last attempt, keeps the local file and reports the recording as not uploaded', async () => {
    const callId = `giveup-${n}`;
    const { dataDir, rows } = callFiles(callId);
    const { target, server } = backend();
    const db = openDatabase(dataDir);
    const notUploaded: string[] = [];
    const service = new StorageService({ store: new StorageUploadStore(db), storage: await openObjectStorage(target), prefix: '', keepLocal: false, urlTtlS: 600, localLocation: dataDir, retry: { baseMs: 50, maxMs: 50, maxAttempts: 2 }, logger: silentLogger, onRecordingsSettled: (_id, _up, failed) => notUploaded.push(...failed.map((f) => f.file)) });
    await server.stop();
    try {
      service.start();
      service.enqueueCall({ callId, files: [rows[0]!.localPath], recordings: [{ entry: rows[2]!.meta as never, path: rows[2]!.localPath }] });
      const settled = await service.whenUploaded(callId, 60_000);
      expect(settled.map((u) => [u.status, u.attempts])).toEqual([
        ['failed', 2],
        ['failed', 2],
      ]);
    } finally {
      await server.start();
    }
    expect(notUploaded).toEqual(['mix.opus']);
    expect(existsSync(rows[0]!.localPath) && existsSync(rows[2]!.localPath)).toBe(true);
    expect(await service.downloadUrl(callId, 'mix.opus')).toBeNull();
    await service.stop();
    db.close();
  }, 90_000);
});
