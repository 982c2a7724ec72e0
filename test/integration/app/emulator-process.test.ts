/**
 * The documented path for running workers against a separate emulator process: `mediabot emulator
 * --meeting --hold` in one process, `mediabot start` in another configured only from the variables
 * it printed (the CA through MEDIABOT_CA_FILE). The held meeting stays up after its people left,
 * until it is ended through the printed control route.
 */
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { emulatorControl, REPO, startWorkerProcess, until, type EmulatorAccess, type WorkerProcess } from './worker-process.js';

const children: ChildProcess[] = [];
let worker: WorkerProcess | undefined;
afterAll(() => {
  for (const c of [...children, ...(worker ? [worker.child] : [])]) if (c.exitCode === null) c.kill('SIGKILL');
});

describe('mediabot emulator as a separate process', () => {
  it('a worker trusts it through MEDIABOT_CA_FILE, and a held meeting stays up until it is ended', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'emu-proc-'));
    const emu = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'emulator', '--meeting', '--hold', '--people', '1'], {
      cwd: REPO,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? dir, MEDIABOT_DATA_DIR: dir, MEDIABOT_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(emu);
    let out = '';
    emu.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    emu.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await until('the emulator to print its settings', () => (out.includes('Ctrl-C') ? true : undefined), 60_000);

    // Everything a worker needs is printed as MEDIABOT_* lines, its CA included.
    const env: Record<string, string> = {};
    for (const m of out.matchAll(/^\s+(MEDIABOT_[A-Z_]+)=(\S+)$/gm)) env[m[1]!] = m[2]!;
    expect(Object.keys(env).sort()).toEqual(['MEDIABOT_AUTHORITY_URL', 'MEDIABOT_CALLBACK_OPENID_URL', 'MEDIABOT_CA_FILE', 'MEDIABOT_CLIENT_ID', 'MEDIABOT_CLIENT_SECRET', 'MEDIABOT_GRAPH_URL', 'MEDIABOT_TENANT_ID']);
    env['MEDIABOT_API_TOKEN'] = randomBytes(32).toString('base64url');
    const access: EmulatorAccess = {
      emulator: { baseUrl: /listening on (https:\/\/\S+)/.exec(out)![1]!, controlToken: /control token: (\S+)/.exec(out)![1]! },
      caPem: readFileSync(env['MEDIABOT_CA_FILE']!, 'utf8'),
    };
    const meetingId = /meeting id: (\S+)/.exec(out)![1]!;
    const joinWebUrl = /meeting joinWebUrl: (\S+)/.exec(out)![1]!;
    // The control routes it needs are the printed ones.
    expect(out).toContain(`POST /_emulator/meetings/{id}/end`);
    expect(out).toContain(`held: it stays up until POST ${access.emulator.baseUrl}/_emulator/meetings/${meetingId}/end`);

    worker = await startWorkerProcess({ env }, { MEDIABOT_TRANSCRIBER: 'none' });
    const w = worker;
    const created = await w.api<{ id: string }>('POST', '/v1/calls', { joinWebUrl });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const callId = created.body.id;
    await until('established', async () => ((await w.api<{ state: string }>('GET', `/v1/calls/${callId}`)).body.state === 'established' ? true : undefined), 30_000);

    // The person speaks, stays a while and leaves; the held meeting (and the bot's call) stays up.
    await until('the person to leave', async () => {
      const c = await emulatorControl<{ departed: unknown[] }>(access, 'GET', `/_emulator/calls/${callId}`);
      return c.body.departed.length === 1 ? true : undefined;
    }, 90_000, 500);
    await new Promise((r) => setTimeout(r, 4_000));
    expect((await emulatorControl<{ state: string }>(access, 'GET', `/_emulator/calls/${callId}`)).body.state).toBe('established');
    expect((await w.api<{ state: string }>('GET', `/v1/calls/${callId}`)).body.state).toBe('established');

    const ended = await emulatorControl<{ ended: string[] }>(access, 'POST', `/_emulator/meetings/${meetingId}/end`);
    expect(ended.status).toBe(200);
    expect(ended.body.ended).toEqual([callId]);
    await until('the worker to see the call end', async () => ((await w.api<{ state: string }>('GET', `/v1/calls/${callId}`)).body.state === 'terminated' ? true : undefined), 30_000);
    await until('the artifacts', async () => {
      try {
        return JSON.parse(readFileSync(join(w.dataDir, 'calls', callId, 'call.json'), 'utf8')) as unknown;
      } catch {
        return undefined;
      }
    }, 60_000);

    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    const emuExit = new Promise<number | null>((r) => emu.once('exit', (c) => r(c)));
    emu.kill('SIGINT');
    expect(await emuExit).toBe(0);
  }, 240_000);
});
