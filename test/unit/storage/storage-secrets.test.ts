/** Storage secrets stay out of logs: signed URLs' signatures and credentials, and the config's keys. */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { redactingLoggerOptions } from '../../../src/logger.js';
import { parseStorageSettings } from '../../../src/config/storage.js';
import { storageError } from '../../../src/storage/object-storage.js';

const SECRET = 'wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEY';
const SAS_SIG = 'q9Zx0vVtF0Yc5d2m3XnqkGJ3%2BtN8Bq1w%3D';

function capture(): { lines: string[]; log: pino.Logger } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, log: pino(redactingLoggerOptions(), sink) };
}

describe('storage secrets in logs', () => {
  it('censors the storage settings\' keys when a config object is logged', () => {
    const { lines, log } = capture();
    const storage = parseStorageSettings((k) => ({ MEDIABOT_STORAGE_URL: 's3://bucket-a', MEDIABOT_STORAGE_S3_ACCESS_KEY_ID: 'AKIAEXAMPLE', MEDIABOT_STORAGE_S3_SECRET_ACCESS_KEY: SECRET })[k]);
    log.info({ storage: storage.target }, 'config');
    const azure = parseStorageSettings((k) => ({ MEDIABOT_STORAGE_URL: 'azure-blob://calls', MEDIABOT_STORAGE_AZURE_CONNECTION_STRING: `AccountName=acme;AccountKey=${SECRET}` })[k]);
    log.info({ storage: azure.target }, 'config');
    expect(lines.join('')).not.toContain(SECRET);
    expect(lines.join('')).toContain('[redacted]');
  });

  it('redacts signed URL signatures and credentials in logged URLs and messages', () => {
    const { lines, log } = capture();
    log.info({ url: `http://127.0.0.1:9000/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20260101&X-Amz-Signature=${SECRET}` }, 'signed');
    log.info(`download at http://127.0.0.1:10000/devstoreaccount1/c/k?sv=2025-01-05&se=2026&sr=b&sp=r&sig=${SAS_SIG}`);
    const out = lines.join('');
    expect(out).not.toContain(SECRET);
    expect(out).not.toContain(SAS_SIG);
    expect(out).not.toContain('AKIAEXAMPLE');
  });

  it('keeps signatures and keys out of storage errors', () => {
    const err = storageError('uploading k', Object.assign(new Error(`denied for http://127.0.0.1/x?sig=${SAS_SIG}&X-Amz-Signature=${SECRET} AccountKey=${SECRET}`), { statusCode: 403, code: 'AuthorizationFailure' }));
    expect(err.code).toBe('MEDIABOT_STORAGE_FAILED');
    expect(err.message).toContain('AuthorizationFailure (HTTP 403)');
    expect(err.message).not.toContain(SECRET);
    expect(err.message).not.toContain(SAS_SIG);
  });
});
