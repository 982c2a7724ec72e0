/**
 * The body of a media thread (worker_threads). It owns one drift-corrected
 * clock; every call pinned to this thread ticks from it. Each call is one
 * MediaSession (RTP sockets, PCM feeds and hooks live inside it), so the main
 * thread only sees events, outbound frames and replies.
 */
import { setPriority } from 'node:os';
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { isMediabotError, MediabotError } from '../../errors.js';
import type { MediaEvent } from '../hooks/api.js';
import { MediaClock } from '../core/clock.js';
import { SAMPLES_16K } from '../core/frame.js';
import { openMediaSession } from '../session/factory.js';
import type { CallMediaStats, MediaSession } from '../session/media-session.js';
import type { PcmFeedCounters } from '../session/pcm/pcm-session.js';
import type { FromMediaThread, MediaRequest, MediaRequestType, MediaResult, MediaThreadData, OutboundFrame, PcmPush, ToMediaThread } from './protocol.js';

const port = parentPort;
if (!port) throw new Error('media-thread must run in a worker thread');

const data = (workerData ?? {}) as MediaThreadData;
if (data.nice !== undefined) {
  try {
    // pid 0 is the calling thread on Linux: this media thread alone.
    setPriority(data.nice);
  } catch (err) {
    process.emitWarning(`media thread: cannot set nice ${data.nice} (${(err as Error).message}); running at the process's priority`, { code: 'MEDIABOT_MEDIA_NICE' });
  }
}

const sessions = new Map<string, MediaSession>();
let tickList: MediaSession[] = [];
/** Sessions with batched socket I/O: polled right before the tick, flushed right after. */
let pollList: MediaSession[] = [];
let flushList: MediaSession[] = [];
let pendingEvents: MediaEvent[] = [];
/** Sessions whose outbound audio goes to the main thread each tick. */
let outboundList: MediaSession[] = [];
const outboundReady: Array<{ session: MediaSession; frame: Int16Array }> = [];
/** PCM frames for calls this thread does not run (ended, unknown, or not PCM). */
const feed: PcmFeedCounters = { strayPcmFrames: 0 };

const clock = new MediaClock(() => {
  for (let i = 0; i < pollList.length; i++) guarded(pollList[i]!, 'poll');
  for (let i = 0; i < tickList.length; i++) {
    const s = tickList[i]!;
    try {
      s.tick();
    } catch (err) {
      // A failing call must not stop the others on this thread.
      queueEvent({ type: 'hook.error', callId: s.callId, sourceId: null, hook: 'pipeline', message: (err as Error).message, mediaTimeMs: s.pipeline.mediaTimeMs });
    }
  }
  for (let i = 0; i < flushList.length; i++) guarded(flushList[i]!, 'flush');
  flushEvents();
  if (outboundList.length > 0) postOutbound();
});

/** A session's socket poll or flush; a failure is the call's error event, not the thread's. */
function guarded(s: MediaSession, what: 'poll' | 'flush'): void {
  try {
    if (what === 'poll') s.beforeTick!();
    else s.afterTick!();
  } catch (err) {
    queueEvent({ type: 'hook.error', callId: s.callId, sourceId: null, hook: `rtp-${what}`, message: (err as Error).message, mediaTimeMs: s.pipeline.mediaTimeMs });
  }
}

function postOutbound(): void {
  let n = 0;
  for (const s of outboundList) {
    const frame = s.outbound();
    if (frame === null) continue;
    const slot = (outboundReady[n++] ??= { session: s, frame });
    slot.session = s;
    slot.frame = frame;
  }
  if (n === 0) return;
  // One buffer for all calls of this tick: one transfer per tick instead of one per call.
  const all = new Int16Array(n * SAMPLES_16K);
  const frames: OutboundFrame[] = [];
  for (let i = 0; i < n; i++) {
    const o = outboundReady[i]!;
    const view = all.subarray(i * SAMPLES_16K, (i + 1) * SAMPLES_16K);
    view.set(o.frame);
    // the pipeline already counted this tick, so its media time is one frame ahead
    frames.push({ callId: o.session.callId, mediaTimeMs: o.session.pipeline.mediaTimeMs - 20, samples: view });
  }
  const msg: FromMediaThread = { type: 'outbound', frames };
  port!.postMessage(msg, [all.buffer]);
}

