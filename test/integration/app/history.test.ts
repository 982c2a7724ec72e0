/**
 * The history of ended calls over HTTP: a real call against the emulator (recording on), then
 * GET /v1/history and /v1/history/:id (end reason, speakers with talk time matching their segments,
 * overlaps, recordings and files), HTTP Range on recordings (the /v1 routes and the signed links),
 * refused links and bad input, and the same history after a restart on the same data folder.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startMediabot, type ComposedMediabot } from '../../../src/app/mediabot.js';
import { silentLogger } from '../../../src/logger.js';
import { pocketsphinxAvailable } from '../../../src/media/hooks/transcribe/pocketsphinx.js';
import { testConfig, until } from './helpers.js';

const TOKEN = 'history-test-token-0123456789';
let bot: ComposedMediabot | undefined;
afterAll(async () => {
  await bot?.close();
});

async function api(path: string, init: { token?: string | null; headers?: Record<string, string> } = {}): Promise<{ status: number; json: any; body: Buffer; headers: Headers }> {
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  const token = init.token === undefined ? TOKEN : init.token;
  if (token !== null) headers['authorization'] = `Bearer ${token}`;
  const res = await fetch(`${bot!.url}${path}`, { headers, redirect: 'manual' });
  const body = Buffer.from(await res.arrayBuffer());
  let json: any = null;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    json = null;
  }
  return { status: res.status, json, body, headers: res.headers };
}

describe('call history API', () => {
  it('lists ended calls with their end reason, details one, serves ranges, and survives a restart', async () => {
    const transcribe = pocketsphinxAvailable();
    const env = { MEDIABOT_API_TOKEN: TOKEN, MEDIABOT_TRANSCRIBER: transcribe ? 'pocketsphinx' : 'none', MEDIABOT_RECORD: 'on' };
    const cfg = testConfig(env);
    bot = await startMediabot(cfg, { logger: silentLogger });
    await bot.listen();

    const meeting = bot.emulator!.createMeeting({ subject: 'history test', people: 3 });
    const id = (await bot.calls.join({ joinWebUrl: meeting.joinWebUrl })).id;
    await until('the call established', () => (bot!.calls.get(id).state === 'established' ? true : undefined), 20_000);
    // A live call is not history yet.
    const live = await api(`/v1/history/${id}`);
    expect(live.status).toBe(409);
    expect(live.json.error.code).toBe('MEDIABOT_CALL_NOT_ENDED');
    expect((await api('/v1/history')).json.calls.map((c: any) => c.id)).not.toContain(id);

    await until('two people talked', () => (new Set(bot!.store.speech.getTalkSegments(id).map((s) => s.sourceId)).size >= 2 ? true : undefined), 60_000, 250);
    if (transcribe) await until('a transcript line', () => (bot!.store.speech.getTranscript(id).length > 0 ? true : undefined), 40_000, 250);
    // A listener of call.artifacts already finds the call in the history, end reason included.
    const atArtifacts = new Promise<Awaited<ReturnType<ComposedMediabot['calls']['summary']>>>((resolve, reject) => {
      const off = bot!.events.on('call.artifacts', (e) => {
        if (e.callId !== id) return;
        off();
        bot!.calls.summary(id).then(resolve, reject);
      });
    });
    await bot.calls.hangUp(id);
    await bot.calls.whenFinalized(id, 60_000);
    expect((await atArtifacts).endReason?.explanation).toBeTruthy();

    expect((await api('/v1/history', { token: null })).status).toBe(401);
    const list = await api('/v1/history');
    expect(list.status).toBe(200);
    const item = list.json.calls.find((c: any) => c.id === id);
    expect(item).toBeDefined();
    expect(item.endReason.explanation.length).toBeGreaterThan(5);
    expect(item.durationMs).toBeGreaterThan(1000);
    expect(item.people.length).toBeGreaterThanOrEqual(2);
    expect(item.mediaMode).toBe('app');

    const s = (await api(`/v1/history/${id}`)).json;
    expect(s.id).toBe(id);
    expect(s.endReason).toEqual(item.endReason);
    const talkers = s.speakers.filter((p: any) => p.talkMs > 0);
    expect(talkers.length).toBeGreaterThanOrEqual(2);
    expect(talkers.some((p: any) => bot!.emulator!.script.some((m) => m.name === p.name))).toBe(true);
    // Talk time is what the drawn segments add up to, per speaker.
    for (const p of talkers) {
      const sum = s.segments.filter((g: any) => g.sourceId === p.sourceId).reduce((a: number, g: any) => a + g.endMs - g.startMs, 0);
      expect(Math.abs(sum - p.talkMs)).toBeLessThanOrEqual(2);
    }
    expect(Math.abs(s.speakers.reduce((a: number, p: any) => a + p.share, 0) - 1)).toBeLessThan(1e-6);
    for (const o of s.overlaps) {
      expect(o.endMs).toBeGreaterThan(o.startMs);
      expect(o.sourceIds.length).toBeGreaterThanOrEqual(2);
    }
    if (transcribe) {
      expect(s.transcript.length).toBeGreaterThan(0);
      expect(s.transcript.every((l: any) => typeof l.speaker === 'string' && l.endMs >= l.startMs)).toBe(true);
    }
    expect(s.files.map((f: any) => f.name)).toEqual(expect.arrayContaining(['call.json', 'analytics.json', 'timeline.json']));
    const mix = s.recordings.find((r: any) => r.file === 'mix.wav');
    expect(mix.available).toBe(true);
    expect(mix.speaker).toBe('mix');
    expect(mix.startMediaTimeMs).toBeGreaterThanOrEqual(0);
    expect(s.deliveries).toEqual(expect.objectContaining({ total: expect.any(Number), items: expect.any(Array) }));

    // HTTP Range on the recording: whole, a slice, a suffix, past the end.
    const whole = await api(mix.url);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(whole.body.length).toBe(mix.bytes);
    expect(whole.body.subarray(0, 4).toString('ascii')).toBe('RIFF');
    const slice = await api(mix.url, { headers: { range: 'bytes=100-199' } });
    expect(slice.status).toBe(206);
    expect(slice.headers.get('content-range')).toBe(`bytes 100-199/${mix.bytes}`);
    expect(slice.body.equals(whole.body.subarray(100, 200))).toBe(true);
    const suffix = await api(mix.url, { headers: { range: 'bytes=-16' } });
    expect(suffix.status).toBe(206);
    expect(suffix.body.equals(whole.body.subarray(whole.body.length - 16))).toBe(true);
    const open = await api(mix.url, { headers: { range: `bytes=${mix.bytes - 10}-` } });
    expect(open.body.length).toBe(10);
    const past = await api(mix.url, { headers: { range: `bytes=${mix.bytes}-` } });
    expect(past.status).toBe(416);
    expect(past.json.error.code).toBe('MEDIABOT_RANGE_NOT_SATISFIABLE');
    expect(past.headers.get('content-range')).toBe(`bytes */${mix.bytes}`);
    // The live call's download route takes ranges too.
    const legacy = await api(`/v1/calls/${id}/recordings/mix.wav`, { headers: { range: 'bytes=0-43' } });
    expect(legacy.status).toBe(206);
    expect(legacy.body.equals(whole.body.subarray(0, 44))).toBe(true);

    // The signed link works without the token (what <audio> uses), with ranges; a changed one does not.
    const signed = await api(mix.link.url, { token: null, headers: { range: 'bytes=0-3' } });
    expect(signed.status).toBe(206);
    expect(signed.body.toString('ascii')).toBe('RIFF');
    const forged = await api(mix.link.url.replace(/sig=[^&]+/, 'sig=AAAA'), { token: null });
    expect(forged.status).toBe(403);
    expect(forged.json.error.code).toBe('MEDIABOT_LINK_EXPIRED');
    const otherFile = await api(mix.link.url.replace('mix.wav', 'mix.opus'), { token: null });
    expect(otherFile.status).toBe(403);
    // What the page's download links ask for: an attachment.
    const attachment = await api(`${mix.link.url}&download=1`, { token: null });
    expect(attachment.headers.get('content-disposition')).toBe('attachment; filename="mix.wav"');
    expect(whole.headers.get('content-disposition')).toBeNull();
    const callJson = s.files.find((f: any) => f.name === 'call.json');
    const cj = await api(callJson.link.url, { token: null });
    expect(cj.status).toBe(200);
    expect(cj.json.callId).toBe(id);

    // In the OpenAPI document, with their schemas; the signed-link route is not an API route.
    const spec = (await (await fetch(`${bot.url}/docs/json`)).json()) as any;
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/v1/history', '/v1/history/{id}', '/v1/history/{id}/recordings/{name}', '/v1/history/{id}/files/{name}']));
    expect(spec.paths['/v1/history/{id}'].get.responses['200'].content['application/json'].schema.properties.overlaps).toBeDefined();
    expect(Object.keys(spec.paths).some((p) => p.startsWith('/files/'))).toBe(false);

    // Bad input: clear errors.
    expect((await api('/v1/history?limit=0')).json.error.code).toBe('MEDIABOT_BAD_REQUEST');
    expect((await api('/v1/history?before=yesterday')).status).toBe(400);
    expect((await api('/v1/history/no-such-call')).json.error.code).toBe('MEDIABOT_CALL_NOT_FOUND');
    expect((await api(`/v1/history/${id}/files/..%2F..%2Fmediabot.db`)).status).toBe(404);
    expect((await api(`/v1/history/${id}/recordings/call.json`)).status).toBe(404);

    // Paging.
    const first = (await api('/v1/history?limit=1')).json;
    expect(first.calls).toHaveLength(1);
    expect(first.next).toBe(first.calls[0].endedAt);
    expect((await api(`/v1/history?before=${encodeURIComponent(first.next)}`)).json.calls.map((c: any) => c.id)).not.toContain(first.calls[0].id);

    // In code, the same.
    expect((await bot.calls.summary(id)).speakers).toEqual(s.speakers);
    expect(bot.calls.history().calls.some((c) => c.id === id)).toBe(true);

    // A restart on the same data folder: the registry is new, the history is not.
    await bot.close();
    bot = await startMediabot(testConfig({ ...env, MEDIABOT_DATA_DIR: cfg.dataDir }), { logger: silentLogger });
    await bot.listen();
    expect((await api('/v1/calls')).json.calls).toHaveLength(0);
    const after = (await api(`/v1/history/${id}`)).json;
    expect(after.endReason).toEqual(s.endReason);
    expect(after.speakers).toEqual(s.speakers);
    expect(after.segments).toEqual(s.segments);
    expect(after.transcript).toEqual(s.transcript);
    const again = await api(after.recordings.find((r: any) => r.file === 'mix.wav').link.url, { token: null, headers: { range: 'bytes=0-3' } });
    expect(again.status).toBe(206);

    // Files removed from disk (deleted, or moved elsewhere): shown as unavailable, never a crash.
    rmSync(join(cfg.dataDir, 'recordings'), { recursive: true, force: true });
    rmSync(join(cfg.dataDir, 'calls'), { recursive: true, force: true });
    const gone = (await api(`/v1/history/${id}`)).json;
    expect(gone.files).toEqual([]);
    expect(gone.recordings.every((r: any) => r.available === false && r.link === null)).toBe(true);
    expect((await api(`/v1/history/${id}/recordings/mix.wav`)).status).toBe(404);

    // Its data deleted (DELETE /v1/calls/:id/data): the call leaves the history (its ending row goes with the call's row).
    await bot.calls.deleteData(id);
    expect(bot.store.db.prepare('SELECT count(*) AS n FROM call_endings WHERE call_id = ?').get(id)).toEqual({ n: 0 });
    expect((await api('/v1/history')).json.calls.map((c: any) => c.id)).not.toContain(id);
    expect((await api(`/v1/history/${id}`)).json.error.code).toBe('MEDIABOT_CALL_NOT_FOUND');
  }, 180_000);
});
