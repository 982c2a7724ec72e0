/**
 * Draining a worker without dropping meetings: `mediabot start` in its own process against the
 * Graph emulator, SIGTERM mid-call. The worker turns unready and refuses new calls at once, keeps the
 * live call (media and transcript) until the meeting ends, writes the artifacts and exits 0. With a
 * short MEDIABOT_DRAIN_TIMEOUT_S, or on a second signal, it hangs the call up itself first.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGraphEmulator, type GraphEmulator } from '../../../testing/index.js';
import { emulatorControl, HAVE_POCKETSPHINX, startWorkerProcess, until, type WorkerProcess } from './worker-process.js';

let graph: GraphEmulator;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  graph = await startGraphEmulator();
});
afterAll(async () => {
  for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
  await graph?.close();
});

/** One person who talks for a while; the meeting stays up after they finish until it is ended. */
function longMeeting(sentences: number): string {
  const lines = [
    'Good morning everyone, thanks for joining the weekly planning call.',
    'The new release is ready for testing on Monday.',
    'The quarterly numbers look better than we expected.',
    'We still need two more people on the support team.',
    'The database migration finished without any errors last night.',
    'Customers in the north region reported slow downloads.',
    'Let us move the design review to Thursday afternoon.',
    'Please send me your notes before the end of the day.',
  ];
  const m = graph.emulator.createMeeting({ subject: 'drain', endWhenEmpty: false, people: [{ name: 'Alice Moreno', voice: 'en-us+f3', sentences: lines.slice(0, sentences) }] });
  return m.joinWebUrl;
}

async function joinEstablished(w: WorkerProcess, joinWebUrl: string): Promise<string> {
  const created = await w.api<{ id: string }>('POST', '/v1/calls', { joinWebUrl });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const id = created.body.id;
  await until('the call to be established', async () => ((await w.api<{ state: string }>('GET', `/v1/calls/${id}`)).body.state === 'established' ? true : undefined), 30_000);
  return id;
}

const talkMs = async (w: WorkerProcess, id: string): Promise<number> => {
  const r = await w.api<{ participants: Array<{ talkMs: number }> }>('GET', `/v1/calls/${id}/participants`);
  return (r.body.participants ?? []).reduce((a, p) => a + (p.talkMs ?? 0), 0);
};
const transcriptLines = async (w: WorkerProcess, id: string): Promise<number> => {
  const r = await w.api<{ lines: unknown[] }>('GET', `/v1/calls/${id}/transcript`);
  return r.body.lines?.length ?? 0;
};

function expectArtifacts(w: WorkerProcess, callId: string, withTranscript: boolean): void {
  const dir = join(w.dataDir, 'calls', callId);
  const call = JSON.parse(readFileSync(join(dir, 'call.json'), 'utf8')) as { state: string; recordings: Array<{ file: string; path: string | null; bytes: number }> };
  expect(call.state).toBe('terminated');
  expect(call.recordings.map((r) => r.file)).toContain('mix.opus');
  for (const r of call.recordings) {
    expect(r.path !== null && existsSync(r.path), `${r.file} exists`).toBe(true);
    expect(r.bytes).toBeGreaterThan(1000);
  }
  expect(existsSync(join(dir, 'analytics.json'))).toBe(true);
  expect(existsSync(join(dir, 'timeline.json'))).toBe(true);
  const transcript = JSON.parse(readFileSync(join(dir, 'transcript.json'), 'utf8')) as { lines: unknown[] };
  if (withTranscript) expect(transcript.lines.length).toBeGreaterThan(0);
}

