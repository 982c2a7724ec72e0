/**
 * `mediabot demo` as a user runs it: the built CLI as a child process against the embedded Graph
 * emulator. It must exit 0 and leave decodable recordings, a transcript (JSON and WebVTT), the
 * timeline, analytics and the call record in SQLite under MEDIABOT_DATA_DIR.
 */
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

function ffprobe(file: string): { codec: string; duration: number } {
  const out = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name:format=duration', '-of', 'json', file], { encoding: 'utf8' }));
  return { codec: out.streams[0].codec_name, duration: Number(out.format.duration) };
}

describe('mediabot demo', () => {
  it('runs end to end over RTP (--media rtp --seconds 8) and leaves every artifact', async () => {
    const run = runCli(['demo', '--media', 'rtp', '--seconds', '8']);
    const code = await run.exit;
    expect(code, `${run.stdout()}\n${run.stderr()}`).toBe(0);
    const out = run.stdout();
    for (const s of ['call established', 'joined', 'is talking', 'played', 'call terminated', 'talk time per speaker', 'demo finished.']) expect(out).toContain(s);

    const callId = /call id\s+(\S+)/.exec(out)![1]!;
    const callDir = join(run.dataDir, 'calls', callId);

    // Recordings: per speaker and the mix, Ogg Opus and WAV, all decodable.
    const recRoot = join(run.dataDir, 'recordings');
    const [mediaDir] = readdirSync(recRoot);
    const recs = readdirSync(join(recRoot, mediaDir!));
    expect(recs).toEqual(expect.arrayContaining(['mix.opus', 'mix.wav']));
    expect(recs.filter((f) => f.startsWith('ssrc-') && f.endsWith('.opus')).length).toBeGreaterThanOrEqual(3);
    for (const f of recs) {
      const p = ffprobe(join(recRoot, mediaDir!, f));
      expect(p.codec, f).toBe(f.endsWith('.opus') ? 'opus' : 'pcm_s16le');
      if (f.startsWith('mix')) expect(p.duration, f).toBeGreaterThan(7);
    }

    const analytics = JSON.parse(readFileSync(join(callDir, 'analytics.json'), 'utf8'));
    const talkers = analytics.participants.filter((p: { talkMs: number }) => p.talkMs > 0);
    expect(talkers.length).toBeGreaterThanOrEqual(3);
    expect(talkers.map((p: { speaker: string }) => p.speaker)).toEqual(expect.arrayContaining(['Alice Moreno', 'Brian Okafor']));
    const timeline = JSON.parse(readFileSync(join(callDir, 'timeline.json'), 'utf8'));
    expect(timeline.segments.length).toBeGreaterThan(0);
    expect(timeline.segments.every((s: { startMs: number; endMs: number }) => s.endMs > s.startMs)).toBe(true);
    const transcript = JSON.parse(readFileSync(join(callDir, 'transcript.json'), 'utf8'));
    expect(transcript.callId).toBe(callId);
    expect(Array.isArray(transcript.lines)).toBe(true);
    const vtt = readFileSync(join(callDir, 'transcript.vtt'), 'utf8');
    expect(vtt.startsWith('WEBVTT')).toBe(true);
    if (out.includes('transcriber: pocketsphinx')) {
      expect(transcript.lines.length).toBeGreaterThan(0);
      expect(vtt).toContain('<v ');
      expect(out).toMatch(/WER against the emulator's script: \d+\.\d%/);
    }
    const call = JSON.parse(readFileSync(join(callDir, 'call.json'), 'utf8'));
    expect(call.state).toBe('terminated');
    expect(call.termination.explanation.length).toBeGreaterThan(0);

    // The call record arrived as a change notification, was fetched and stored.
    const dbFile = join(run.dataDir, 'mediabot.db');
    expect(existsSync(dbFile)).toBe(true);
    const db = new Database(dbFile, { readonly: true });
    try {
      const rows = db.prepare('SELECT id, json FROM call_records').all() as Array<{ id: string; json: string }>;
      expect(rows.length).toBe(1);
      expect(out).toContain(rows[0]!.id);
      expect(JSON.parse(rows[0]!.json).sessions.length).toBeGreaterThan(0);
    } finally {
      db.close();
    }
  }, 180_000);

  it('runs over the media bridge (the default; --media bridge): sidecar blob, unmixed speakers named from the sourceMap', async () => {
    const run = runCli(['demo', '--seconds', '8']);
    const code = await run.exit;
    expect(code, `${run.stdout()}\n${run.stderr()}`).toBe(0);
    const out = run.stdout();
    for (const s of ['media      bridge: sidecar', 'call established', 'is talking', 'dominant speaker: ', 'played', 'call terminated', 'talk time per speaker', 'demo finished.']) expect(out).toContain(s);
    // Speakers are named (from the sidecar's sourceMap), never shown as their MSI ids.
    expect(out).not.toMatch(/\] {3}msi-\d+ is talking/);
    expect(out).not.toMatch(/^ {2}msi-\d+ /m);

    const callId = /call id\s+(\S+)/.exec(out)![1]!;
    const callDir = join(run.dataDir, 'calls', callId);
    const recRoot = join(run.dataDir, 'recordings');
    const [mediaDir] = readdirSync(recRoot);
    const recs = readdirSync(join(recRoot, mediaDir!));
    expect(recs).toEqual(expect.arrayContaining(['mix.opus', 'mix.wav']));
    const msi = recs.filter((f) => /^msi-\d+\.opus$/.test(f));
    expect(msi.length).toBeGreaterThanOrEqual(2);
    for (const f of [...msi, 'mix.opus']) {
      const p = ffprobe(join(recRoot, mediaDir!, f));
      expect(p.codec, f).toBe('opus');
      expect(p.duration, f).toBeGreaterThan(f === 'mix.opus' ? 7 : 2);
    }

    const analytics = JSON.parse(readFileSync(join(callDir, 'analytics.json'), 'utf8'));
    const talkers = analytics.participants.filter((p: { sourceId: string; talkMs: number }) => p.sourceId.startsWith('msi-') && p.talkMs > 0);
    expect(talkers.length).toBeGreaterThanOrEqual(2);
    expect(talkers.map((p: { speaker: string }) => p.speaker)).toEqual(expect.arrayContaining(['Alice Moreno', 'Brian Okafor']));
    const call = JSON.parse(readFileSync(join(callDir, 'call.json'), 'utf8'));
    expect(call.state).toBe('terminated');
    expect(call.speakers.filter((s: { sourceId: string; displayName: string | null }) => s.sourceId.startsWith('msi-') && s.displayName !== null).length).toBeGreaterThanOrEqual(2);
    if (out.includes('transcriber: pocketsphinx')) {
      const transcript = JSON.parse(readFileSync(join(callDir, 'transcript.json'), 'utf8'));
      expect(transcript.lines.length).toBeGreaterThan(0);
      expect(transcript.lines.every((l: { speaker: string | null }) => l.speaker !== null)).toBe(true);
    }
  }, 180_000);

  it('finishes cleanly when the simulated people leave before the time is up', async () => {
    const run = runCli(['demo', '--media', 'bridge', '--participants', '1', '--seconds', '60'], { MEDIABOT_TRANSCRIBER: 'none', MEDIABOT_RECORD: 'off' });
    expect(await run.exit, `${run.stdout()}\n${run.stderr()}`).toBe(0);
    expect(run.stdout()).toContain('the meeting ended by itself');
    expect(run.stdout()).toContain('Everyone else left');
    expect(run.stdout()).toContain('transcript: none');
    expect(run.stdout()).toContain('demo finished.');
  }, 120_000);

  it('exits 2 on bad options and 1 naming the stage when one fails', async () => {
    const bad = runCli(['demo', '--seconds', 'lots']);
    expect(await bad.exit).toBe(2);
    expect(bad.stderr()).toContain('--seconds must be an integer');
    const badMedia = runCli(['demo', '--media', 'pigeon']);
    expect(await badMedia.exit).toBe(2);
    expect(badMedia.stderr()).toContain('--media must be rtp or bridge');

    // An HTTP port already taken: the start-up stage fails.
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const failing = runCli(['demo', '--seconds', '3'], { MEDIABOT_PORT: String(port) });
      expect(await failing.exit).toBe(1);
      expect(failing.stderr()).toMatch(/MEDIABOT_DEMO_FAILED: the demo failed while starting the embedded Graph emulator and the worker/);
    } finally {
      blocker.close();
    }
  }, 60_000);
});
