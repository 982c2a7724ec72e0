/**
 * Webhooks across a crash: `mediabot start` runs as a child process against a Graph emulator this
 * test runs, with MEDIABOT_WEBHOOK_URL and a per-call URL pointing at a real receiver on 127.0.0.1
 * that verifies every signature with the `standardwebhooks` library. The receiver refuses the
 * first deliveries, then accepts the call's URL while refusing the global one; mediabot is killed
 * with SIGKILL mid-call with messages delivered and messages pending, and a second process on the
 * same data folder delivers the rest (refused twice more first). The receiver then holds every message of
 * the outbox exactly once after de-duplication by webhook-id, each call's messages in order, with
 * the call's metadata; a call made after the restart delivers its end, artifacts and recordings.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, until } from '../../helpers/redis.js';
import WebSocket from 'ws';
import { startGraphEmulator, type GraphEmulator } from '../../../testing/index.js';
import { newSecret, startReceiver, type Receiver } from './receiver.js';

const REPO = resolve(import.meta.dirname, '../../..');

interface Delivery {
  seq: number;
  id: string;
  callId: string | null;
  url: string;
  type: string;
  status: string;
  attempts: number;
  payload: { type: string; timestamp: string; data: Record<string, unknown> };
}

describe('webhooks across a kill -9 of mediabot', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mediabot-webhooks-'));
  const secret = newSecret();
  let graph: GraphEmulator;
  let receiver: Receiver;
  let child: ChildProcess | undefined;
  let output = '';
  let port = 0;
  const rtpBase = 56000 + (process.pid % 100) * 10;

  beforeAll(async () => {
    graph = await startGraphEmulator();
    writeFileSync(join(dir, 'ca.pem'), graph.caPem);
    receiver = await startReceiver(secret);
    port = await freePort();
  }, 60_000);

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    await receiver?.close();
    await graph?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const auth = (): Record<string, string> => ({ authorization: `Bearer ${graph.env['MEDIABOT_API_TOKEN']}` });
  const base = (): string => `http://127.0.0.1:${port}`;
  const diagnostics = (): string => `child output:\n${output.slice(-4000)}\nreceiver: ${receiver.requests.length} requests, bad ${JSON.stringify(receiver.bad.slice(0, 3))}`;

  async function startWorker(): Promise<void> {
    output = '';
    child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'start'], {
      cwd: REPO,
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: dir,
        NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem'),
        ...graph.env,
        MEDIABOT_HOST: '127.0.0.1',
        MEDIABOT_PORT: String(port),
        MEDIABOT_DATA_DIR: join(dir, 'data'),
        MEDIABOT_RTP_PORTS: `${rtpBase}-${rtpBase + 9}`,
        MEDIABOT_MEDIA_THREADS: '1',
        MEDIABOT_TRANSCRIBER: 'none',
        MEDIABOT_LOG_LEVEL: 'warn',
        MEDIABOT_WEBHOOK_URL: `${receiver.url}/global`,
        MEDIABOT_WEBHOOK_SECRET: secret,
        MEDIABOT_FETCH_ALLOWLIST: '127.0.0.1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const c = child;
    c.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    c.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    await until('the worker listening', () => {
      if (c.exitCode !== null) throw new Error(`mediabot start exited with ${c.exitCode}\n${diagnostics()}`);
      return /mediabot: listening on/.test(output) ? true : undefined;
    }, 60_000, 150, diagnostics);
  }

  const api = async <T>(path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> => {
    const res = await fetch(base() + path, { ...init, headers: { ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...auth(), ...(init.headers as Record<string, string> | undefined) } });
    return { status: res.status, body: (await res.json()) as T };
  };
  const deliveries = async (): Promise<Delivery[]> => (await api<{ deliveries: Delivery[] }>('/v1/webhooks/deliveries?limit=1000')).body.deliveries;
  const pending = async (): Promise<number> => (await api<{ pending: number }>('/v1/webhooks/deliveries?status=pending&limit=1')).body.pending;

  it('delivers every message exactly once after de-duplication, in order per call, across SIGKILL and restart', async () => {
    await startWorker();
    // The first deliveries are refused; then the call's own URL accepts while the global one keeps refusing until the crash.
    receiver.refuse = (r, i) => i < 3 || r.path === '/global';
    const meeting = graph.emulator.createMeeting({ subject: 'webhooks', people: 2 });
    const created = await api<{ id: string; metadata?: unknown }>('/v1/calls', {
      method: 'POST',
      body: JSON.stringify({ joinWebUrl: meeting.joinWebUrl, webhookUrl: `${receiver.url}/call`, metadata: { ticket: 'T-1', tags: ['a'] } }),
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const firstCall = created.body.id;
    await until('the call established', async () => ((await api<{ state: string }>(`/v1/calls/${firstCall}`)).body.state === 'established' ? true : undefined), 30_000, 150, diagnostics);
    await until('participants joined queued', async () => ((await deliveries()).some((d) => d.type === 'participant.joined') ? true : undefined), 30_000, 150, diagnostics);
    // Some attempts refused, messages pending: now the crash.
    await until('deliveries accepted on the call URL before the crash', () => (receiver.accepted().some((r) => r.path === '/call' && r.payload.type === 'participant.joined') ? true : undefined), 30_000, 150, diagnostics);
    const beforeKill = await deliveries();
    expect(beforeKill.filter((d) => d.status === 'pending').length).toBeGreaterThan(0);
    expect(beforeKill.filter((d) => d.status === 'delivered').length).toBeGreaterThan(0);
    const killed = child!;
    const exited = new Promise((r) => killed.once('exit', r));
    killed.kill('SIGKILL');
    await exited;
    expect(killed.signalCode).toBe('SIGKILL');

    // The same data folder: pending rows resume (the first two attempts after the restart are refused too).
    const requestsAtRestart = receiver.requests.length;
    receiver.refuse = (_r, i) => i < requestsAtRestart + 2;
    await startWorker();
    await until('the outbox drained after the restart', async () => ((await pending()) === 0 ? true : undefined), 60_000, 150, diagnostics);

    // A call after the restart, to its end: state, artifacts, recordings.
    const meeting2 = graph.emulator.createMeeting({ subject: 'webhooks 2', people: 1 });
    const second = await api<{ id: string }>('/v1/calls', { method: 'POST', body: JSON.stringify({ joinWebUrl: meeting2.joinWebUrl, metadata: { ticket: 'T-2' }, dedupKey: 'second-call', recording: { files: ['mix'], format: 'wav' }, transcription: { engine: 'none' } }) });
    expect(second.status, JSON.stringify(second.body)).toBe(201);
    const again = await api<{ id: string }>('/v1/calls', { method: 'POST', body: JSON.stringify({ joinWebUrl: meeting2.joinWebUrl, dedupKey: 'second-call' }) });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(second.body.id);
    const secondCall = second.body.id;
    await until('the second call established', async () => ((await api<{ state: string }>(`/v1/calls/${secondCall}`)).body.state === 'established' ? true : undefined), 30_000, 150, diagnostics);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await api(`/v1/calls/${secondCall}`, { method: 'DELETE' })).status).toBe(202);
    await until('recording.ready queued', async () => ((await deliveries()).some((d) => d.callId === secondCall && d.type === 'recording.ready') ? true : undefined), 60_000, 150, diagnostics);
    await until('the outbox drained', async () => ((await pending()) === 0 ? true : undefined), 60_000, 150, diagnostics);

    // Every signature verified; every outbox message arrived, and nothing else.
    expect(receiver.bad).toEqual([]);
    const rows = await deliveries();
    expect(rows.every((d) => d.status === 'delivered'), JSON.stringify(rows.filter((d) => d.status !== 'delivered'))).toBe(true);
    const accepted = receiver.accepted();
    expect(new Set(accepted.map((a) => a.id))).toEqual(new Set(rows.map((d) => d.id)));
    expect(accepted).toHaveLength(rows.length);
    for (const a of accepted) expect(a.payload).toEqual(rows.find((d) => d.id === a.id)!.payload);
    // Messages in flight at the kill and refused ones came back with their id.
    expect(receiver.requests.length).toBeGreaterThan(accepted.length);

    // In order per call and target: first arrivals follow the outbox sequence.
    const lanes = new Map<string, Delivery[]>();
    for (const d of [...rows].sort((a, b) => a.seq - b.seq)) lanes.set(`${d.callId}|${d.url}`, [...(lanes.get(`${d.callId}|${d.url}`) ?? []), d]);
    for (const lane of lanes.values()) {
      const firstArrival = lane.map((d) => receiver.requests.findIndex((r) => r.id === d.id));
      expect(firstArrival).toEqual([...firstArrival].sort((a, b) => a - b));
    }

    // Both targets, the metadata in every message of a call, the event kinds.
    const ofFirst = accepted.filter((a) => a.payload.data['callId'] === firstCall);
    expect(ofFirst.some((a) => a.path === '/call') && ofFirst.some((a) => a.path === '/global')).toBe(true);
    for (const a of ofFirst) expect(a.payload.data['metadata']).toEqual({ ticket: 'T-1', tags: ['a'] });
    expect(ofFirst.filter((a) => a.path === '/call').map((a) => a.payload.type)).toEqual(expect.arrayContaining(['call.state', 'participant.joined']));
    const ofSecond = accepted.filter((a) => a.payload.data['callId'] === secondCall);
    for (const a of ofSecond) expect(a.path).toBe('/global');
    for (const a of ofSecond) expect(a.payload.data['metadata']).toEqual({ ticket: 'T-2' });
    const types = ofSecond.map((a) => a.payload.type);
    expect(types).toEqual(expect.arrayContaining(['call.state', 'participant.joined', 'artifacts.written', 'recording.ready']));
    const terminated = ofSecond.find((a) => a.payload.type === 'call.state' && a.payload.data['state'] === 'terminated');
    expect(terminated?.payload.data['reason']).toBeTruthy();
    const ready = ofSecond.find((a) => a.payload.type === 'recording.ready')!;
    // The call's own recording settings: the mix only, WAV only.
    const files = ready.payload.data['recordings'] as Array<{ url: string; sourceId: string; format: string }>;
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(f).toMatchObject({ sourceId: 'mix', format: 'wav' });
    expect(ofFirst.some((a) => a.payload.type === 'recording.ready')).toBe(false);

    // Metrics.
    const metrics = await (await fetch(`${base()}/metrics`)).text();
    expect(metrics).toMatch(/mediabot_webhook_delivered_total\{type="recording.ready"\} [1-9]/);
    expect(metrics).toMatch(/mediabot_webhook_pending 0/);
    expect(metrics).toMatch(/mediabot_webhook_failed_attempts_total\{type="[a-z.]+"\} [1-9]/);

    // Filters, and a replay over the API: the same webhook-id and body again.
    const ofSecondRows = (await api<{ deliveries: Delivery[] }>(`/v1/webhooks/deliveries?callId=${encodeURIComponent(secondCall)}&status=delivered`)).body.deliveries;
    expect(ofSecondRows.length).toBe(rows.filter((d) => d.callId === secondCall).length);
    const target = ofSecondRows.find((d) => d.type === 'recording.ready')!;
    const before = receiver.requests.length;
    const replay = await api<Delivery>(`/v1/webhooks/deliveries/${target.id}/replay`, { method: 'POST' });
    expect(replay.status).toBe(202);
    expect(replay.body).toMatchObject({ id: target.id, status: 'pending' });
    const replayed = await until('the replayed message', () => receiver.requests.slice(before).find((r) => r.id === target.id), 20_000, 150, diagnostics);
    expect(replayed.verified).toBe(true);
    expect(JSON.parse(replayed.body)).toEqual(target.payload);
    expect((await api(`/v1/webhooks/deliveries/msg_nope/replay`, { method: 'POST' })).status).toBe(404);
    expect((await api(`/v1/webhooks/deliveries?status=sent`)).status).toBe(400);
  }, 240_000);

  it('refuses per-call settings it cannot honour with 400 MEDIABOT_BAD_REQUEST and a clear message', async () => {
    const meeting = graph.emulator.createMeeting({ subject: 'settings', people: 0 });
    const bad = async (extra: Record<string, unknown>): Promise<string> => {
      const r = await api<{ error: { code: string; message: string } }>('/v1/calls', { method: 'POST', body: JSON.stringify({ joinWebUrl: meeting.joinWebUrl, ...extra }) });
      expect(r.status, JSON.stringify(extra)).toBe(400);
      expect(['MEDIABOT_BAD_REQUEST', 'MEDIABOT_URL_REFUSED']).toContain(r.body.error.code);
      return r.body.error.message;
    };
    expect(await bad({ transcription: { engine: 'whisper' } })).toMatch(/transcription\/engine|engine/);
    expect(await bad({ transcription: { engine: 'azure' } })).toMatch(/MEDIABOT_AZURE_SPEECH_KEY/);
    expect(await bad({ transcription: { engine: 'pocketsphinx', language: 'de-DE' } })).toMatch(/en-US/);
    expect(await bad({ transcription: { engine: 'none', partials: true } })).toMatch(/partials/);
    expect(await bad({ transcription: { speed: 2 } })).toMatch(/transcription\.speed is not a known setting/);
    expect(await bad({ recording: { enabled: false, files: ['mix'] } })).toMatch(/recording enabled/);
    expect(await bad({ recording: { files: ['video'] } })).toMatch(/files/);
    expect(await bad({ webhookUrl: 'ftp://example.com/x' })).toMatch(/http/);
    expect(await bad({ webhookUrl: 'http://127.0.0.2/hook' })).toMatch(/refused/);
    expect(await bad({ metadata: { blob: 'x'.repeat(5000) } })).toMatch(/at most 4096/);
    expect(await bad({ metadata: ['not', 'an', 'object'] })).toMatch(/metadata/);
    expect(await bad({ captions: 'off' })).toMatch(/captions is not a known setting/);
    expect(await bad({ consent: 'off' })).toMatch(/consent must be object/);
    expect(await bad({ consent: { announcement: 'off', voice: 'en' } })).toMatch(/consent\.voice is not a known setting/);
    expect(await bad({ joinAt: 'tomorrow' })).toMatch(/joinAt/);
    expect(await bad({ joinAt: new Date(Date.now() - 3_600_000).toISOString() })).toMatch(/in the past/);
    expect(await bad({ joinAt: new Date(Date.now() + 8 * 86_400_000).toISOString() })).toMatch(/7 days/);
    expect(await bad({ dedupKey: '' })).toMatch(/dedupKey/);
    // The OpenAPI document describes them.
    const doc = (await (await fetch(`${base()}/docs/json`, { headers: auth() })).json()) as { paths: Record<string, { post?: { requestBody?: { content: Record<string, { schema: { properties: Record<string, unknown> } }> } } }> };
    const props = doc.paths['/v1/calls']!.post!.requestBody!.content['application/json']!.schema.properties;
    for (const k of ['transcription', 'recording', 'webhookUrl', 'metadata', 'dedupKey', 'joinAt']) expect(Object.keys(props)).toContain(k);
  }, 60_000);

  it('runs a scheduled join (joinAt) after a restart, with its settings', async () => {
    const meeting = graph.emulator.createMeeting({ subject: 'scheduled', people: 1 });
    const joinAt = new Date(Date.now() + 6000);
    const r = await api<{ scheduled: { id: string; state: string; joinAt: string } }>('/v1/calls', {
      method: 'POST',
      body: JSON.stringify({ joinWebUrl: meeting.joinWebUrl, joinAt: joinAt.toISOString(), dedupKey: 'scheduled-1', webhookUrl: `${receiver.url}/scheduled`, metadata: { ticket: 'T-3' } }),
    });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    expect(r.body.scheduled).toMatchObject({ state: 'scheduled', joinAt: joinAt.toISOString() });
    const id = r.body.scheduled.id;
    // The same dedupKey: the same scheduled request.
    const dup = await api<{ scheduled: { id: string } }>('/v1/calls', { method: 'POST', body: JSON.stringify({ joinWebUrl: meeting.joinWebUrl, joinAt: joinAt.toISOString(), dedupKey: 'scheduled-1' }) });
    expect(dup.status).toBe(200);
    expect(dup.body.scheduled.id).toBe(id);
    expect((await api<{ scheduled: Array<{ id: string }> }>('/v1/scheduled-calls')).body.scheduled.map((s) => s.id)).toContain(id);

    const callCount = (): number => graph.emulator.stats().calls.active + graph.emulator.stats().calls.ended;
    const callsBefore = callCount();
    const killed = child!;
    const exited = new Promise((res) => killed.once('exit', res));
    killed.kill('SIGKILL');
    await exited;
    await startWorker();
    // The live events of the call carry its metadata too.
    const live: Array<Record<string, unknown>> = [];
    const socket = new WebSocket(`ws://127.0.0.1:${port}/v1/events?token=${encodeURIComponent(graph.env['MEDIABOT_API_TOKEN']!)}`);
    socket.on('message', (m: Buffer) => live.push(JSON.parse(m.toString()) as Record<string, unknown>));
    await new Promise((res, rej) => socket.once('open', res).once('error', rej));
    const done = await until(
      'the scheduled call created',
      async () => {
        const s = (await api<{ state: string; callId: string | null; error: string | null }>(`/v1/scheduled-calls/${id}`)).body;
        if (s.state === 'failed') throw new Error(`scheduled join failed: ${s.error}`);
        return s.state === 'created' ? s : undefined;
      },
      40_000,
      150,
      diagnostics,
    );
    expect(Date.now()).toBeGreaterThanOrEqual(joinAt.getTime());
    const callId = done.callId!;
    await until('the scheduled call established', async () => ((await api<{ state: string }>(`/v1/calls/${callId}`)).body.state === 'established' ? true : undefined), 30_000, 150, diagnostics);
    const own = await until('its webhook on its own URL', () => receiver.accepted().find((a) => a.path === '/scheduled' && a.payload.data['callId'] === callId && a.payload.data['state'] === 'established'), 30_000, 150, diagnostics);
    expect(own.payload.data['metadata']).toEqual({ ticket: 'T-3' });
    const liveOfCall = await until('live events of the call', () => {
      const l = live.filter((m) => m['callId'] === callId);
      return l.some((m) => m['type'] === 'call.state') ? l : undefined;
    }, 20_000, 150, diagnostics);
    for (const m of liveOfCall) expect(m['metadata']).toEqual({ ticket: 'T-3' });
    socket.close();
    // Created once, not joined again by the restart.
    expect((await api<{ scheduled: unknown[] }>('/v1/scheduled-calls')).body.scheduled).toEqual([]);
    expect(callCount()).toBe(callsBefore + 1);
  }, 120_000);
});
