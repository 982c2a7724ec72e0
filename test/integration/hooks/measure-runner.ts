/**
 * Cost of HookRunner.onTick for a 10-participant call with the built-in inline
 * hooks (talk events, timeline, analytics, transcript) and one async hook that
 * takes copies: median and p99 per tick over 5000 ticks. Prints one JSON object.
 *
 *   npx tsx test/integration/hooks/measure-runner.ts
 */
import { createAnalyticsHook } from '../../../src/media/hooks/builtin/analytics.js';
import { createSpeakerTimelineHook } from '../../../src/media/hooks/builtin/speaker-timeline.js';
import { createTalkEventsHook } from '../../../src/media/hooks/builtin/talk-events.js';
import { createTranscriptHook } from '../../../src/media/hooks/builtin/transcript.js';
import { HookRunner } from '../../../src/media/hooks/runner.js';
import type { AsyncHook } from '../../../src/media/hooks/api.js';
import { FrameFactory } from '../../unit/hooks/frames.js';

const consumer: AsyncHook = {
  name: 'consumer',
  async run(items) {
    for await (const it of items) void it;
  },
};
const runner = new HookRunner({ callId: 'm', hooks: [createTalkEventsHook(), createSpeakerTimelineHook(), createAnalyticsHook(), createTranscriptHook(), consumer], emit: () => {} });
const ff = new FrameFactory('m');
const times: number[] = [];
const heapBefore = process.memoryUsage().heapUsed;
for (let t = 0; t < 5000; t++) {
  const sources = Array.from({ length: 10 }, (_, i) => ({ sourceId: `p${i}`, talking: Math.floor(t / 150) % 10 === i || (t % 97 < 5 && i === 3), levelDbov: -20 - i }));
  const frame = ff.frame(t, sources);
  const t0 = process.hrtime.bigint();
  runner.onTick(frame);
  times.push(Number(process.hrtime.bigint() - t0) / 1000);
  if (t % 10 === 0) await new Promise((r) => setImmediate(r));
}
await runner.stop();
times.sort((a, b) => a - b);
const q = (p: number): number => Math.round(times[Math.floor(p * (times.length - 1))]! * 10) / 10;
console.log(JSON.stringify({ participants: 10, ticks: times.length, onTickUs: { median: q(0.5), p99: q(0.99), max: q(1) }, hooks: runner.stats().hooks.map((h) => ({ name: h.name, p99Us: h.p99Us, maxUs: h.maxUs, dropped: h.dropped })), heapDeltaKb: Math.round((process.memoryUsage().heapUsed - heapBefore) / 1024) }));