describe('drain on SIGTERM', () => {
  it('turns unready and refuses new calls at once, keeps the live call to its end, then exits 0 with every artifact', async () => {
    const w = await startWorkerProcess(graph, { MEDIABOT_TRANSCRIBER: HAVE_POCKETSPHINX ? 'pocketsphinx' : 'none' });
    workers.push(w);
    const callId = await joinEstablished(w, longMeeting(8));
    // Mid-call: speech is flowing (and being transcribed).
    if (HAVE_POCKETSPHINX) await until('a first transcript line', async () => ((await transcriptLines(w, callId)) > 0 ? true : undefined), 60_000);
    else await until('talk', async () => ((await talkMs(w, callId)) > 0 ? true : undefined), 30_000);
    const linesAtSignal = await transcriptLines(w, callId);
    const talkAtSignal = await talkMs(w, callId);

    w.child.kill('SIGTERM');
    const ready = await until('/readyz to turn 503', async () => {
      const r = await fetch(`${w.url}/readyz`);
      return r.status === 503 ? ((await r.json()) as { draining: boolean }) : undefined;
    }, 2_000, 20);
    expect(ready.draining).toBe(true);
    const refused = await w.api<{ error: { code: string } }>('POST', '/v1/calls', { joinWebUrl: longMeeting(1) });
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('MEDIABOT_DRAINING');

    // An incoming call is rejected through Graph, not left ringing.
    const incoming = await emulatorControl<{ id: string }>(graph, 'POST', '/_emulator/incomingCalls', { callbackUri: `${w.url}/api/calling`, from: { displayName: 'Late Caller' } });
    expect(incoming.status).toBe(201);
    const rejected = await until('the incoming call to be rejected', async () => {
      const c = await emulatorControl<{ state: string; resultInfo: { subcode: number } | null }>(graph, 'GET', `/_emulator/calls/${incoming.body.id}`);
      return c.body.state === 'terminated' ? c.body : undefined;
    }, 15_000);
    expect(rejected.resultInfo?.subcode).toBe(7000);

    // The live call goes on: its media keeps flowing and its transcript keeps growing.
    await until('more talk after SIGTERM', async () => ((await talkMs(w, callId)) > talkAtSignal + 2000 ? true : undefined), 60_000);
    if (HAVE_POCKETSPHINX) await until('more transcript lines after SIGTERM', async () => ((await transcriptLines(w, callId)) > linesAtSignal ? true : undefined), 90_000);
    expect((await w.api<{ state: string }>('GET', `/v1/calls/${callId}`)).body.state).toBe('established');
    expect(w.child.exitCode).toBeNull();

    // The meeting ends: the worker writes the artifacts and exits 0.
    const ended = await emulatorControl(graph, 'POST', `/_emulator/calls/${callId}/hangUp`);
    expect(ended.status).toBe(204);
    const code = await Promise.race([w.exited, new Promise<string>((r) => setTimeout(() => r('still running'), 90_000))]);
    expect(code, w.output()).toBe(0);
    expectArtifacts(w, callId, HAVE_POCKETSPHINX);
    expect(w.output()).toMatch(/drained \(1 call\(s\) ended on their own, 0 hung up\)/);
  }, 300_000);

  it('hangs up what is still live when MEDIABOT_DRAIN_TIMEOUT_S passes, writes the artifacts, exits 0', async () => {
    const w = await startWorkerProcess(graph, { MEDIABOT_DRAIN_TIMEOUT_S: '3' });
    workers.push(w);
    const callId = await joinEstablished(w, longMeeting(8));
    await until('talk', async () => ((await talkMs(w, callId)) > 0 ? true : undefined), 30_000);
    const t0 = Date.now();
    w.child.kill('SIGTERM');
    const code = await Promise.race([w.exited, new Promise<string>((r) => setTimeout(() => r('still running'), 90_000))]);
    expect(code, w.output()).toBe(0);
    // Not before the timeout: the call was given its 3 s.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(3_000);
    const c = await emulatorControl<{ state: string }>(graph, 'GET', `/_emulator/calls/${callId}`);
    expect(c.body.state).toBe('terminated');
    expectArtifacts(w, callId, false);
    expect(w.output()).toMatch(/drained \(0 call\(s\) ended on their own, 1 hung up\)/);
  }, 200_000);

  it('a second signal hangs up at once, still writing the artifacts', async () => {
    const w = await startWorkerProcess(graph, { MEDIABOT_DRAIN_TIMEOUT_S: '600' });
    workers.push(w);
    const callId = await joinEstablished(w, longMeeting(8));
    await until('talk', async () => ((await talkMs(w, callId)) > 0 ? true : undefined), 30_000);
    w.child.kill('SIGTERM');
    await until('/readyz to turn 503', async () => ((await fetch(`${w.url}/readyz`)).status === 503 ? true : undefined), 2_000, 20);
    // Draining with a 600 s timeout: the call is still up a moment later.
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await w.api<{ state: string }>('GET', `/v1/calls/${callId}`)).body.state).toBe('established');
    w.child.kill('SIGINT');
    const code = await Promise.race([w.exited, new Promise<string>((r) => setTimeout(() => r('still running'), 90_000))]);
    expect(code, w.output()).toBe(0);
    const c = await emulatorControl<{ state: string }>(graph, 'GET', `/_emulator/calls/${callId}`);
    expect(c.body.state).toBe('terminated');
    expectArtifacts(w, callId, false);
    expect(w.output()).toMatch(/SIGINT again: hanging up/);
  }, 200_000);
});
