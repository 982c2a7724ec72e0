/**
 * A bridge call is finalized only once its media ended: when the meeting ends, the sidecar ends the
 * media session before Graph's notification arrives, and a hook that flushes its last transcript
 * line 20 s later (a transcriber on a loaded machine) still gets that line, and the timeline and
 * analytics (written by hooks that stop after it), into the call's artifacts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMediabot, type ComposedMediabot } from '../../../src/app/mediabot.js';
import { silentLogger } from '../../../src/logger.js';
import { testConfig, until } from './helpers.js';
import { emulatorControl } from './worker-process.js';

const TOKEN = 'ingress-finalize-token-0123456789';
let bot: ComposedMediabot;

beforeAll(async () => {
  bot = await startMediabot(testConfig({ MEDIABOT_API_TOKEN: TOKEN, MEDIABOT_RECORD: 'on' }), {
    logger: silentLogger,
    hooks: [{ module: resolve('test/fixtures/hooks/slow-flush.ts'), export: 'createSlowFlushHook', options: { delayMs: 20_000 } }],
  });
});
afterAll(async () => {
  await bot?.close();
});

describe('finalizing an ingress call', () => {
  it('waits for hooks that flush after the sidecar ended the media, past the old 15 s cap', async () => {
    const sidecar = await bot.emulator!.attachBridgeSidecar({ url: `${bot.url.replace('http', 'ws')}/media/bridge`, token: TOKEN });
    await until('the sidecar to be connected', () => (bot.ingress.sidecarConnected() ? true : undefined));
    const person = bot.emulator!.script[0]!;
    const meeting = bot.emulator!.createMeeting({ people: [{ ...person, sentences: person.sentences.slice(0, 1) }], endWhenEmpty: false });
    const call = await bot.calls.join({ joinWebUrl: meeting.joinWebUrl });
    await until('talk through the sidecar', () => (bot.calls.speakers(call.id).some((s) => s.talkMs > 0) ? true : undefined), 60_000);
    // The far end ends the meeting: the sidecar ends the media session, Graph reports the call terminated.
    const endedAt = Date.now();
    const ended = await emulatorControl({ emulator: bot.emulator!, caPem: bot.emulator!.caPem }, 'POST', `/_emulator/calls/${call.id}/hangUp`);
    expect(ended.status).toBe(204);
    const artifacts = await bot.calls.whenFinalized(call.id, 180_000);
    // It waited for the hook (20 s after the media ended), not for a fixed cap shorter than that.
    expect(Date.now() - endedAt).toBeGreaterThanOrEqual(19_000);
    expect(artifacts.transcript.map((l) => l.text)).toContain('the last line flushed late');
    const transcript = JSON.parse(readFileSync(join(artifacts.dir, 'transcript.json'), 'utf8')) as { lines: Array<{ text: string }> };
    expect(transcript.lines.map((l) => l.text)).toContain('the last line flushed late');
    // The timeline and analytics hooks stop after the slow one: they were waited for too.
    expect(existsSync(join(artifacts.dir, 'analytics.json'))).toBe(true);
    expect(existsSync(join(artifacts.dir, 'timeline.json'))).toBe(true);
    sidecar.close();
  }, 240_000);
});
