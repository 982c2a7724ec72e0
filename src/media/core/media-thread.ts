/**
 * The body of a media thread (worker_threads). It owns one drift-corrected
 * clock; every call pinned to this thread ticks from it. Calls, their UDP
 * sockets and their hooks live here, so the main thread only sees events.
 */
import { parentPort, threadId } from 'node:worker_threads';
import { isMediabotError, MediabotError } from '../../errors.js';
import { HookRunner } from '../hooks/runner.js';
import type { MediaEvent } from '../hooks/types.js';
import { UdpRtpTransport } from '../rtp/udp-transport.js';
import { BatchedRtpTransport } from '../rtp/batched-rtp-transport.js';
import type { CallSpec } from './call-spec.js';
import { MediaClock } from './clock.js';
import { loadHooks } from './hook-loader.js';
import { CallPipeline } from './pipeline.js';
import type { CallMediaStats, CreatedCall, FromMediaThread, OutboundFrame, ToMediaThread } from './thread-protocol.js';
import { PcmCall } from '../ingress/pcm-call.js';
import { SAMPLES_16K } from './frame.js';
import '../hooks/builtin-specs.js';

interface RunningCall {
  pipeline: CallPipeline;
  transport: UdpRtpTransport | BatchedRtpTransport | null;
  runner: HookRunner | null;
  reportTimer: NodeJS.Timeout | null;
  /** PCM ingress sources and outbound audio (spec.pcm), or null. */
  pcm: PcmCall | null;
}

const port = parentPort;
if (!port) throw new Error('media-thread must run in a worker thread');

const calls = new Map<string, RunningCall>();
let tickList: CallPipeline[] = [];
/** Prototype (MEDIABOT_RTP_IO=batched): transports read before the tick and sent after it. */
let batchedList: BatchedRtpTransport[] = [];
let pendingEvents: MediaEvent[] = [];
/** Calls whose outbound audio goes to the main thread each tick. */
let outboundList: Array<{ callId: string; pipeline: CallPipeline; pcm: PcmCall }> = [];
const outboundReady: Array<{ callId: string; pipeline: CallPipeline; pcm: PcmCall }> = [];
/** PCM frames for calls this thread does not run (ended or unknown). */
let strayPcmFrames = 0;

const clock = new MediaClock(() => {
  for (let i = 0; i < batchedList.length; i++) batchedList[i]!.poll();
  for (let i = 0; i < tickList.length; i++) {
    try {
      tickList[i]!.tick();
    } catch (err) {
      // A failing call must not stop the others on this thread.
      queueEvent({ type: 'hook.error', callId: tickList[i]!.callId, sourceId: null, hook: 'pipeline', message: (err as Error).message, mediaTimeMs: tickList[i]!.mediaTimeMs });
    }
  }
  for (let i = 0; i < batchedList.length; i++) batchedList[i]!.flush();
  flushEvents();
  if (outboundList.length > 0) postOutbound();
});

function postOutbound(): void {
  let n = 0;
  for (const o of outboundList) if (o.pcm.outbound()) outboundReady[n++] = o;
  if (n === 0) return;
  // One buffer for all calls of this tick: one transfer per tick instead of one per call.
  const all = new Int16Array(n * SAMPLES_16K);
  const frames: OutboundFrame[] = [];
  for (let i = 0; i < n; i++) {
    const o = outboundReady[i]!;
    const view = all.subarray(i * SAMPLES_16K, (i + 1) * SAMPLES_16K);
    view.set(o.pcm.outFrame);
    // the pipeline already counted this tick, so its media time is one frame ahead
    frames.push({ callId: o.callId, mediaTimeMs: o.pipeline.mediaTimeMs - 20, samples: view });
  }
  const msg: FromMediaThread = { type: 'outbound', frames };
  port!.postMessage(msg, [all.buffer]);
}

function pushPcm(msg: Extract<ToMediaThread, { type: 'pcm' }>): void {
  const c = calls.get(msg.callId);
  if (!c || !c.pcm) {
    strayPcmFrames += msg.frames.length;
    return;
  }
  c.pcm.push(msg.frames);
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
  tickList = [...calls.values()].map((c) => c.pipeline);
  batchedList = [...calls.values()].flatMap((c) => (c.transport instanceof BatchedRtpTransport ? [c.transport] : []));
  outboundList = [...calls.values()].flatMap((c) => (c.pcm && c.pcm.outboundMode !== 'off' ? [{ callId: c.pipeline.callId, pipeline: c.pipeline, pcm: c.pcm }] : []));
  if (tickList.length > 0 && !clock.isRunning) clock.start();
  if (tickList.length === 0 && clock.isRunning) clock.stop();
}

