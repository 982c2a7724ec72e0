/**
 * A fleet on loopback: a real redis-server, the Graph emulator, and two mediabot instances as
 * separate processes. A call joined through one instance is listed, read and hung up through the
 * other, whose events socket carries its events; kill -9 of an instance mid-call gets its call
 * hung up through Graph by the survivor with MEDIABOT_WORKER_LOST; Redis stopped and restarted
 * (empty) mid-call leaves both calls going and the registry whole again; SIGTERM to an instance
 * mid-call turns it unready, sends new calls to the other, keeps its live call to the meeting's
 * end, then it exits 0 (last, since it stops that instance).
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DEFAULT_SCRIPT, startGraphEmulator, type GraphEmulator, type SpeakerScript } from '../../../testing/index.js';
import { freePort, redisMissing, startRedis, until, type RedisServer } from '../../helpers/redis.js';
import { startInstance, writeCa, type Instance } from './instances.js';

const missing = redisMissing();
if (missing) console.warn(`skipping the fleet tests: ${missing}`);
const pocketsphinx = spawnSync('pocketsphinx_continuous', ['-h'], { stdio: 'ignore' }).error === undefined;
if (!pocketsphinx) console.warn('fleet tests: pocketsphinx_continuous is not installed; checking call state and speaker events instead of transcript lines');

/** The registry's heartbeat expiry (src/cluster/registry.ts DEFAULT_TTL_MS). */
const TTL_MS = 10_000;

let redis: RedisServer;
let graph: GraphEmulator;
let a: Instance;
let b: Instance;
let env: Record<string, string>;
let rtpBase: number;
const sockets: WebSocket[] = [];

interface Collected {
  events: any[];
  ws: WebSocket;
}

async function events(i: Instance, query = ''): Promise<Collected> {
  const ws = new WebSocket(`${i.url.replace('http', 'ws')}/v1/events?token=${env['MEDIABOT_API_TOKEN']}${query}`);
  sockets.push(ws);
  const c: Collected = { events: [], ws };
  ws.on('message', (m) => c.events.push(JSON.parse(String(m))));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return c;
}

const emulatorCall = (id: string): any => graph.emulator.callDetails(id);

