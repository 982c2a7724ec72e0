/**
 * Registers the built-in hooks by name so a call spec can name them across the
 * media-thread boundary (see src/media/core/hook-loader.ts). Options are the
 * plain-data options of each factory.
 */
import { registerBuiltinHook } from '../core/hook-loader.js';
import { createAnalyticsHook } from './builtin/analytics.js';
import { createSpeakerTimelineHook } from './builtin/speaker-timeline.js';
import { createTalkEventsHook } from './builtin/talk-events.js';
import { createTranscriptHook } from './builtin/transcript.js';
import { createRecorderHook } from './recorder/index.js';
import { createTranscriber, type TranscriberName } from './registry.js';
import { createTranscriptionHook } from './transcribe/hook.js';
import { MediabotError } from '../../errors.js';

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
  return createSpeakerTimelineHook(opts);
});

registerBuiltinHook('analytics', (o) => {
  const w = num(o, 'interruptionWindowMs');
  return createAnalyticsHook(w === undefined ? {} : { interruptionWindowMs: w });
});

registerBuiltinHook('transcript', () => createTranscriptHook());

registerBuiltinHook('transcribe', (o) => {
  const t = createTranscriber({
    transcriber: o.engine as TranscriberName,
    transcriberWsUrl: typeof o.url === 'string' ? o.url : undefined,
    azure: o.azure as { key: string; region?: string; endpoint?: string; language?: string } | undefined,
    pocketsphinxArgs: Array.isArray(o.args) ? o.args.map(String) : undefined,
  });
  if (t === null) throw new MediabotError('MEDIABOT_HOOK_FAILED', 'the transcribe hook needs an engine (pocketsphinx, azure or ws)');
  const q = num(o, 'queueSize');
  return createTranscriptionHook(t, q === undefined ? {} : { queueSize: q });
});

registerBuiltinHook('recorder', (o) => {
  if (typeof o.dir !== 'string' || o.dir === '') throw new MediabotError('MEDIABOT_HOOK_FAILED', 'the recorder hook needs a dir');
  const format = o.format === 'wav' || o.format === 'both' ? o.format : 'ogg';
  return createRecorderHook({ dir: o.dir, format });
});
