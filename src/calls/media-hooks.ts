/**
 * The worker's own hooks for every app-hosted call, next to the built-ins it names (talk events,
 * recorder, transcription). This module is loaded *inside the media thread* (a HookSpec
 * `{module, export: 'createWorkerHooks'}`), so its options are plain data.
 *
 * Speaker timeline and analytics are written as JSON into `scratchDir` when the call stops, so the
 * main thread finds them once `endCall` resolved (it flushes the hooks); live levels are emitted
 * about 5 times a second for the dashboard.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAnalyticsHook } from '../media/hooks/builtin/analytics.js';
import { createSpeakerTimelineHook } from '../media/hooks/builtin/speaker-timeline.js';
import type { Hook, HookContext, InlineHook, TickFrame } from '../media/hooks/api.js';

export interface WorkerHookOptions {
  callId: string;
  /** Where timeline.json and analytics.json are written at stop. */
  scratchDir: string;
  /** How often live levels are emitted (default 200 ms, i.e. 5 per second). */
  levelsIntervalMs?: number;
}

export const ANALYTICS_FILE = 'analytics.json';
export const TIMELINE_FILE = 'timeline.json';

/**
 * Emits `level` events: per source, the loudest frame level (dBov) of the last interval.
 * Per tick it only updates numbers in a reused map; it allocates once per interval.
 */
export function createLevelsHook(intervalMs = 200): InlineHook {
  const everyTicks = Math.max(1, Math.round(intervalMs / 20));
  const peak = new Map<string, number>();
  let ticks = 0;
  return {
    name: 'levels',
    budgetUs: 200,
    onFrame(frame: TickFrame, ctx: HookContext): void {
      for (let i = 0; i < frame.sources.length; i++) {
        const s = frame.sources[i]!;
        const prev = peak.get(s.sourceId);
        if (prev === undefined || s.levelDbov > prev) peak.set(s.sourceId, s.levelDbov);
      }
      if (++ticks < everyTicks) return;
      ticks = 0;
      if (peak.size === 0) return;
      const levels: Record<string, number> = {};
      for (const [id, db] of peak) levels[id] = Math.round(db * 10) / 10;
      peak.clear();
      ctx.emit({ type: 'level', callId: ctx.callId, mediaTimeMs: frame.mediaTimeMs, levels });
    },
  };
}

function writeJson(dir: string, name: string, value: unknown): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), JSON.stringify(value, null, 2));
}

export function createWorkerHooks(o: WorkerHookOptions): Hook[] {
  return [
    createSpeakerTimelineHook({ onStop: (segments) => writeJson(o.scratchDir, TIMELINE_FILE, { callId: o.callId, segments }) }),
    createAnalyticsHook({ onStop: (snapshot) => writeJson(o.scratchDir, ANALYTICS_FILE, snapshot) }),
    createLevelsHook(o.levelsIntervalMs ?? 200),
  ];
}
