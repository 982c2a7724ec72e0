/**
 * Opens the media session a call's spec describes: its hooks, its pipeline, and what carries its
 * audio (RTP on a UDP port, PCM frames from an ingress adapter, or neither).
 */
import { MediabotError } from '../../errors.js';
import { CallPipeline } from '../core/pipeline.js';
import type { MediaEvent } from '../hooks/api.js';
import { loadHooks } from '../hooks/loader.js';
import { HookRunner } from '../hooks/runner.js';
import '../hooks/builtin/index.js';
import type { MediaSession } from './media-session.js';
import { PcmMediaSession, type PcmFeedCounters } from './pcm/pcm-session.js';
import { PipelineSession } from './pipeline-session.js';
import { RtpMediaSession } from './rtp/rtp-session.js';
import type { CallSpec } from './spec.js';

export interface SessionContext {
  /** Where the call's media events go. */
  emit: (event: MediaEvent) => void;
  /** Counters of the PCM feed (shared by the sessions of one media thread). */
  feed: PcmFeedCounters;
}

function checkSpec(spec: CallSpec): void {
  if (spec.rtp && spec.pcm) throw new MediabotError('MEDIABOT_CONFIG_INVALID', `call ${spec.callId}: media comes over RTP or as PCM frames, not both`);
  if (spec.speechOnly) {
    if (spec.mixing !== false) throw new MediabotError('MEDIABOT_CONFIG_INVALID', 'speechOnly needs mixing: false');
    const wants48k = (spec.hooks ?? []).some((h) => 'builtin' in h && h.builtin === 'recorder' && h.options?.['wavRate'] === 48_000);
    if (wants48k) throw new MediabotError('MEDIABOT_CONFIG_INVALID', 'a speechOnly call has no 48 kHz audio: record WAV at 16000 Hz');
  }
}

export async function openMediaSession(spec: CallSpec, ctx: SessionContext): Promise<MediaSession> {
  checkSpec(spec);
  const hooks = await loadHooks(spec.hooks ?? [], spec.callId);
  // Transcribers finish the last utterances after the call ends: give hooks time to drain.
  const runner = hooks.length > 0 ? new HookRunner({ callId: spec.callId, hooks, emit: ctx.emit, stopTimeoutMs: spec.hookStopTimeoutMs ?? 30_000, recordingPaused: spec.recordingPaused === true }) : null;
  const encoder = spec.encoder ?? {};
  const pipeline = new CallPipeline({
    callId: spec.callId,
    encoder,
    talk: spec.talk ?? {},
    hooks: runner,
    emit: ctx.emit,
    alwaysEncodeMix: spec.alwaysEncodeMix ?? false,
    mixing: spec.mixing ?? true,
    speechOnly: spec.speechOnly ?? false,
    sourceIdleMs: spec.sourceIdleMs ?? 10_000,
  });
  if (spec.rtp) {
    const { host, port, allowedPeers, maxParticipants, newSourcesPerSecond } = spec.rtp;
    return RtpMediaSession.open(pipeline, runner, encoder, { host, port, jitter: spec.jitter ?? {}, guard: { allowedPeers, maxParticipants, newSourcesPerSecond }, io: spec.rtpIo ?? 'auto' });
  }
  if (spec.pcm) return new PcmMediaSession(pipeline, runner, encoder, spec.pcm, ctx.feed);
  return new PipelineSession(pipeline, runner, encoder);
}