function pushPcm(msg: PcmPush): void {
  const s = sessions.get(msg.callId);
  if (!s || !s.pushPcm(msg.frames)) feed.strayPcmFrames += msg.frames.length;
}

function queueEvent(e: MediaEvent): void {
  pendingEvents.push(e);
}

function flushEvents(): void {
  if (pendingEvents.length === 0) return;
  const msg: FromMediaThread = { type: 'events', events: pendingEvents };
  pendingEvents = [];
  port!.postMessage(msg);
}

function rebuild(): void {
  tickList = [...sessions.values()];
  outboundList = tickList.filter((s) => s.hasOutbound);
  pollList = tickList.filter((s) => s.beforeTick !== undefined);
  flushList = tickList.filter((s) => s.afterTick !== undefined);
  if (tickList.length > 0 && !clock.isRunning) clock.start();
  if (tickList.length === 0 && clock.isRunning) clock.stop();
}

function sessionOf(callId: string): MediaSession {
  const s = sessions.get(callId);
  if (!s) throw new MediabotError('MEDIABOT_CALL_NOT_FOUND', `no call ${callId} on this media thread`);
  return s;
}

function withThread(s: ReturnType<MediaSession['stats']>): CallMediaStats {
  return { ...s, clock: { ...clock.stats }, threadId };
}

async function endCall(callId: string): Promise<CallMediaStats> {
  const s = sessionOf(callId);
  sessions.delete(callId);
  rebuild();
  const stats = withThread(await s.close());
  flushEvents();
  return stats;
}

type Handlers = { [K in MediaRequestType]: (msg: MediaRequest<K>) => Promise<MediaResult<K>> };

const handlers: Handlers = {
  async create({ spec }) {
    if (sessions.has(spec.callId)) throw new MediabotError('MEDIABOT_BAD_REQUEST', `call ${spec.callId} already runs on this media thread`);
    const session = await openMediaSession(spec, { emit: queueEvent, feed });
    sessions.set(spec.callId, session);
    rebuild();
    return { callId: spec.callId, rtp: session.rtp };
  },
  end: ({ callId }) => endCall(callId),
  stats: async ({ callId }) => withThread(sessionOf(callId).stats()),
  play: async ({ callId, sourceId, rate, samples }) => sessionOf(callId).playPcm({ sourceId, rate, samples }),
  recording: async ({ callId, paused }) => ({ mediaTimeMs: sessionOf(callId).setRecordingPaused(paused) }),
  async shutdown() {
    for (const id of [...sessions.keys()]) await endCall(id);
    clock.stop();
    return { ok: true };
  },
};

function handle<K extends MediaRequestType>(msg: MediaRequest<K>): Promise<MediaResult<K>> {
  // Each request type goes to its own handler; the union is narrowed by `type`.
  const handler = handlers[msg.type] as (m: MediaRequest<K>) => Promise<MediaResult<K>>;
  return handler(msg);
}

port.on('message', (msg: ToMediaThread) => {
  if (msg.type === 'pcm') {
    pushPcm(msg);
    return;
  }
  handle(msg).then(
    (result) => port.postMessage({ id: msg.id, ok: true, result } satisfies FromMediaThread),
    (err: unknown) => {
      const error = isMediabotError(err) ? { code: err.code, message: err.message } : { code: 'MEDIABOT_MEDIA_THREAD_FAILED', message: err instanceof Error ? err.message : String(err) };
      port.postMessage({ id: msg.id, ok: false, error } satisfies FromMediaThread);
    },
  );
});