/** A request to the emulator's control plane, with its control token and CA. */
function controlPlane(method: string, path: string): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = request(`${graph.emulator.baseUrl}${path}`, { method, ca: graph.caPem, headers: { authorization: `Bearer ${graph.emulator.controlToken}` } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: body === '' ? null : JSON.parse(body) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** GET /_emulator/calls/{id} on the emulator's control plane. */
const controlPlaneCall = async (id: string): Promise<any> => (await controlPlane('GET', `/_emulator/calls/${id}`)).json;

async function startB(): Promise<Instance> {
  return startInstance({ id: 'b', port: b?.port ?? (await freePort()), rtpBase: rtpBase + 20, env });
}

async function join(via: Instance, people: number | SpeakerScript[] = 1): Promise<{ id: string; status: number; json: any }> {
  const meeting = graph.emulator.createMeeting({ subject: `fleet via ${via.id}`, people, endWhenEmpty: false });
  const created = await via.api('POST', '/v1/calls', { joinWebUrl: meeting.joinWebUrl });
  expect(created.status, JSON.stringify(created.json)).toBe(201);
  return { id: created.json.id as string, status: created.status, json: created.json };
}

const established = (i: Instance, id: string): Promise<unknown> =>
  until(`${id} established via ${i.id}`, async () => ((await i.api('GET', `/v1/calls/${id}`)).json?.state === 'established' ? true : undefined), 60_000, 250);

describe.skipIf(missing !== null)('many instances on Redis', () => {
  beforeAll(async () => {
    redis = await startRedis();
    graph = await startGraphEmulator();
    rtpBase = 47000 + (process.pid % 50) * 40;
    env = {
      ...graph.env,
      NODE_EXTRA_CA_CERTS: writeCa(graph.caPem),
      MEDIABOT_REDIS_URL: redis.url,
      MEDIABOT_MAX_CALLS: '5',
    };
    const [pa, pb] = [await freePort(), await freePort()];
    [a, b] = await Promise.all([
      startInstance({ id: 'a', port: pa, rtpBase, env: { ...env, ...(pocketsphinx ? { MEDIABOT_TRANSCRIBER: 'pocketsphinx' } : {}) } }),
      startInstance({ id: 'b', port: pb, rtpBase: rtpBase + 20, env }),
    ]);
  }, 240_000);

  afterAll(async () => {
    for (const s of sockets) s.terminate();
    // The instances' logs, for a failed run.
    for (const i of [a, b]) if (i) writeFileSync(joinPath(tmpdir(), `mediabot-fleet-test-${i.id}.log`), i.output());
    for (const i of [a, b]) {
      if (i && i.child.exitCode === null) {
        i.child.kill('SIGKILL');
        await i.exit;
      }
    }
    await graph?.close();
    await redis?.stop();
  });

  it('a call joined through A is listed, read and hung up through B, and B streams A\'s events', async () => {
    const atB = await events(b);
    const { id } = await join(a, 2);
    await established(b, id);
    const viaB = await b.api('GET', `/v1/calls/${id}`);
    expect(viaB.status).toBe(200);
    expect(viaB.headers.get('x-mediabot-instance')).toBe('a');
    const listed = await b.api('GET', '/v1/calls');
    expect(listed.json.calls.find((c: any) => c.id === id)).toMatchObject({ id, instance: 'a' });
    expect((await a.api('GET', '/v1/calls')).json.calls.map((c: any) => c.id)).toContain(id);

    // B's socket carries A's call state and speaker events, with stream ids.
    const fromA = (): any[] => atB.events.filter((e) => e.callId === id && e.instance === 'a');
    await until('established event on B', () => (fromA().some((e) => e.type === 'call.state' && e.state === 'established') ? true : undefined), 30_000);
    await until('speaker events on B', () => (fromA().some((e) => e.type === 'talk.start' || e.type === 'speaker.dominant') ? true : undefined), 60_000, 250);
    if (pocketsphinx) await until('a transcript line on B', () => (fromA().some((e) => e.type === 'transcript.final' && String(e.text ?? '').length > 0) ? true : undefined), 120_000, 500);
    for (const e of fromA()) expect(e.id).toMatch(/^\d+-\d+$/);

    // A client reconnecting with the last id it saw gets what came after (level meters, throttled per client, aside).
    const seen = fromA().filter((e) => e.type !== 'level');
    const mid = seen[Math.floor(seen.length / 2)]!;
    const again = await events(b, `&since=${mid.id}`);
    await until('replay', () => (again.events.some((e) => e.id === seen[seen.length - 1]!.id) ? true : undefined), 20_000);
    const replayedIds = again.events.filter((e) => e.id !== undefined).map((e) => e.id);
    expect(replayedIds).not.toContain(mid.id);
    expect(replayedIds).toContain(seen[seen.length - 1]!.id);

    const participants = await b.api('GET', `/v1/calls/${id}/participants`);
    expect(participants.status).toBe(200);
    expect(participants.json.participants.length).toBeGreaterThan(0);

    const hung = await b.api('DELETE', `/v1/calls/${id}`);
    expect(hung.status).toBe(202);
    await until('the emulator ends the call', () => (emulatorCall(id)?.state === 'terminated' ? true : undefined), 30_000);
    await until('B reads it terminated', async () => ((await b.api('GET', `/v1/calls/${id}`)).json.state === 'terminated' ? true : undefined), 30_000);
  }, 300_000);

  let aCall = '';

  it('kill -9 of B mid-call: A hangs up B\'s call through Graph and reports MEDIABOT_WORKER_LOST', async () => {
    ({ id: aCall } = await join(a));
    await established(a, aCall);
    // A holds a live call, B none: the fleet places the next call on B.
    const { id: bCall } = await join(b);
    await established(a, bCall);
    expect((await a.api('GET', '/v1/calls')).json.calls.find((c: any) => c.id === bCall)).toMatchObject({ instance: 'b' });
    const atA = await events(a);

    b.child.kill('SIGKILL');
    await b.exit;
    const killedAt = Date.now();
    await until('the emulator shows the bot gone', async () => ((await controlPlaneCall(bCall)).state === 'terminated' ? true : undefined), TTL_MS + 30_000, 250);
    const tookMs = Date.now() - killedAt;
    console.log(`fleet: kill -9 to the call hung up by the survivor: ${tookMs} ms (expiry ${TTL_MS} ms)`);
    expect(tookMs).toBeLessThan(TTL_MS + 15_000);

    const view = await until('A reports it lost', async () => {
      const r = await a.api('GET', `/v1/calls/${bCall}`);
      return r.json?.termination?.message === 'MEDIABOT_WORKER_LOST' ? r.json : undefined;
    }, 20_000);
    expect(view.state).toBe('terminated');
    const lostEvent = await until('the lost event on A\'s socket', () => atA.events.find((e) => e.type === 'call.state' && e.callId === bCall && e.state === 'terminated'), 20_000);
    expect(lostEvent.errorCode).toBe('MEDIABOT_WORKER_LOST');
    expect(lostEvent.reason.message).toBe('MEDIABOT_WORKER_LOST');
    const other = await a.api('GET', `/v1/calls/${bCall}/participants`);
    expect(other.status).toBe(503);
    expect(other.json.error.code).toBe('MEDIABOT_WORKER_LOST');
    // A's own call was left alone.
    expect(emulatorCall(aCall).state).toBe('established');
    const metrics = await (await fetch(`${a.url}/metrics`)).text();
    expect(metrics).toMatch(/^mediabot_fleet_lost_calls_total 1$/m);
    expect((await a.api('DELETE', `/v1/calls/${aCall}`)).status).toBe(202);
    await until('A\'s call ended', () => (emulatorCall(aCall).state === 'terminated' ? true : undefined), 30_000);
  }, 300_000);

  it('Redis stopped and restarted mid-call: both calls go on and the registry is whole again', async () => {
    b = await startB();
    // One person who talks through the whole outage in each meeting.
    const talker = (i: number): SpeakerScript[] => [{ ...DEFAULT_SCRIPT[i]!, sentences: [...DEFAULT_SCRIPT[i]!.sentences, ...DEFAULT_SCRIPT[i]!.sentences, ...DEFAULT_SCRIPT[i]!.sentences, ...DEFAULT_SCRIPT[i]!.sentences] }];
    const { id: onA } = await join(a, talker(0));
    await established(a, onA);
    // A holds a call, B none: this one lands on B.
    const { id: onB } = await join(a, talker(1));
    await established(b, onB);
    const atA = await events(a);
    const atB = await events(b);
    await until('B owns the second call', async () => ((await a.api('GET', '/v1/calls')).json.calls.find((c: any) => c.id === onB)?.instance === 'b' ? true : undefined), 20_000);
    const aCall = onA;
    const bCall = onB;
    const talking = (c: Collected, id: string): boolean => c.events.some((e) => e.callId === id && (e.type === 'talk.start' || e.type === 'talk.stop'));
    await until('both calls have talk', () => (talking(atA, aCall) && talking(atB, bCall) ? true : undefined), 60_000, 250);

    await redis.stop();
    for (const i of [a, b]) {
      await until(`${i.id} unready without Redis`, async () => {
        const r = await fetch(`${i.url}/readyz`);
        const body = (await r.json()) as { checks: Record<string, boolean> };
        return r.status === 503 && body.checks['redis'] === false ? true : undefined;
      }, 20_000);
      expect(await (await fetch(`${i.url}/metrics`)).text()).toMatch(/^mediabot_redis_up 0$/m);
    }
    // Each instance still serves its own call; another's cannot be located.
    expect((await a.api('GET', `/v1/calls/${aCall}`)).json.state).toBe('established');
    expect((await b.api('GET', `/v1/calls/${bCall}`)).json.state).toBe('established');
    const elsewhere = await a.api('GET', `/v1/calls/${bCall}`);
    expect(elsewhere.status).toBe(503);
    expect(elsewhere.json.error.code).toBe('MEDIABOT_FLEET_UNAVAILABLE');
    // Each instance's own events still reach its own clients (delivered at once, without a stream id).
    atA.events.length = 0;
    atB.events.length = 0;
    await until('talk goes on without Redis', () => (talking(atA, aCall) && talking(atB, bCall) ? true : undefined), 60_000, 250);
    expect(atA.events.filter((e) => e.callId === aCall).every((e) => e.id === undefined && e.instance === 'a')).toBe(true);

    await redis.start();
    for (const i of [a, b]) await until(`${i.id} ready again`, async () => ((await fetch(`${i.url}/readyz`)).status === 200 ? true : undefined), 30_000, 250);
    // Redis came back empty: the registry is rebuilt from the instances.
    const r = new Redis(redis.url);
    try {
      await until('registry whole', async () => {
        const calls = await r.hgetall('mediabot:calls');
        const owners = Object.fromEntries(Object.entries(calls).map(([k, v]) => [k, JSON.parse(v).owner]));
        return owners[aCall] === 'a' && owners[bCall] === 'b' && (await r.exists('mediabot:instance:a', 'mediabot:instance:b')) === 2 ? true : undefined;
      }, 30_000, 250);
    } finally {
      r.disconnect();
    }
    const listed = (await b.api('GET', '/v1/calls?state=active')).json.calls.map((c: any) => c.id);
    expect(listed).toEqual(expect.arrayContaining([aCall, bCall]));
    expect((await a.api('GET', `/v1/calls/${bCall}`)).headers.get('x-mediabot-instance')).toBe('b');
    // Past the expiry and the grace after reconnecting, nobody took the other for lost.
    const holdUntil = Date.now() + TTL_MS + 6000;
    while (Date.now() < holdUntil) {
      expect(emulatorCall(aCall).state).toBe('established');
      expect(emulatorCall(bCall).state).toBe('established');
      await new Promise((res) => setTimeout(res, 500));
    }
    for (const [i, id] of [[a, aCall], [b, bCall]] as const) expect((await i.api('DELETE', `/v1/calls/${id}`)).status).toBe(202);
    await until('both ended', () => (emulatorCall(aCall).state === 'terminated' && emulatorCall(bCall).state === 'terminated' ? true : undefined), 30_000);
  }, 300_000);
  it('SIGTERM to A mid-call: A turns unready, new calls land on B, the live call goes on to its end, then A exits 0', async () => {
    // One person who talks through the whole drain, in a meeting held until it is ended.
    const talker: SpeakerScript[] = [{ ...DEFAULT_SCRIPT[0]!, sentences: Array.from({ length: 6 }, () => DEFAULT_SCRIPT[0]!.sentences).flat() }];
    const meeting = graph.emulator.createMeeting({ subject: 'fleet drain', people: talker, endWhenEmpty: false });
    const created = await a.api('POST', '/v1/calls', { joinWebUrl: meeting.joinWebUrl });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const live = created.json.id as string;
    const r = new Redis(redis.url);
    const owner = async (id: string): Promise<string | undefined> => {
      const raw = await r.hget('mediabot:calls', id);
      return raw === null ? undefined : (JSON.parse(raw).owner as string);
    };
    const moved: string[] = [];
    try {
      // Both are idle, so the call stays on A, the instance it was posted to.
      expect(await until('the live call registered', () => owner(live), 20_000)).toBe('a');
      await established(a, live);
      const atB = await events(b);
      const fromA = (): any[] => atB.events.filter((e) => e.callId === live && e.instance === 'a');
      const talk = (e: any): boolean => e.type === 'talk.start' || e.type === 'talk.stop';
      await until('talk from A\'s call on B\'s socket', () => (fromA().some(talk) ? true : undefined), 60_000, 250);

      a.child.kill('SIGTERM');
      const signalledAt = Date.now();
      const seenAtSignal = atB.events.length;
      const after = (): any[] => atB.events.slice(seenAtSignal).filter((e) => e.callId === live && e.instance === 'a');
      const ready = await until('A unready', async () => {
        const res = await fetch(`${a.url}/readyz`);
        return res.status === 503 ? ((await res.json()) as { draining: boolean }) : undefined;
      }, 5_000, 20);
      console.log(`fleet: SIGTERM to /readyz 503: ${Date.now() - signalledAt} ms`);
      expect(ready.draining).toBe(true);

      // A takes no new call: one posted to A is placed on B (docs/deploy.md: the live, non-draining
      // instance with the most free capacity), twice, so that B ends up busier than A.
      for (let n = 0; n < 2; n++) {
        const m = graph.emulator.createMeeting({ subject: `posted to draining A ${n}`, people: 1, endWhenEmpty: false });
        const posted = await a.api('POST', '/v1/calls', { joinWebUrl: m.joinWebUrl });
        expect(posted.status, JSON.stringify(posted.json)).toBe(201);
        expect(posted.headers.get('x-mediabot-instance')).toBe('b');
        moved.push(posted.json.id as string);
        expect(await until('the moved call registered', () => owner(posted.json.id as string), 20_000)).toBe('b');
      }
      // A's only live call in the fleet registry is still the one it had.
      const ownedByA = Object.values(await r.hgetall('mediabot:calls')).map((v) => JSON.parse(v)).filter((c) => c.owner === 'a' && c.state !== 'terminated').map((c) => c.id);
      expect(ownedByA).toEqual([live]);
      // Once A's heartbeat says it drains, a call posted to B stays on B, though A has more free capacity.
      await until('A\'s heartbeat says draining', async () => ((await r.hget('mediabot:instance:a', 'draining')) === '1' ? true : undefined), 10_000, 100);
      const m = graph.emulator.createMeeting({ subject: 'posted to B while A drains', people: 1, endWhenEmpty: false });
      const onB = await b.api('POST', '/v1/calls', { joinWebUrl: m.joinWebUrl });
      expect(onB.status, JSON.stringify(onB.json)).toBe(201);
      expect(onB.headers.get('x-mediabot-instance')).toBeNull();
      moved.push(onB.json.id as string);
      expect(await until('the call posted to B registered', () => owner(onB.json.id as string), 20_000)).toBe('b');
      for (const id of moved) await established(b, id);
      for (const id of moved) expect((await b.api('DELETE', `/v1/calls/${id}`)).status).toBe(202);

      // The live call goes on on A: its events keep coming (to B's socket), and it stays established.
      await until('talk from A\'s call after SIGTERM', () => (after().filter(talk).length >= 2 ? true : undefined), 60_000, 250);
      if (pocketsphinx) await until('a transcript line from A\'s call after SIGTERM', () => (after().some((e) => e.type === 'transcript.final' && String(e.text ?? '').length > 0) ? true : undefined), 120_000, 500);
      expect(emulatorCall(live).state).toBe('established');
      expect((await b.api('GET', `/v1/calls/${live}`)).json.state).toBe('established');
      expect(a.child.exitCode).toBeNull();

      // The meeting ends: A's call terminates, A writes its artifacts and exits 0.
      const ended = await controlPlane('POST', `/_emulator/meetings/${meeting.id}/end`);
      expect(ended.status).toBe(200);
      expect(ended.json.ended).toEqual([live]);
      const code = await Promise.race([a.exit, new Promise<string>((res) => setTimeout(() => res('still running'), 120_000))]);
      expect(code, a.output()).toBe(0);
      expect(a.output()).toMatch(/drained \(1 call\(s\) ended on their own, 0 hung up\)/);
      expect(after().some((e) => e.type === 'call.state' && e.state === 'terminated')).toBe(true);
      await until('B reads A\'s call terminated', async () => ((await b.api('GET', `/v1/calls/${live}`)).json?.state === 'terminated' ? true : undefined), 30_000);
      await until('the moved calls ended', () => (moved.every((id) => emulatorCall(id).state === 'terminated') ? true : undefined), 30_000);
    } finally {
      r.disconnect();
    }
  }, 400_000);
});
