/**
 * A drain waits for the uploads to object storage: with the S3 server down when the call ends,
 * its uploads fail and are retried; the server comes back while the drain is waiting, and the
 * drain resolves only once every upload is done (a worker replaced in a fleet leaves nothing behind).
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMediabot, type ComposedMediabot } from '../../../src/app/mediabot.js';
import { DATABASE_FILE } from '../../../src/store/db.js';
import { silentLogger } from '../../../src/logger.js';
import { testConfig, until } from '../app/helpers.js';
import { removeS3rverFolder, S3RVER_KEY_ID, S3RVER_SECRET, startS3rver, type S3Server } from '../../helpers/storage-servers.js';

let s3: S3Server;
let bot: ComposedMediabot | undefined;

beforeAll(async () => {
  s3 = await startS3rver(['mediabot-calls']);
}, 60_000);

afterAll(async () => {
  await bot?.close();
  await s3?.stop();
  if (s3) removeS3rverFolder(s3);
});

describe('drain with object storage', () => {
  it('waits until the uploads that failed while the storage was down are done', async () => {
    bot = await createMediabot(
      testConfig({
        MEDIABOT_TRANSCRIBER: 'none',
        MEDIABOT_RECORD: 'on',
        MEDIABOT_STORAGE_URL: `s3://mediabot-calls?region=us-east-1&endpoint=${encodeURIComponent(s3.url)}&forcePathStyle=true`,
        MEDIABOT_STORAGE_S3_ACCESS_KEY_ID: S3RVER_KEY_ID,
        MEDIABOT_STORAGE_S3_SECRET_ACCESS_KEY: S3RVER_SECRET,
      }),
      { logger: silentLogger, storageRetry: { baseMs: 200, maxMs: 500 } },
    );
    await bot.listen();
    const meeting = bot.emulator!.createMeeting({ subject: 'drain', people: 2 });
    const call = await bot.calls.join({ joinWebUrl: meeting.joinWebUrl });
    await until('someone talking', () => (bot!.calls.participants(call.id).some((p) => !p.isBot && p.talkMs > 500) ? true : undefined), 30_000, 250);
    await s3.stop();

    const drained = bot.drain({ timeoutMs: 0 });
    await until('a failed upload attempt', () => (bot!.storage.uploads({ callId: call.id }).some((u) => u.attempts > 0 && u.status === 'pending') ? true : undefined), 60_000, 100);
    let resolvedEarly = false;
    void drained.then(() => (resolvedEarly = true));
    await new Promise((r) => setTimeout(r, 800));
    expect(resolvedEarly).toBe(false);
    await s3.start();
    const result = await drained;
    expect(result.hungUp).toBe(1);

    const db = new Database(join(bot.config.dataDir, DATABASE_FILE), { readonly: true });
    try {
      const rows = db.prepare('SELECT status FROM storage_uploads WHERE call_id = ? COLLATE NOCASE').all(call.id) as Array<{ status: string }>;
      expect(rows.length).toBeGreaterThan(1);
      expect(rows.map((r) => r.status)).toEqual(rows.map(() => 'done'));
    } finally {
      db.close();
    }
    bot = undefined;
  }, 120_000);
});
