/**
 * The two ObjectStorage implementations against real servers on 127.0.0.1 (Azurite, s3rver):
 * a verified upload (a small file and one of several Azure blocks), its size and MD5, a signed
 * URL fetched over HTTP, listing, deletion by call prefix, and the errors of a server that is down.
 */
import { randomBytes, createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseStorageSettings } from '../../../src/config/storage.js';
import { openObjectStorage } from '../../../src/storage/open.js';
import { checkStorage } from '../../../src/storage/check.js';
import type { ObjectStorage } from '../../../src/storage/object-storage.js';
import { AZURITE_KEY, removeS3rverFolder, S3RVER_KEY_ID, S3RVER_SECRET, startAzurite, startS3rver, type Azurite, type S3Server } from '../../helpers/storage-servers.js';

const dir = mkdtempSync(join(tmpdir(), 'mediabot-objects-'));
const small = join(dir, 'small.json');
const large = join(dir, 'large.opus');
const smallBody = Buffer.from(JSON.stringify({ hello: 'storage', n: 42 }));
// Over one 8 MiB Azure block: staged as two, committed as one blob.
const largeBody = randomBytes(9 * 1024 * 1024 + 123);
writeFileSync(small, smallBody);
writeFileSync(large, largeBody);
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

async function expectForgedRefused(url: string): Promise<void> {
  const forged = new URL(url);
  forged.searchParams.set('sig', randomBytes(32).toString('base64'));
  expect((await fetch(forged)).status).toBe(403);
}

let azurite: Azurite;
let s3: S3Server;

beforeAll(async () => {
  [azurite, s3] = await Promise.all([startAzurite(), startS3rver(['calls-bucket'])]);
}, 60_000);

afterAll(async () => {
  await Promise.all([azurite?.stop(), s3?.stop()]);
  if (s3) removeS3rverFolder(s3);
  rmSync(dir, { recursive: true, force: true });
});

const backends: Array<[string, () => Promise<{ storage: ObjectStorage; server: Azurite | S3Server }>]> = [
  [
    'Azure Blob Storage (Azurite)',
    async () => {
      const cfg = parseStorageSettings((k) => ({ MEDIABOT_STORAGE_URL: 'azure-blob://mediabot-test/unit', MEDIABOT_STORAGE_AZURE_CONNECTION_STRING: azurite.connectionString })[k]);
      return { storage: (await openObjectStorage(cfg.target))!, server: azurite };
    },
  ],
  [
    'Azure Blob Storage by URL and account key (Azurite)',
    async () => {
      const cfg = parseStorageSettings((k) => ({ MEDIABOT_STORAGE_URL: `${azurite.url}/mediabot-by-url/unit`, MEDIABOT_STORAGE_AZURE_ACCOUNT_KEY: AZURITE_KEY })[k]);
      return { storage: (await openObjectStorage(cfg.target))!, server: azurite };
    },
  ],
  [
    'S3 (s3rver)',
    async () => {
      const cfg = parseStorageSettings(
        (k) =>
          ({
            MEDIABOT_STORAGE_URL: `s3://calls-bucket/unit?region=us-east-1&endpoint=${encodeURIComponent(s3.url)}&forcePathStyle=true`,
            MEDIABOT_STORAGE_S3_ACCESS_KEY_ID: S3RVER_KEY_ID,
            MEDIABOT_STORAGE_S3_SECRET_ACCESS_KEY: S3RVER_SECRET,
          })[k],
      );
      return { storage: (await openObjectStorage(cfg.target))!, server: s3 };
    },
  ],
];

