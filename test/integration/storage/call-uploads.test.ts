/**
 * A call's artifacts to object storage, end to end against real servers on 127.0.0.1: a meeting
 * joined on the Graph emulator, recorded, hung up; its files land in Azurite and in s3rver with
 * the right sizes and content, the local copies go, `recording.ready` (a signed webhook, verified
 * by a receiver) carries signed URLs that download the recordings, the recordings API lists them
 * and the download route redirects to them, and deleting the call's data removes every object.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMediabot, type ComposedMediabot } from '../../../src/app/mediabot.js';
import { silentLogger } from '../../../src/logger.js';
import { testConfig, until } from '../app/helpers.js';
import { newSecret, startReceiver, type Receiver } from '../webhooks/receiver.js';
import { removeS3rverFolder, S3RVER_KEY_ID, S3RVER_SECRET, startAzurite, startS3rver, type Azurite, type S3Server } from '../../helpers/storage-servers.js';


let azurite: Azurite;
let s3: S3Server;
let receiver: Receiver;
const secret = newSecret();

beforeAll(async () => {
  [azurite, s3, receiver] = await Promise.all([startAzurite(), startS3rver(['mediabot-calls']), startReceiver(secret)]);
}, 60_000);

afterAll(async () => {
  await Promise.all([azurite?.stop(), s3?.stop(), receiver?.close()]);
  if (s3) removeS3rverFolder(s3);
});

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

const backends: Array<[string, () => Record<string, string>]> = [
  ['Azure Blob Storage (Azurite)', () => ({ MEDIABOT_STORAGE_URL: 'azure-blob://mediabot-calls/site-a', MEDIABOT_STORAGE_AZURE_CONNECTION_STRING: azurite.connectionString })],
  [
    'S3 (s3rver)',
    () => ({
      MEDIABOT_STORAGE_URL: `s3://mediabot-calls/site-a?region=us-east-1&endpoint=${encodeURIComponent(s3.url)}&forcePathStyle=true`,
      MEDIABOT_STORAGE_S3_ACCESS_KEY_ID: S3RVER_KEY_ID,
      MEDIABOT_STORAGE_S3_SECRET_ACCESS_KEY: S3RVER_SECRET,
    }),
  ],
];

describe.each(backends)('a recorded call with storage in %s', (_name, storageEnv) => {
  let bot: ComposedMediabot;

  beforeAll(async () => {
    bot = await createMediabot(
      testConfig({ MEDIABOT_TRANSCRIBER: 'none', MEDIABOT_RECORD: 'on', MEDIABOT_WEBHOOK_URL: `${receiver.url}/hooks`, MEDIABOT_WEBHOOK_SECRET: secret, MEDIABOT_FETCH_ALLOWLIST: '127.0.0.1', ...storageEnv() }),
      { logger: silentLogger, storageRetry: { baseMs: 200, maxMs: 1000 } },
    );
    await bot.listen();
  }, 60_000);
  afterAll(async () => {
    await bot?.close();
  });

  it('uploads the artifacts and recordings, removes the local copies, signs URLs, and deletes them all', async () => {
    expect(bot.storage.kind).not.toBe('local');
    const meeting = bot.emulator!.createMeeting({ subject: 'storage', people: 2 });
    const call = await bot.calls.join({ joinWebUrl: meeting.joinWebUrl });
    await until('someone talking', () => (bot.calls.participants(call.id).some((p) => !p.isBot && p.talkMs > 1000) ? true : undefined), 30_000, 250);
    await bot.calls.hangUp(call.id);
    const artifacts = await bot.calls.whenFinalized(call.id, 60_000);
    expect(artifacts.recordings.length).toBeGreaterThan(0);

    const uploads = await bot.storage.whenUploaded(call.id, 60_000);
    expect(uploads.map((u) => u.status)).toEqual(uploads.map(() => 'done'));
    const prefix = `site-a/calls/${call.id}/`;
    const expectedKeys = [...artifacts.files.map((f) => prefix + f.split('/').pop()!), ...artifacts.recordings.map((r) => `${prefix}recordings/${r.file}`)].sort();
    expect(uploads.map((u) => u.key).sort()).toEqual(expectedKeys);
    expect(expectedKeys).toContain(`${prefix}call.json`);

    // Every object downloads (signed URL on 127.0.0.1) with the recorded size and MD5; recordings have the sizes the call listed.
    for (const u of uploads) {
      const signed = await bot.storage.downloadUrl(call.id, u.file);
      expect(signed).not.toBeNull();
      expect(new URL(signed!.url).hostname).toBe('127.0.0.1');
      expect(Date.parse(signed!.expiresAt) - Date.now()).toBeGreaterThan(3500 * 1000);
      const body = Buffer.from(await (await fetch(signed!.url)).arrayBuffer());
      expect([u.file, body.length, md5(body)]).toEqual([u.file, u.bytes, u.md5]);
      if (u.kind === 'recording') expect(body.length).toBe(artifacts.recordings.find((r) => r.file === u.file)!.bytes);
      if (u.file === 'call.json') expect(JSON.parse(body.toString('utf8')).callId).toBe(call.id);
      // Verified, then the local copy removed (MEDIABOT_STORAGE_KEEP_LOCAL unset).
      expect(u.localRemoved).toBe(true);
      expect(existsSync(u.localPath)).toBe(false);
    }

    // recording.ready came after the uploads, with signed URLs that download each recording.
    const ready = await until('recording.ready delivered', () => receiver.accepted().find((r) => r.payload.type === 'recording.ready' && r.payload.data['callId'] === call.id), 20_000);
    expect(receiver.accepted().filter((r) => r.payload.type === 'recording.ready' && r.payload.data['callId'] === call.id)).toHaveLength(1);
    const listed = ready.payload.data['recordings'] as Array<{ file: string; bytes: number; url: string; expiresAt: string; stored: boolean }>;
    expect(listed.map((r) => r.file).sort()).toEqual(artifacts.recordings.map((r) => r.file).sort());
    for (const r of listed) {
      expect(r.stored).toBe(true);
      expect(Date.parse(r.expiresAt)).toBeGreaterThan(Date.now());
      const res = await fetch(r.url);
      expect(res.status).toBe(200);
      expect((await res.arrayBuffer()).byteLength).toBe(r.bytes);
    }

    // The operator API: the listing carries signed URLs, the download route redirects to one.
    const api = (await (await fetch(`${bot.url}/v1/calls/${call.id}/recordings`)).json()) as { recordings: Array<{ file: string; url: string }> };
    expect(api.recordings.map((r) => r.file).sort()).toEqual(listed.map((r) => r.file).sort());
    for (const r of api.recordings) expect(new URL(r.url).hostname).toBe('127.0.0.1');
    // The same in code.
    expect((await bot.storage.recordings(call.id)).map((r) => r.file).sort()).toEqual(api.recordings.map((r) => r.file).sort());
    const file = artifacts.recordings[0]!.file;
    const redirect = await fetch(`${bot.url}/v1/calls/${call.id}/recordings/${file}`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    const followed = await fetch(redirect.headers.get('location')!);
    expect((await followed.arrayBuffer()).byteLength).toBe(artifacts.recordings[0]!.bytes);
    expect((await fetch(`${bot.url}/v1/calls/${call.id}/recordings/nothing.opus`, { redirect: 'manual' })).status).toBe(404);

    // The call history's file routes redirect too, once the local copies are gone.
    for (const path of [`/v1/history/${call.id}/recordings/${file}`, `/v1/history/${call.id}/files/call.json`]) {
      const r = await fetch(`${bot.url}${path}`, { redirect: 'manual' });
      expect(r.status, path).toBe(302);
      expect(new URL(r.headers.get('location')!).hostname).toBe('127.0.0.1');
      expect((await fetch(r.headers.get('location')!)).status).toBe(200);
    }

    const metrics = await (await fetch(`${bot.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`mediabot_storage_uploads_total\\{outcome="done"\\} ${uploads.length}\\b`));
    expect(metrics).toMatch(/mediabot_storage_uploads_pending 0\b/);

    // DELETE /v1/calls/:id/data (retention) deletes the call's objects through storage.deleteCall, and forgets its uploads.
    const someUrl = (await bot.storage.downloadUrl(call.id, 'call.json'))!.url;
    const deletion = await fetch(`${bot.url}/v1/calls/${call.id}/data`, { method: 'DELETE' });
    const record = (await deletion.json()) as { deleted: { objects: number }; complete?: boolean };
    expect(deletion.status, JSON.stringify(record)).toBe(200);
    expect(record.deleted.objects).toBe(expectedKeys.length);
    expect(bot.storage.uploads({ callId: call.id })).toEqual([]);
    expect((await fetch(someUrl)).status).toBe(404);
    expect(await bot.storage.deleteCall(call.id)).toEqual([]);
  }, 120_000);
});
