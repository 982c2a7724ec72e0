/**
 * Builds and runs container images with buildah and podman, without a registry: the settings that
 * work on a plain Debian machine as root (chroot isolation for builds, runc with no default
 * ulimits for runs) and a stand-in for the base image made by make-node-base.sh.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BASE_IMAGE = 'docker.io/library/node:20-bookworm-slim';
const STANDIN_LABEL = 'mediabot.node-base-standin';

/** Why the container test cannot run here, or null when it can. */
export function missingTools(): string | null {
  const missing = ['buildah', 'podman', 'runc', 'debootstrap'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status !== 0);
  if (missing.length > 0) return `${missing.join(', ')} not installed (apt-get install buildah podman runc debootstrap)`;
  if (process.getuid?.() !== 0) return 'building a base image with debootstrap and running rootful podman need root';
  return null;
}

/** Cache folder for this machine's Node version: the stand-in's root filesystem and containers.conf. */
export function cacheDir(): string {
  const dir = join(tmpdir(), 'mediabot-container-test', `node-${process.version}-${process.arch}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** podman's environment: runc fails on rlimits unless containers.conf sets no default ulimits. */
export function podmanEnv(): NodeJS.ProcessEnv {
  const conf = join(cacheDir(), 'containers.conf');
  if (!existsSync(conf)) writeFileSync(conf, '[containers]\ndefault_ulimits = []\n');
  return { ...process.env, CONTAINERS_CONF: conf };
}

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; `onLine` sees each output line as it comes (progress). */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; onLine?: (line: string) => void; timeoutMs?: number } = {}): Promise<Result> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd ?? REPO, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let partial = '';
    const feed = (chunk: string): void => {
      if (!opts.onLine) return;
      partial += chunk;
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) opts.onLine(l);
    };
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
      feed(c);
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
      feed(c);
    });
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    child.on('error', reject);
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

function imageLabel(image: string, label: string): string | null {
  const r = spawnSync('podman', ['image', 'inspect', '--format', `{{index .Config.Labels "${label}"}}`, image], { env: podmanEnv(), encoding: 'utf8' });
  if (r.status !== 0) return null;
  return r.stdout.trim();
}

/**
 * Makes sure BASE_IMAGE is in local storage: a real one (pulled earlier) is used as it is; else the
 * stand-in for this Node version is imported, from the cached tar or made anew (about a minute).
 */
export async function ensureBaseImage(log: (line: string) => void): Promise<'official' | 'standin-cached' | 'standin-made'> {
  const label = imageLabel(BASE_IMAGE, STANDIN_LABEL);
  if (label !== null && label !== '' && label !== '<no value>' && label === process.version) return 'standin-cached';
  if (label !== null && (label === '' || label === '<no value>')) return 'official';
  const dir = cacheDir();
  const hadTar = existsSync(join(dir, 'rootfs.tar'));
  const r = await run('bash', [join(REPO, 'test/container/make-node-base.sh'), dir, BASE_IMAGE], { env: podmanEnv(), onLine: (l) => /^(debootstrap|node|podman import)/.test(l) && log(l) });
  if (r.code !== 0) throw new Error(`make-node-base.sh failed (${r.code}):\n${r.stderr.slice(-3000)}`);
  return hadTar ? 'standin-cached' : 'standin-made';
}

/**
 * `buildah bud` of the repository's Dockerfile. Layers are cached, so an unchanged tree builds in
 * seconds. A CA bundle named by NODE_EXTRA_CA_CERTS (a TLS-inspecting proxy) is mounted at a
 * neutral path and passed as the build argument of the same name.
 */
export async function buildImage(tag: string, buildArgs: Record<string, string>, log: (line: string) => void): Promise<Result> {
  const args = ['bud', '--isolation', 'chroot', '--pull=never', '--layers', '-t', tag];
  const ca = process.env['NODE_EXTRA_CA_CERTS'];
  if (ca && existsSync(ca)) {
    args.push('-v', `${dirname(ca)}:/run/build-ca:ro`, '--build-arg', `NODE_EXTRA_CA_CERTS=/run/build-ca/${basename(ca)}`);
  }
  for (const [k, v] of Object.entries(buildArgs)) args.push('--build-arg', `${k}=${v}`);
  args.push('-f', 'Dockerfile', '.');
  const started = Date.now();
  return run('buildah', args, {
    env: podmanEnv(),
    onLine: (l) => {
      if (/^\[\d\/\d\] STEP|^STEP|Using cache|^Successfully tagged|^mediabot:|^added \d+ packages|^removed \d+ packages/.test(l)) log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${l.slice(0, 160)}`);
    },
  });
}

/** `podman run` with the settings that work here (runc, host network). */
export function podmanRun(args: string[], opts: { timeoutMs?: number; onLine?: (line: string) => void } = {}): Promise<Result> {
  return run('podman', ['--runtime', 'runc', 'run', '--rm', '--network', 'host', ...args], { env: podmanEnv(), ...opts });
}
