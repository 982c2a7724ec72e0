/**
 * Registers the built-in hooks by name so a call spec can name them across the
 * media-thread boundary (see src/media/hooks/loader.ts). Options are the
 * plain-data options of each factory. `speaker-timeline`, `analytics` and
 * `transcript` take an optional `dir`: at the end of the call they write
 * `timeline.json`, `analytics.json`, and `transcript.json` + `transcript.vtt` there.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { transcriptToWebVtt } from '../export.js';
import { registerBuiltinHook } from '../loader.js';
import { createAnalyticsHook } from './analytics.js';
import { createSpeakerTimelineHook } from './speaker-timeline.js';
import { createTalkEventsHook } from './talk-events.js';
import { createTranscriptHook } from './transcript.js';
import { createRecorderHook } from '../recorder/index.js';
import { createTranscriber, type TranscriberName } from '../transcribe/engines.js';
import type { AzureSpeechSettings } from '../../../config/config.js';
import { createTranscriptionHook } from '../transcribe/hook.js';
import { MediabotError } from '../../../errors.js';

/** Writes a call output atomically (temp file + rename): a reader never sees half a file. */
function writeOutput(dir: unknown, name: string, text: string): void {
  if (typeof dir !== 'string' || dir === '') return;
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

const num = (o: Record<string, unknown>, k: string): number | undefined => (typeof o[k] === 'number' ? (o[k] as number) : undefined);

registerBuiltinHook('talk-events', () => createTalkEventsHook());

registerBuiltinHook('speaker-timeline', (o) => {
  const opts: Parameters<typeof createSpeakerTimelineHook>[0] = {};
  const hold = num(o, 'holdMs');
  const margin = num(o, 'marginDb');
  const release = num(o, 'releaseMs');
  if (hold !== undefined) opts.holdMs = hold;
  if (margin !== undefined) opts.marginDb = margin;
  if (release !== undefined) opts.releaseMs = release;
  opts.onStop = (segments) => writeOutput(o.dir, 'timeline.json', json({ callId: o.callId, segments }));
  return createSpeakerTimelineHook(opts);
});

registerBuiltinHook('analytics', (o) => {
  const w = num(o, 'interruptionWindowMs');
  const onStop = (snapshot: unknown): void => writeOutput(o.dir, 'analytics.json', json(snapshot));
  return createAnalyticsHook(w === undefined ? { onStop } : { interruptionWindowMs: w, onStop });
});

registerBuiltinHook('transcript', (o) =>
  createTranscriptHook({
    onStop: (doc) => {
      writeOutput(o.dir, 'transcript.json', json(doc));
      writeOutput(o.dir, 'transcript.vtt', transcriptToWebVtt(doc.lines));
    },
  }),
);

registerBuiltinHook('transcribe', async (o) => {
  const t = await createTranscriber({
    transcriber: o.engine as TranscriberName,
    transcriberWsUrl: typeof o.url === 'string' ? o.url : undefined,
    azure: o.azure as AzureSpeechSettings | undefined,
    pocketsphinxArgs: Array.isArray(o.args) ? o.args.map(String) : undefined,
  });
  if (t === null) throw new MediabotError('MEDIABOT_HOOK_FAILED', 'the transcribe hook needs an engine (pocketsphinx, azure or ws)');
  const q = num(o, 'queueSize');
  return createTranscriptionHook(t, q === undefined ? {} : { queueSize: q });
});

registerBuiltinHook('recorder', (o) => {
  if (typeof o.dir !== 'string' || o.dir === '') throw new MediabotError('MEDIABOT_HOOK_FAILED', 'the recorder hook needs a dir');
  const format = o.format === 'wav' || o.format === 'both' ? o.format : 'ogg';
  return createRecorderHook({ dir: o.dir, format, ...(typeof o.mix === 'boolean' ? { mix: o.mix } : {}), ...(typeof o.perSource === 'boolean' ? { perSource: o.perSource } : {}) });
});