async function createCall(spec: CallSpec): Promise<CreatedCall> {
  if (calls.has(spec.callId)) throw new MediabotError('MEDIABOT_BAD_REQUEST', `call ${spec.callId} already runs on this media thread`);
  if (spec.speechOnly) {
    if (spec.mixing !== false) throw new MediabotError('MEDIABOT_CONFIG_INVALID', 'speechOnly needs mixing: false');
    const wants48k = (spec.hooks ?? []).some((h) => 'builtin' in h && h.builtin === 'recorder' && h.options?.['wavRate'] === 48_000);
    if (wants48k) throw new MediabotError('MEDIABOT_CONFIG_INVALID', 'a speechOnly call has no 48 kHz audio: record WAV at 16000 Hz');
  }
  const hooks = await loadHooks(spec.hooks ?? [], spec.callId);
  // Transcribers finish the last utterances after the call ends: give hooks time to drain.
  const runner = hooks.length > 0 ? new HookRunner({ callId: spec.callId, hooks, emit: queueEvent, stopTimeoutMs: spec.hookStopTimeoutMs ?? 30_000 }) : null;
  const pipeline = new CallPipeline({
    callId: spec.callId,
    encoder: spec.encoder ?? {},
    talk: spec.talk ?? {},
    hooks: runner,
    emit: queueEvent,
    alwaysEncodeMix: spec.alwaysEncodeMix ?? false,
    mixing: spec.mixing ?? true,
    speechOnly: spec.speechOnly ?? false,
    sourceIdleMs: spec.sourceIdleMs ?? 10_000,
  });
  let transport: UdpRtpTransport | BatchedRtpTransport | null = null;
  let rtp: CreatedCall['rtp'] = null;
  let reportTimer: NodeJS.Timeout | null = null;
  if (spec.rtp) {
    const rtpOpts = { host: spec.rtp.host, port: spec.rtp.port, jitter: spec.jitter ?? {} };
    transport = process.env['MEDIABOT_RTP_IO'] === 'batched' ? new BatchedRtpTransport(pipeline, rtpOpts) : new UdpRtpTransport(pipeline, rtpOpts);
    pipeline.setSend(transport.send);
    rtp = await transport.listen();
    const t = transport;
    reportTimer = setInterval(() => t.sendReports(), 5000);
  }
  const pcm = spec.pcm ? new PcmCall(pipeline, spec.pcm, spec.encoder ?? {}) : null;
  calls.set(spec.callId, { pipeline, transport, runner, reportTimer, pcm });
  rebuild();
  return { callId: spec.callId, rtp };
}

function pcmStatsOf(c: RunningCall, sourceId: string): CallMediaStats['sources'][number] {
  const pcm = c.pcm?.statsOf(sourceId);
  return pcm ? { sourceId, pcm } : { sourceId };
}

function statsOf(c: RunningCall): CallMediaStats {
  const p = c.pipeline;
  const participants = c.transport ? c.transport.participants() : [];
  const sources = p.listSources().map((s) => {
    const part = participants.find((x) => x.sourceId === s.sourceId);
    return part
      ? { sourceId: s.sourceId, ssrc: part.ssrc, address: part.address, port: part.port, packetsSent: part.packetsSent, jitter: { ...part.stats } as Record<string, number> }
      : pcmStatsOf(c, s.sourceId);
  });
  // PCM sources removed as idle still report.
  if (c.pcm) for (const id of c.pcm.inputs.keys()) if (!sources.some((s) => s.sourceId === id)) sources.push(pcmStatsOf(c, id));
  // Sources that left (idle or BYE) still report, from the transport.
  for (const part of participants) if (!sources.some((s) => s.sourceId === part.sourceId)) sources.push({ sourceId: part.sourceId, ssrc: part.ssrc, address: part.address, port: part.port, packetsSent: part.packetsSent, jitter: { ...part.stats } as Record<string, number> });
  return {
    callId: p.callId,
    mediaTimeMs: p.mediaTimeMs,
    ticks: p.ticks,
    encodes: p.encodesTotal,
    lastEncodes: p.lastEncodes,
    sources,
    transport: c.transport ? { ...c.transport.stats } : c.pcm ? { pcmFrames: c.pcm.counters.frames, pcmBadFrames: c.pcm.counters.badFrames, strayPcmFrames } : null,
    stages: p.stageStats(),
    clock: { ...clock.stats },
    threadId,
    hooks: c.runner ? c.runner.stats() : null,
  };
}

async function endCall(callId: string): Promise<CallMediaStats> {
  const c = calls.get(callId);
  if (!c) throw new MediabotError('MEDIABOT_CALL_NOT_FOUND', `no call ${callId} on this media thread`);
  calls.delete(callId);
  rebuild();
  if (c.reportTimer) clearInterval(c.reportTimer);
  const stats = statsOf(c);
  await c.pipeline.stop();
  if (c.transport) await c.transport.close();
  flushEvents();
  return stats;
}

async function handle(msg: ToMediaThread): Promise<unknown> {
  switch (msg.type) {
    case 'create':
      return createCall(msg.spec);
    case 'end':
      return endCall(msg.callId);
    case 'stats': {
      const c = calls.get(msg.callId);
      if (!c) throw new MediabotError('MEDIABOT_CALL_NOT_FOUND', `no call ${msg.callId} on this media thread`);
      return statsOf(c);
    }
    case 'shutdown': {
      for (const id of [...calls.keys()]) await endCall(id);
      clock.stop();
      return { ok: true };
    }
  }
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
