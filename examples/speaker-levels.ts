/**
 * A bot with its own hook: it loads examples/rms-hook.ts into every call's media and prints the
 * hook's event each second, "who is how loud", with the speakers' names.
 *
 *   node --import tsx examples/speaker-levels.ts [seconds]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { createMediabot, loadConfig } from 'mediabot';
import { startGraphEmulator } from 'mediabot/testing';

const seconds = Number(process.argv[2] ?? 10);
const graph = await startGraphEmulator();
const config = loadConfig({
  ...process.env,
  ...graph.env,
  MEDIABOT_PORT: '0',
  MEDIABOT_DATA_DIR: mkdtempSync(join(tmpdir(), 'levels-')),
  MEDIABOT_RECORD: 'off',
  MEDIABOT_LOG_LEVEL: process.env['MEDIABOT_LOG_LEVEL'] ?? 'warn',
});
// Hooks run on the media threads, so they are named by module and export, not passed as functions.
const rmsHook = { module: fileURLToPath(new URL('./rms-hook.ts', import.meta.url)), export: 'createRmsHook' };
const bot = await createMediabot(config, { caPem: graph.caPem, hooks: [rmsHook] });
await bot.listen();

const speaker = (callId: string, sourceId: string): string =>
  bot.calls.speakers(callId).find((s) => s.sourceId === sourceId)?.displayName ?? sourceId;

bot.events.on('hook.custom', (e) => {
  if (e.name !== 'rms') return;
  const levels = Object.entries(e.data['dbfs'] as Record<string, number>).map(([id, db]) => `${speaker(e.callId, id)} ${db.toFixed(1)} dBFS`);
  console.log(`second ${String(e.data['second']).padStart(3)}: ${levels.join(' | ')}`);
});

const meeting = graph.emulator.createMeeting({ subject: 'speaker levels', people: 2 });
const call = await bot.calls.join({ joinWebUrl: meeting.joinWebUrl });
await sleep(seconds * 1000);

await bot.calls.hangUp(call.id);
await bot.calls.whenFinalized(call.id);
await bot.close();
await graph.close();
