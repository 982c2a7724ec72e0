/**
 * Registers the built-in hooks by name, so a call spec can name them across
 * the media-thread boundary (src/media/core/hook-loader.ts). Options are plain
 * data. The names:
 *
 * - `talk-events`: talk.start / talk.stop events.
 * - `call-outputs` `{dir}`: speaker timeline, analytics and transcript
 *   collection; at the end of the call writes `timeline.json`,
 *   `analytics.json`, `transcript.json` and `transcript.vtt` into `dir`.
 * - `recorder` `{dir, format?, mix?, perSource?, wavRate?}`: Ogg Opus (and/or WAV) files.
 * - `transcription` `{engine: 'pocketsphinx' | 'ws' | 'azure', ...}`: one
 *   recognizer stream per participant (`url` for ws; `key`, `region` or `endpoint` for azure).
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MediabotError } from '../../errors.js';
import { registerBuiltinHook } from '../core/hook-loader.js';
import { createAnalyticsHook } from './builtin/analytics.js';
import { createSpeakerTimelineHook } from './builtin/speaker-timeline.js';
import { createTalkEventsHook } from './builtin/talk-events.js';
import { createTranscriptHook } from './builtin/transcript.js';
import { transcriptToWebVtt } from './export.js';
import { createRecorderHook } from './recorder/index.js';
import type { RecorderHookOptions } from './recorder/index.js';
import { AzureSpeechTranscriber } from './transcribe/azure.js';
import { createTranscriptionHook } from './transcribe/hook.js';
import { PocketsphinxTranscriber } from './transcribe/pocketsphinx.js';
import type { Transcriber } from './transcribe/types.js';
import { WsTranscriber } from './transcribe/ws.js';

function str(options: Record<string, unknown>, key: string): string {
  const v = options[key];
  if (typeof v !== 'string' || v === '') throw new MediabotError('MEDIABOT_HOOK_FAILED', `hook option "${key}" must be a non-empty string`);
  return v;
}

/** Writes a file atomically (temp + rename) so a reader never sees half of it. */
function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

registerBuiltinHook('talk-events', () => createTalkEventsHook());

registerBuiltinHook('call-outputs', (options) => {
  const dir = str(options, 'dir');
  mkdirSync(dir, { recursive: true });
  const write = (name: string, value: unknown): void => writeAtomic(join(dir, name), `${JSON.stringify(value, null, 2)}\n`);
  const timeline = createSpeakerTimelineHook({ onStop: (segments) => write('timeline.json', { callId: options.callId, segments }) });
  const analytics = createAnalyticsHook({ onStop: (snapshot) => write('analytics.json', snapshot) });
  const transcript = createTranscriptHook({
    onStop: (doc) => {
      write('transcript.json', doc);
      writeAtomic(join(dir, 'transcript.vtt'), transcriptToWebVtt(doc.lines));
    },
  });
  return [timeline, analytics, transcript];
});

registerBuiltinHook('recorder', (options) => {
  const opts: RecorderHookOptions = { dir: str(options, 'dir') };
  if (options['format'] === 'ogg' || options['format'] === 'wav' || options['format'] === 'both') opts.format = options['format'];
  if (typeof options['mix'] === 'boolean') opts.mix = options['mix'];
  if (typeof options['perSource'] === 'boolean') opts.perSource = options['perSource'];
  if (options['wavRate'] === 16000 || options['wavRate'] === 48000) opts.wavRate = options['wavRate'];
  return createRecorderHook(opts);
});

registerBuiltinHook('transcription', (options) => {
  let t: Transcriber;
  switch (options['engine']) {
    case 'pocketsphinx':
      t = new PocketsphinxTranscriber();
      break;
    case 'ws':
      t = new WsTranscriber({ url: str(options, 'url') });
      break;
    case 'azure': {
      const az: ConstructorParameters<typeof AzureSpeechTranscriber>[0] = { key: str(options, 'key') };
      if (typeof options['region'] === 'string') az.region = options['region'];
      if (typeof options['endpoint'] === 'string') az.endpoint = options['endpoint'];
      t = new AzureSpeechTranscriber(az);
      break;
    }
    default:
      throw new MediabotError('MEDIABOT_HOOK_FAILED', `transcription engine must be pocketsphinx, ws or azure (got ${String(options['engine'])})`);
  }
  return createTranscriptionHook(t);
});