describe.each(backends)('%s', (_name, open) => {
  it('uploads and verifies, signs a URL that downloads the same bytes, lists, and deletes by prefix', async () => {
    const { storage } = await open();
    const a = await storage.put('unit/calls/c1/call.json', small, 'application/json');
    expect(a).toEqual({ bytes: smallBody.length, md5: md5(smallBody) });
    const b = await storage.put('unit/calls/c1/recordings/mix.opus', large, 'audio/ogg');
    expect(b).toEqual({ bytes: largeBody.length, md5: md5(largeBody) });
    await storage.put('unit/calls/c2/call.json', small, 'application/json');
    expect(await storage.head('unit/calls/c1/recordings/mix.opus')).toEqual(b);
    expect(await storage.head('unit/calls/c1/nothing.json')).toBeNull();

    const url = await storage.signedUrl('unit/calls/c1/recordings/mix.opus', 300);
    expect(new URL(url).hostname).toBe('127.0.0.1');
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(md5(Buffer.from(await res.arrayBuffer()))).toBe(md5(largeBody));
    // Azure checks the signature: the same URL with another one is refused (s3rver only checks the expiry).
    if (storage.kind === 'azure') await expectForgedRefused(url);


    expect((await storage.list('unit/calls/c1/')).map((o) => [o.key, o.bytes]).sort()).toEqual([
      ['unit/calls/c1/call.json', smallBody.length],
      ['unit/calls/c1/recordings/mix.opus', largeBody.length],
    ]);
    expect((await storage.deletePrefix('unit/calls/c1/')).sort()).toEqual(['unit/calls/c1/call.json', 'unit/calls/c1/recordings/mix.opus']);
    expect(await storage.list('unit/calls/c1/')).toEqual([]);
    expect((await fetch(url)).status).toBe(404);
    // Another call's objects are untouched.
    expect((await storage.list('unit/calls/c2/')).map((o) => o.key)).toEqual(['unit/calls/c2/call.json']);
    await storage.close();
  }, 60_000);

  it('a signed URL stops working once expired', async () => {
    const { storage } = await open();
    await storage.put('unit/calls/c3/call.json', small, 'application/json');
    const url = await storage.signedUrl('unit/calls/c3/call.json', 1);
    expect((await fetch(url)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 2500));
    expect((await fetch(url)).status).toBe(403);
    await storage.close();
  }, 30_000);

  it('a server that is down gives MEDIABOT_STORAGE_FAILED without secrets in the message', async () => {
    const { storage, server } = await open();
    await server.stop();
    try {
      const err = await storage.put('unit/calls/c4/call.json', small, 'application/json').catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'MEDIABOT_STORAGE_FAILED' });
      const text = `${(err as Error).message} ${JSON.stringify((err as { details?: unknown }).details)}`;
      expect(text).not.toContain('AccountKey=');
      expect(text).not.toContain(AZURITE_KEY.slice(0, 12));
      expect(text).not.toMatch(/sig=|X-Amz-Signature=/);
    } finally {
      await server.start();
    }
    await storage.close();
  }, 60_000);
});

describe('the doctor\'s storage check', () => {
  it('says local, reachable, or why not', async () => {
    expect(await checkStorage({ kind: 'local' }, '/srv/mediabot')).toMatchObject({ ok: null });
    const s3Target = parseStorageSettings(
      (k) => ({ MEDIABOT_STORAGE_URL: `s3://calls-bucket/doctor?endpoint=${encodeURIComponent(s3.url)}&forcePathStyle=true`, MEDIABOT_STORAGE_S3_ACCESS_KEY_ID: S3RVER_KEY_ID, MEDIABOT_STORAGE_S3_SECRET_ACCESS_KEY: S3RVER_SECRET })[k],
    ).target;
    expect(await checkStorage(s3Target, '/unused')).toEqual({ ok: true, detail: 's3://calls-bucket/doctor answers (0 objects under doctor/calls/)' });
    const missing = parseStorageSettings((k) => ({ MEDIABOT_STORAGE_URL: `s3://no-such-bucket?endpoint=${encodeURIComponent(s3.url)}&forcePathStyle=true`, MEDIABOT_STORAGE_S3_ACCESS_KEY_ID: S3RVER_KEY_ID, MEDIABOT_STORAGE_S3_SECRET_ACCESS_KEY: S3RVER_SECRET })[k]).target;
    const bad = await checkStorage(missing, '/unused');
    expect(bad.ok).toBe(false);
    expect(bad.detail).toMatch(/MEDIABOT_STORAGE_FAILED.*NoSuchBucket/);
    const azureTarget = parseStorageSettings((k) => ({ MEDIABOT_STORAGE_URL: 'azure-blob://mediabot-test/unit', MEDIABOT_STORAGE_AZURE_CONNECTION_STRING: azurite.connectionString })[k]).target;
    expect(await checkStorage(azureTarget, '/unused')).toMatchObject({ ok: true });
  }, 30_000);
});
