/**
 * The published package works from outside: `npm pack` (which builds dist through `prepare`), a
 * separate package installs the tarball, an ESM script there imports 'mediabot', 'mediabot/hooks'
 * and 'mediabot/testing' and runs a call against the Graph emulator, and tsc type-checks a file
 * importing 'mediabot' (an expected type error proves the types resolved, not `any`).
 *
 * Speed: dependencies come from the npm cache (--prefer-offline; the registry is asked only for
 * metadata not cached). Their install scripts are skipped and the native builds of @discordjs/opus
 * and better-sqlite3 are copied from this checkout (same versions, same Node): compiling them again
 * takes minutes and tests nothing of mediabot's. mediabot's own install script does run, and
 * builds its native codec from the tarball's sources.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const progress = (line: string): void => {
  process.stderr.write(`[pack] ${line}\n`);
};

const work = mkdtempSync(join(tmpdir(), 'mediabot-pack-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function sh(cmd: string, args: string[], cwd: string, timeoutMs = 240_000): Promise<string> {
  const t0 = Date.now();
  try {
    const { stdout } = await run(cmd, args, { cwd, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, npm_config_update_notifier: 'false' } });
    progress(`${cmd} ${args.join(' ')}: ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

/** Copies a dependency's built native files from this checkout into the consumer's node_modules. */
function copyBuilt(dep: string, entries: string[]): void {
  for (const entry of entries) {
    const from = join(ROOT, 'node_modules', dep, entry);
    if (existsSync(from)) cpSync(from, join(work, 'app', 'node_modules', dep, entry), { recursive: true });
  }
}

const SCRIPT = `
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMediabot, loadConfig, buildApp, MediabotError } from 'mediabot';
import { createTranscriptHook, transcriptToWebVtt } from 'mediabot/hooks';
import { startGraphEmulator, wer } from 'mediabot/testing';

const graph = await startGraphEmulator();
const config = loadConfig({ ...graph.env, MEDIABOT_PORT: '0', MEDIABOT_DATA_DIR: mkdtempSync(join(tmpdir(), 'consumer-')), MEDIABOT_LOG_LEVEL: 'silent', MEDIABOT_MEDIA_THREADS: '1' });
const bot = await createMediabot(config, { caPem: graph.caPem });
const url = await bot.listen();
const health = (await fetch(url + '/healthz')).status;
const call = await bot.calls.join({ joinWebUrl: graph.emulator.createMeeting({ people: 1 }).joinWebUrl });
await bot.events.next('call.state', (e) => e.state === 'established', 30000);
const talked = await bot.events.next('talk.start', () => true, 30000);
await bot.calls.hangUp(call.id);
const artifacts = await bot.calls.whenFinalized(call.id);
await bot.close();
await graph.close();
const vtt = transcriptToWebVtt([{ sourceId: 's', startMs: 0, endMs: 1000, text: 'hi' }]);
console.log(JSON.stringify({
  health, callId: call.id, talkedSource: talked.sourceId, files: artifacts.files,
  wer: wer([{ reference: 'one two', hypothesis: 'one three' }]).wer,
  vtt: vtt.startsWith('WEBVTT'), hook: createTranscriptHook().name,
  buildApp: typeof buildApp, error: new MediabotError('MEDIABOT_NOT_FOUND', 'x').code,
}));
`;

const TYPED = `
import { createMediabot, loadConfig, type Mediabot, type LiveEventOf } from 'mediabot';
import type { InlineHook } from 'mediabot/hooks';
import { startGraphEmulator } from 'mediabot/testing';

export async function main(): Promise<string> {
  const graph = await startGraphEmulator();
  const bot: Mediabot = await createMediabot(loadConfig(graph.env), { caPem: graph.caPem });
  bot.events.on('transcript.final', (e: LiveEventOf<'transcript.final'>) => console.log(e.sourceId, e.text.toUpperCase()));
  // @ts-expect-error join needs a joinWebUrl: this line only type-checks if the types resolved
  await bot.calls.join({});
  const hook: InlineHook = { name: 'n', onFrame: (frame) => void frame.mix16.length };
  return hook.name + bot.url;
}
`;

describe('the packed package', () => {
  it('installs from its tarball and works from a separate package (ESM imports, types)', async () => {
    progress(`work dir ${work}`);
    // prepare builds dist (with declarations) before packing.
    const packed = JSON.parse(await sh('npm', ['pack', '--json', '--pack-destination', work], ROOT, 300_000)) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const files = packed[0]!.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/hooks.d.ts', 'dist/testing/index.d.ts', 'bin/mediabot.js', 'native/mediabot_native.c', 'scripts/build-native.mjs', 'src/server/public/index.html']));
    expect(files.filter((f) => f.startsWith('test/') || f.startsWith('dist/test/') || f.endsWith('.map'))).toEqual([]);
    expect(files.some((f) => f.startsWith('assets/speech/'))).toBe(true);

    const app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
    await sh('npm', ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', join(work, packed[0]!.filename)], app, 300_000);
    copyBuilt('@discordjs/opus', ['prebuild', ...readdirSync(join(ROOT, 'node_modules/@discordjs/opus')).filter((d) => d.startsWith('build'))]);
    copyBuilt('better-sqlite3', ['build/Release/better_sqlite3.node']);
    // mediabot's own install script, as npm runs it: builds the native codec from the tarball.
    await sh('npm', ['rebuild', 'mediabot', '--foreground-scripts'], app, 180_000);
    expect(existsSync(join(app, 'node_modules/mediabot/native/build/Release/mediabot_native.node'))).toBe(true);

    writeFileSync(join(app, 'smoke.mjs'), SCRIPT);
    const out = JSON.parse((await sh('node', ['smoke.mjs'], app, 120_000)).trim().split('\n').pop()!) as Record<string, unknown>;
    expect(out).toMatchObject({ health: 200, wer: 0.5, vtt: true, hook: 'transcript', buildApp: 'function', error: 'MEDIABOT_NOT_FOUND' });
    expect(out['callId']).toMatch(/^[0-9a-f-]{36}$/);
    expect(String(out['talkedSource'])).not.toBe('');
    expect((out['files'] as string[]).length).toBeGreaterThan(0);

    // Types: resolved through package.json "exports" → dist/*.d.ts, with node's types from this checkout.
    writeFileSync(join(app, 'typed.ts'), TYPED);
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: true, types: ['node'], typeRoots: [join(ROOT, 'node_modules/@types')] }, files: ['typed.ts'] }),
    );
    await sh(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], app, 120_000);
  }, 900_000);
});
