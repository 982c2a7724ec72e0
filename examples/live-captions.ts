/**
 * Live captions: joins a Teams meeting and prints each final transcript line with its speaker.
 *
 * The meeting here is the Graph emulator's (mediabot/testing): it plays Microsoft's part, with
 * simulated people talking. Against a real tenant, drop the emulator, set MEDIABOT_CLIENT_ID,
 * MEDIABOT_CLIENT_SECRET, MEDIABOT_TENANT_ID and MEDIABOT_PUBLIC_URL, and pass a real joinWebUrl.
 *
 *   node --import tsx examples/live-captions.ts [seconds]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createMediabot, loadConfig } from 'mediabot';
import { pocketsphinxAvailable } from 'mediabot/hooks';
import { startGraphEmulator } from 'mediabot/testing';

const seconds = Number(process.argv[2] ?? 20);
const transcriber = pocketsphinxAvailable() ? 'pocketsphinx' : 'none';
if (transcriber === 'none') console.error('pocketsphinx is not installed (apt install pocketsphinx pocketsphinx-en-us): no captions');

const graph = await startGraphEmulator();
const config = loadConfig({
  ...process.env,
  ...graph.env,
  MEDIABOT_PORT: '0',
  MEDIABOT_DATA_DIR: mkdtempSync(join(tmpdir(), 'captions-')),
  MEDIABOT_TRANSCRIBER: transcriber,
  MEDIABOT_RECORD: 'off',
  MEDIABOT_LOG_LEVEL: process.env['MEDIABOT_LOG_LEVEL'] ?? 'warn',
});
const bot = await createMediabot(config, { caPem: graph.caPem });
await bot.listen();

// Who is behind a media source: the roster name mediabot matched to it.
const speaker = (callId: string, sourceId: string): string =>
  bot.calls.speakers(callId).find((s) => s.sourceId === sourceId)?.displayName ?? sourceId;

// mediabot's own audio (its consent announcement, prompts) is transcribed too: not a caption.
const ownAudio = (callId: string, sourceId: string): boolean => bot.calls.speakers(callId).some((s) => s.sourceId === sourceId && s.prompt);

bot.events.on('transcript.final', (e) => {
  if (!ownAudio(e.callId, e.sourceId)) console.log(`${speaker(e.callId, e.sourceId)}: ${e.text}`);
});
bot.events.on('call.state', (e) => console.error(`(call ${e.state})`));

const meeting = graph.emulator.createMeeting({ subject: 'live captions', people: 2 });
const call = await bot.calls.join({ joinWebUrl: meeting.joinWebUrl });
await sleep(seconds * 1000);

await bot.calls.hangUp(call.id);
await bot.calls.whenFinalized(call.id); // the transcriber's last lines arrive while the call ends
await bot.close();
await graph.close();
