/**
 * The container image as a user builds and runs it: the repository's Dockerfile built with buildah,
 * then `mediabot demo` run in it with podman, on a read-only root filesystem, as the image's
 * non-root user, with a tmpfs /tmp and a data volume. No registry is reachable from the machines
 * this runs on, so the base image is a local stand-in (make-node-base.sh) unless a real one is
 * already in local storage. The first build takes minutes; a second run with an unchanged tree
 * reuses the cached layers.
 */
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, cacheDir, ensureBaseImage, missingTools, podmanRun, run, podmanEnv } from './tools.js';

const IMAGE = 'localhost/mediabot-image-test:latest';
const DEMO_SECONDS = 4;
const BUILD_TIMEOUT_MS = 40 * 60_000;

const missing = missingTools();
if (missing) console.warn(`test/container/image.test.ts skipped: ${missing}`);

const log = (line: string): void => {
  process.stderr.write(`[image.test] ${line}\n`);
};

describe.skipIf(missing !== null)('container image (Dockerfile, buildah, podman)', () => {
  let dataDir = '';
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    let t = Date.now();
    const base = await ensureBaseImage(log);
    timings['base image'] = Date.now() - t;
    log(`base image: ${base} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    t = Date.now();
    const built = await buildImage(IMAGE, {}, log);
    timings['image build'] = Date.now() - t;
    if (built.code !== 0) throw new Error(`buildah bud failed (${built.code}):\n${(built.stdout + built.stderr).slice(-4000)}`);
    log(`image built in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    dataDir = mkdtempSync(join(cacheDir(), 'data-'));
    // The data volume belongs to the image's user, as fsGroup or a named volume would make it.
    chownSync(dataDir, 1000, 1000);
  }, BUILD_TIMEOUT_MS);

  afterAll(() => {
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    log(`timings: ${Object.entries(timings).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`).join(', ')}`);
  });

  it('is configured to run as a non-root user, with /data as MEDIABOT_DATA_DIR and the mediabot CLI as entrypoint', async () => {
    const r = await run('podman', ['image', 'inspect', '--format', '{{json .Config}}', IMAGE], { env: podmanEnv() });
    expect(r.code, r.stderr).toBe(0);
    const config = JSON.parse(r.stdout) as { User: string; Entrypoint: string[]; Cmd: string[]; Env: string[]; Volumes: Record<string, unknown>; ExposedPorts: Record<string, unknown> };
    expect(config.User).toBe('1000:1000');
    expect(config.Entrypoint).toEqual(['node', '/app/bin/mediabot.js']);
    expect(config.Cmd).toEqual(['start']);
    expect(config.Env).toContain('MEDIABOT_DATA_DIR=/data');
    expect(Object.keys(config.Volumes)).toContain('/data');
    expect(Object.keys(config.ExposedPorts)).toContain('3978/tcp');
  });

  it('holds production dependencies only, and its native parts load', async () => {
    const script = [
      // devDependencies pruned
      "const fs = require('node:fs');",
      "for (const d of ['typescript', 'vitest', 'tsx', 'playwright-core']) if (fs.existsSync('/app/node_modules/' + d)) throw new Error(d + ' is in the image');",
      "require('/app/node_modules/@discordjs/opus'); require('/app/node_modules/better-sqlite3');",
      "import('/app/dist/src/media/codec/native.js').then((m) => { if (!m.native) throw new Error('native kernels did not load'); console.log('uid=' + process.getuid() + ' native=ok'); });",
    ].join('\n');
    const r = await podmanRun(['--read-only', '--tmpfs', '/tmp', '--cap-drop', 'all', '--entrypoint', 'node', IMAGE, '-e', script], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('uid=1000 native=ok');
  }, 180_000);

  it(`runs \`mediabot demo --seconds ${DEMO_SECONDS}\` to its summary on a read-only root, non-root, with a data volume`, async () => {
    const t = Date.now();
    const r = await podmanRun(
      [
        '--read-only',
        '--tmpfs',
        '/tmp',
        '--cap-drop',
        'all',
        '--security-opt',
        'no-new-privileges',
        '-v',
        `${dataDir}:/data`,
        // The host network is shared with other tests: an ephemeral HTTP port.
        '-e',
        'MEDIABOT_PORT=0',
        IMAGE,
        'demo',
        '--seconds',
        String(DEMO_SECONDS),
      ],
      { timeoutMs: 300_000, onLine: (l) => l.startsWith('»') && log(`demo ${l}`) },
    );
    timings['demo run'] = Date.now() - t;
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    for (const s of ['call established', 'talk time per speaker:', 'files written:', 'demo finished.']) expect(r.stdout).toContain(s);
    expect(r.stdout).toMatch(/── summary ─+/);
    expect(r.stdout).toContain('data dir   /data');
    expect(r.stdout).toMatch(/call record \S+ in \/data\/mediabot\.db/);

    // Everything went to the volume, written by uid 1000.
    const db = join(dataDir, 'mediabot.db');
    expect(existsSync(db)).toBe(true);
    expect(statSync(db).uid).toBe(1000);
    const recordings = readdirSync(join(dataDir, 'recordings'));
    expect(recordings.length).toBe(1);
    expect(readdirSync(join(dataDir, 'recordings', recordings[0]!))).toEqual(expect.arrayContaining(['mix.opus', 'mix.wav']));
  }, 360_000);
});
