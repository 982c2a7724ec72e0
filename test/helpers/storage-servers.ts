/**
 * Real object storage servers on 127.0.0.1 for the storage tests: Azurite's blob service (npm
 * `azurite`, a child process, in memory) and s3rver (npm, in-process, a temporary folder). Both
 * can be stopped and started again on the same port, to test refused uploads.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import S3rver from 's3rver';
import { restartableChild } from './child-server.js';
import { freePort } from './redis.js';

const REPO = resolve(import.meta.dirname, '../..');

/** Azurite's well-known development account (public, documented by Microsoft). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
/** s3rver's fixed credentials. */
export const S3RVER_KEY_ID = 'S3RVER';
export const S3RVER_SECRET = 'S3RVER';

export interface StorageServer {
  port: number;
  /** The service base URL (Azurite: with the account path). */
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

function listening(port: number): Promise<boolean> {
  return new Promise((r) => {
    const c = createConnection({ host: '127.0.0.1', port });
    c.once('connect', () => {
      c.destroy();
      r(true);
    });
    c.once('error', () => r(false));
  });
}

export interface Azurite extends StorageServer {
  connectionString: string;
}

export async function startAzurite(): Promise<Azurite> {
  const port = await freePort();
  const server = restartableChild(
    `azurite-blob on ${port}`,
    // The SDK speaks a newer API version than this Azurite lists; the blob operations used are the same.
    () =>
      spawn(process.execPath, [join(REPO, 'node_modules/azurite/dist/src/blob/main.js'), '--blobHost', '127.0.0.1', '--blobPort', String(port), '--inMemoryPersistence', '--disableTelemetry', '--silent', '--skipApiVersionCheck'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        cwd: tmpdir(),
      }),
    () => listening(port),
    30_000,
    100,
  );
  await server.start();
  const url = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  return { port, url, connectionString: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${url};`, stop: server.stop, start: server.start };
}

export interface S3Server extends StorageServer {
  /** The objects' folder. */
  directory: string;
}

/** s3rver with the given buckets, its objects in a temporary folder kept across stop/start. */
export async function startS3rver(buckets: string[]): Promise<S3Server> {
  const port = await freePort();
  const directory = mkdtempSync(join(tmpdir(), 'mediabot-s3rver-'));
  let server: S3rver | null = null;
  const start = async (): Promise<void> => {
    const s = new S3rver({ address: '127.0.0.1', port, silent: true, directory, resetOnClose: false, configureBuckets: buckets.map((name) => ({ name })) });
    await s.run();
    server = s;
  };
  await start();
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    directory,
    start,
    stop: async () => {
      const s = server;
      server = null;
      await s?.close();
    },
  };
}

export function removeS3rverFolder(s: S3Server): void {
  rmSync(s.directory, { recursive: true, force: true });
}
