/**
 * The operator API end to end: a real mediabot (fastify on 127.0.0.1, media threads, SQLite) against
 * the embedded Graph emulator, whose simulated people speak over RTP/Opus. Joins a meeting by its
 * joinWebUrl, plays text as speech into the call, mutes, reads participants, hangs up and reads
 * the transcript, recordings and analytics; bad requests change nothing; the token is enforced.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startMediabot, type ComposedMediabot } from '../../../src/app/mediabot.js';
import { silentLogger } from '../../../src/logger.js';
import { testConfig, until } from './helpers.js';

const TOKEN = 'operator-test-token-0123456789';
let bot: ComposedMediabot;

const api = async (method: string, path: string, body?: unknown, token: string | null = TOKEN): Promise<{ status: number; json: any; text: string; headers: Headers }> => {
  const headers: Record<string, string> = {};
  if (token !== null) headers['authorization'] = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${bot.url}${path}`, { method, headers, ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}) });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: res.status, json, text, headers: res.headers };
};

beforeAll(async () => {
  bot = await startMediabot(testConfig({ MEDIABOT_API_TOKEN: TOKEN, MEDIABOT_TRANSCRIBER: 'pocketsphinx', MEDIABOT_RECORD: 'on' }), { logger: silentLogger });
});

afterAll(async () => {
  await bot?.close();
});

describe('operator API', () => {
  it('requires the bearer token on /v1 and on the events WebSocket', async () => {
    expect((await api('GET', '/v1/calls', undefined, null)).status).toBe(401);
    const wrong = await api('GET', '/v1/calls', undefined, 'not-the-token');
    expect(wrong.status).toBe(401);
    expect(wrong.json.error.code).toBe('MEDIABOT_UNAUTHORIZED');
    expect((await api('GET', '/v1/calls')).status).toBe(200);

    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${bot.url.replace('http', 'ws')}/v1/events`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => undefined);
    });
    expect(refused).toBe(401);
  });

  it('answers bad requests with 400 and a MEDIABOT code, changing nothing', async () => {
    const before = bot.emulator!.stats().graphRequests;
    const cases: Array<[unknown, string]> = [
      [{}, 'MEDIABOT_BAD_REQUEST'],
      [{ joinWebUrl: 'https://example.com/not-a-teams-link' }, 'MEDIABOT_JOIN_URL_INVALID'],
      [{ joinWebUrl: 'x', targets: [{ type: 'user', id: 'u' }] }, 'MEDIABOT_BAD_REQUEST'],
      [{ targets: [] }, 'MEDIABOT_BAD_REQUEST'],
      [{ targets: [{ type: 'phone', id: '12' }] }, 'MEDIABOT_BAD_REQUEST'],
      [{ targets: [{ type: 'martian', id: 'x' }] }, 'MEDIABOT_BAD_REQUEST'],
      // The schema coerces scalars to strings ("42"), which is not a join URL.
      [{ joinWebUrl: 42 }, 'MEDIABOT_JOIN_URL_INVALID'],
      [{ joinWebUrl: 'https://teams.microsoft.com/l/meetup-join/x', media: 'carrier-pigeon' }, 'MEDIABOT_BAD_REQUEST'],
      ['{not json', 'MEDIABOT_BAD_REQUEST'],
    ];
    for (const [body, code] of cases) {
      const r = await api('POST', '/v1/calls', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error.code, JSON.stringify(body)).toBe(code);
    }
    expect((await api('GET', '/v1/calls')).json.calls).toEqual([]);
    expect(bot.emulator!.stats().graphRequests).toBe(before);
    expect(bot.pool.hasCall('anything')).toBe(false);
    const missing = await api('DELETE', '/v1/calls/00000000-0000-4000-8000-000000000000');
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe('MEDIABOT_CALL_NOT_FOUND');
  });

  it('joins by joinWebUrl, plays text, mutes, lists participants, hangs up, and serves transcript, recordings and analytics', async () => {
    const events: any[] = [];
    const ws = new WebSocket(`${bot.url.replace('http', 'ws')}/v1/events?token=${TOKEN}`);
    ws.on('message', (m) => events.push(JSON.parse(String(m))));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });

    const meeting = bot.emulator!.createMeeting({ subject: 'operator api test' });
    const created = await api('POST', '/v1/calls', { joinWebUrl: meeting.joinWebUrl });
    expect(created.status).toBe(201);
    const id: string = created.json.id;
    expect(created.json.media).toBe('app');

    await until('established', async () => ((await api('GET', `/v1/calls/${id}`)).json.state === 'established' ? true : undefined));
    expect((await api('GET', '/v1/calls')).json.calls.map((c: any) => c.id)).toContain(id);

    // Simulated people join, talk, and get mapped onto their roster entries.
    const people = await until(
      'two mapped talkers',
      async () => {
        const list = (await api('GET', `/v1/calls/${id}/participants`)).json.participants as any[];
        const talkers = list.filter((p) => !p.isBot && p.sourceIds.length > 0 && (p.talkMs > 0 || p.talking));
        return talkers.length >= 2 ? list : undefined;
      },
      30_000,
      250,
    );
    const names = people.filter((p: any) => !p.isBot).map((p: any) => p.displayName);
    expect(names).toEqual(expect.arrayContaining(bot.emulator!.script.slice(0, 2).map((s) => s.name)));
    // Each talker's media source is the SSRC its roster entry reports as its audio sourceId.
    const roster = (bot.emulator!.callDetails(id) as any).participants as any[];
    for (const p of people.filter((x: any) => !x.isBot && x.sourceIds.length > 0)) {
      expect(p.sourceIds).toContain(`ssrc-${roster.find((r) => r.id === p.id).sourceId}`);
    }

    // Bad play requests change nothing.
    for (const body of [{}, { url: 'ftp://example.com/a.wav' }, { url: 'https://x.test/a.wav', text: 'both' }, { text: '' }]) {
      const r = await api('POST', `/v1/calls/${id}/play`, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error.code).toBe('MEDIABOT_BAD_REQUEST');
    }

    const botHeardBefore = (bot.emulator!.callDetails(id) as any).media.botAudio.soundFrames as number;
    const played = await api('POST', `/v1/calls/${id}/play`, { text: 'This is mediabot speaking to everyone in the meeting.' });
    expect(played.status).toBe(200);
    expect(played.json.via).toBe('media');
    expect(played.json.durationMs).toBeGreaterThan(1500);
    // The participants' sockets received the prompt through the conference mix.
    const media = (bot.emulator!.callDetails(id) as any).media;
    expect(media.botAudio.soundFrames).toBeGreaterThan(botHeardBefore + 25);
    // The prompt WAV is served for Graph under /media/prompts/ (no API token: Graph fetches it).
    const promptPath = new URL(played.json.promptUrl).pathname;
    const wav = await fetch(`${bot.url}${promptPath}`);
    expect(wav.status).toBe(200);
    expect(Buffer.from(await wav.arrayBuffer()).subarray(0, 4).toString('ascii')).toBe('RIFF');

    const muted = await api('POST', `/v1/calls/${id}/mute`);
    expect(muted.status).toBe(200);
    expect(muted.json.muted).toBe(true);
    expect(((bot.emulator!.callDetails(id) as any).participants as any[]).find((p) => p.kind === 'bot').isMuted).toBe(true);
    const unmuted = await api('POST', `/v1/calls/${id}/unmute`);
    expect(unmuted.json.muted).toBe(false);
    expect(((bot.emulator!.callDetails(id) as any).participants as any[]).find((p) => p.kind === 'bot').isMuted).toBe(false);

    // Let pocketsphinx hear a few sentences, then hang up.
    await until('a transcript line', async () => ((await api('GET', `/v1/calls/${id}/transcript`)).json.lines.length > 0 ? true : undefined), 40_000, 500);
    const hung = await api('DELETE', `/v1/calls/${id}`);
    expect(hung.status).toBe(202);
    const artifacts = await bot.calls.whenFinalized(id, 60_000);
    expect((await api('GET', `/v1/calls/${id}`)).json.state).toBe('terminated');
    const again = await api('DELETE', `/v1/calls/${id}`);
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe('MEDIABOT_CALL_TERMINATED');

    const transcript = (await api('GET', `/v1/calls/${id}/transcript`)).json;
    expect(transcript.lines.length).toBeGreaterThan(0);
    expect(transcript.lines.every((l: any) => typeof l.text === 'string' && l.endMs >= l.startMs)).toBe(true);
    expect(transcript.lines.some((l: any) => names.includes(l.speaker))).toBe(true);
    const vtt = await api('GET', `/v1/calls/${id}/transcript?format=vtt`);
    expect(vtt.headers.get('content-type')).toMatch(/^text\/vtt/);
    expect(vtt.text.startsWith('WEBVTT')).toBe(true);
    expect(vtt.text).toMatch(/\d\d:\d\d:\d\d\.\d{3} --> \d\d:\d\d:\d\d\.\d{3}\n<v [^>]+>/);

    const recs = (await api('GET', `/v1/calls/${id}/recordings`)).json.recordings as any[];
    const files = recs.map((r) => r.file);
    expect(files).toEqual(expect.arrayContaining(['mix.opus', 'mix.wav']));
    expect(recs.filter((r) => r.sourceId !== 'mix' && r.format === 'ogg').length).toBeGreaterThanOrEqual(2);
    const mixWav = recs.find((r) => r.file === 'mix.wav');
    const dl = await fetch(`${bot.url}${mixWav.url}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(dl.status).toBe(200);
    const bytes = Buffer.from(await dl.arrayBuffer());
    expect(bytes.length).toBe(mixWav.bytes);
    expect(bytes.subarray(0, 4).toString('ascii')).toBe('RIFF');
    const ogg = recs.find((r) => r.file === 'mix.opus');
    const dlOgg = Buffer.from(await (await fetch(`${bot.url}${ogg.url}`, { headers: { authorization: `Bearer ${TOKEN}` } })).arrayBuffer());
    expect(dlOgg.subarray(0, 4).toString('ascii')).toBe('OggS');
    expect((await fetch(`${bot.url}${mixWav.url}`)).status).toBe(401);
    expect((await api('GET', `/v1/calls/${id}/recordings/..%2F..%2Fmediabot.db`)).status).toBe(404);

    const analytics = (await api('GET', `/v1/calls/${id}/analytics`)).json;
    expect(analytics.final).toBe(true);
    const talkers = (analytics.participants as any[]).filter((p) => p.talkMs > 0);
    expect(talkers.length).toBeGreaterThanOrEqual(2);
    expect(talkers.some((p) => names.includes(p.speaker))).toBe(true);

    // And in SQLite, through the speech store fed from the event bus.
    expect(bot.store.speech.getTranscript(id).length).toBe(transcript.lines.length);
    expect((bot.store.speech.getAnalytics(id) as any).participants.length).toBeGreaterThanOrEqual(2);
    expect(bot.store.speech.getRecordings(id).length).toBeGreaterThanOrEqual(2);

    // The same artifacts are on disk.
    expect(artifacts.files.some((f) => f.endsWith('transcript.vtt'))).toBe(true);
    expect(JSON.parse(readFileSync(artifacts.files.find((f) => f.endsWith('analytics.json'))!, 'utf8')).participants.length).toBeGreaterThanOrEqual(2);

    // The events WebSocket carried the call live.
    ws.close();
    const types = new Set(events.map((e) => e.type));
    for (const t of ['hello', 'call.state', 'call.roster', 'talk.start', 'speaker.dominant', 'level', 'call.speakers', 'transcript.final']) expect(types, t).toContain(t);
    const levelTimes = events.filter((e) => e.type === 'level' && e.callId === id).map((e) => e.mediaTimeMs as number);
    // Throttled to about 5 per second.
    const span = (levelTimes[levelTimes.length - 1]! - levelTimes[0]!) / 1000;
    expect(levelTimes.length / Math.max(span, 1)).toBeLessThanOrEqual(6);
  });

  it('publishes OpenAPI at /docs and media metrics at /metrics', async () => {
    const spec = (await (await fetch(`${bot.url}/docs/json`)).json()) as any;
    for (const p of ['/v1/calls', '/v1/calls/{id}/play', '/v1/calls/{id}/transcript', '/v1/calls/{id}/recordings/{file}', '/v1/calls/{id}/mute', '/v1/calls/{id}/analytics']) expect(Object.keys(spec.paths)).toContain(p);
    expect(spec.paths['/v1/calls'].post.requestBody).toBeTruthy();
    const metrics = await (await fetch(`${bot.url}/metrics`)).text();
    for (const m of ['mediabot_media_tick_us', 'mediabot_media_late_ticks', 'mediabot_media_playout_delay_ms', 'mediabot_hook_dropped_items', 'mediabot_notifications_received_total', 'mediabot_auth_failures_total']) expect(metrics).toContain(m);
    expect(metrics).toMatch(/mediabot_auth_failures_total\{endpoint="api",reason="(missing|mismatch)"\} [1-9]/);
  });
});
