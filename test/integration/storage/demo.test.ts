/**
 * `mediabot demo` with MEDIABOT_STORAGE_URL pointing at an S3-compatible server (s3rver on
 * 127.0.0.1): it reports its call's files uploaded, they are in the bucket, and the
 * `recording.ready` webhook it waits for carries signed URLs that download them.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseStorageSettings } from '../../../src/config/storage.js';
import { openObjectStorage } from '../../../src/storage/open.js';
import { newSecret, startReceiver } from '../webhooks/receiver.js';
import { removeS3rverFolder, S3RVER_KEY_ID, S3RVER_SECRET, startS3rver } from '../../helpers/storage-servers.js';

const REPO = resolve(import.meta.dirname, '../../..');

describe('mediabot demo with MEDIABOT_STORAGE_URL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mediabot-demo-storage-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('uploads the call to the bucket and sends recording.ready with signed URLs', async () => {
    const s3 = await startS3rver(['demo-calls']);
    const secret = newSecret();
    const receiver = await startReceiver(secret);
    const storageUrl = `s3://demo-calls/demo?endpoint=${encodeURIComponent(s3.url)}&forcePathStyle=true`;
    try {
      const rtpBase = 58000 + (process.pid % 100) * 10;
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'demo', '--participants', '1', '--seconds', '4', '--media', 'rtp'], {
        cwd: REPO,
        env: {
          PATH: process.env['PATH'] ?? '',
          HOME: dir,
          MEDIABOT_DATA_DIR: join(dir, 'data'),
          MEDIABOT_PORT: '0',
          MEDIABOT_RTP_PORTS: `${rtpBase}-${rtpBase + 9}`,
          MEDIABOT_MEDIA_THREADS: '1',
          MEDIABOT_TRANSCRIBER: 'none',
          MEDIABOT_LOG_LEVEL: 'warn',
          MEDIABOT_WEBHOOK_URL: `${receiver.url}/demo`,
          MEDIABOT_WEBHOOK_SECRET: secret,
          MEDIABOT_FETCH_ALLOWLIST: '127.0.0.1',
          MEDIABOT_STORAGE_URL: storageUrl,
          MEDIABOT_STORAGE_S3_ACCESS_KEY_ID: S3RVER_KEY_ID,
          MEDIABOT_STORAGE_S3_SECRET_ACCESS_KEY: S3RVER_SECRET,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const code = await new Promise<number | null>((r) => child.once('exit', r));
      expect(code, out).toBe(0);
      const m = /storage: (\d+) of (\d+) files uploaded to s3:\/\/demo-calls\/demo \(local copies removed\)/.exec(out);
      expect(m, out).not.toBeNull();
      expect(Number(m![1])).toBe(Number(m![2]));
      expect(out).not.toContain('X-Amz-Signature');

      const ready = receiver.accepted().find((r) => r.payload.type === 'recording.ready');
      expect(ready, out).toBeDefined();
      const callId = ready!.payload.data['callId'] as string;
      const recordings = ready!.payload.data['recordings'] as Array<{ file: string; bytes: number; url: string; stored: boolean }>;
      expect(recordings.length).toBeGreaterThan(0);
      for (const r of recordings) {
        expect(r.stored).toBe(true);
        const res = await fetch(r.url);
        expect(res.status).toBe(200);
        expect((await res.arrayBuffer()).byteLength).toBe(r.bytes);
      }
      const storage = (await openObjectStorage(parseStorageSettings((k) => ({ MEDIABOT_STORAGE_URL: storageUrl, MEDIABOT_STORAGE_S3_ACCESS_KEY_ID: S3RVER_KEY_ID, MEDIABOT_STORAGE_S3_SECRET_ACCESS_KEY: S3RVER_SECRET })[k]).target))!;
      const keys = (await storage.list(`demo/calls/${callId}/`)).map((o) => o.key);
      expect(keys.length).toBe(Number(m![2]));
      expect(keys).toContain(`demo/calls/${callId}/call.json`);
      for (const r of recordings) expect(keys).toContain(`demo/calls/${callId}/recordings/${r.file}`);
      await storage.close();
    } finally {
      await receiver.close();
      await s3.stop();
      removeS3rverFolder(s3);
    }
  }, 180_000);
});
