/**
 * What the events WebSocket carries: a hook that fails with an absolute path and a tool's stderr in
 * its error (as pocketsphinx's exit does) reaches the socket as `hook.error` naming what failed,
 * without the path or the stderr, which stay in the worker's log. A real worker, a real call, a real
 * user hook module in the media thread.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startMediabot as startWorker, type ComposedMediabot as Worker } from '../../src/app/mediabot.js';
import { createLogger } from '../../src/logger.js';
import { publicEvent, publicHookMessage } from '../../src/util/public-event.js';
import { request } from '../integration/emulator/helpers.js';
import { testConfig, until } from '../integration/app/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'mediabot-public-events-'));
const SECRET_PATH = join(dir, 'models', 'en-us', 'acoustic-model');
const STDERR = 'ERROR: "acmod.c", line 83: Folder does not contain acoustic model definition';
const hookFile = join(dir, 'failing-hook.mjs');
writeFileSync(
  hookFile,
  `export default function createFailingHook() {
  return {
    name: 'failing-engine',
    onFrame() {
      throw new Error(${JSON.stringify(`engine exited (code 1, signal null): ${STDERR} ${SECRET_PATH}\nsecond line of stderr`)});
    },
  };
}
`,
);

let worker: Worker | undefined;
afterAll(async () => {
  await worker?.close();
}, 90_000);

describe('events leave the worker without paths or tool output', () => {
  it('a hook error reaches /v1/events as what failed only; the log keeps the detail', async () => {
    let logText = '';
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        logText += chunk.toString();
        cb();
      },
    });
    worker = await startWorker(testConfig({ MEDIABOT_RECORD: 'off', MEDIABOT_LOG_LEVEL: 'warn', MEDIABOT_HOOKS: hookFile }), { logger: createLogger('warn', 'mediabot', sink) });
    const w = worker;
    const events: Array<Record<string, unknown>> = [];
    const ws = new WebSocket(`${w.url.replace('http', 'ws')}/v1/events`);
    ws.on('message', (m) => events.push(JSON.parse(String(m)) as Record<string, unknown>));
    await new Promise((r) => ws.once('open', r));
    await request(w.emulator!, 'POST', '/_emulator/incomingCalls', { body: { callbackUri: w.callbackUri, from: { id: 'caller-1' } } });
    const err = await until('hook.error on the socket', () => events.find((e) => e['type'] === 'hook.error' && e['hook'] === 'failing-engine'), 30_000);
    ws.close();
    expect(err['message']).toBe('onFrame: engine exited (code 1, signal null)');
    const all = JSON.stringify(events);
    expect(all).not.toContain(dir);
    expect(all).not.toContain('acmod.c');
    await until('the detail in the log', () => (logText.includes('acmod.c') ? true : undefined), 10_000);
  }, 60_000);

  it('recording and artifact events name files, not paths', () => {
    expect(publicEvent({ type: 'recording.file', callId: 'c', sourceId: 's', path: '/srv/mediabot/recordings/c/s.opus', format: 'ogg', mediaTimeMs: 0 })).toMatchObject({ path: 's.opus' });
    expect(publicEvent({ type: 'call.artifacts', callId: 'c', dir: '/srv/mediabot/calls/c', files: ['/srv/mediabot/calls/c/call.json'], at: '' })).toMatchObject({ dir: 'c', files: ['call.json'] });
    expect(publicHookMessage('ssrc-1: pocketsphinx exited (code 1, signal null): FATAL_ERROR: "cmd_ln.c" /usr/share/x')).toBe('ssrc-1: pocketsphinx exited (code 1, signal null)');
    expect(publicHookMessage('could not open /var/lib/mediabot/rec/x.opus: EACCES')).toBe('could not open <path> EACCES');
  });
});
