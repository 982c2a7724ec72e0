/**
 * Whether a call's recording and transcription run (docs/consent.md). Two things can hold them:
 * the operator (POST /v1/calls/:id/recording, `Mediabot.calls.setRecording`) and, on a
 * policy-based (compliance) recording call, Graph's recording status: such a call's media starts
 * paused and runs only once updateRecordingStatus(`recording`) was accepted, so not one frame is
 * kept before. Every change is a `call.recording` event.
 */
import { MediabotError, isMediabotError } from '../../errors.js';
import type { RecordingChangeReason, RecordingState, WorkerEvent } from '../../events/live.js';
import type { Logger } from '../../logger.js';
import type { AwaitableCallOperations } from '../../signaling/operations.js';
import type { CallTable } from '../call-table.js';

/** What pauses and resumes a call's media (RtpMediaSessions: RTP and ingress media alike). */
export interface RecordingMediaPort {
  running(mediaId: string): boolean;
  setRecordingPaused(mediaId: string, paused: boolean): Promise<{ mediaTimeMs: number }>;
  holdRecordingAtStart(mediaId: string): void;
}

export type PolicyStatus = 'none' | 'pending' | 'confirmed' | 'refused';

interface CallRecording {
  operatorPaused: boolean;
  /** Graph's recording status of a policy-based recording call ('none' for any other call). */
  policy: PolicyStatus;
}

export interface RecordingView {
  state: RecordingState;
  /** Paused by the operator's request. */
  operatorPaused: boolean;
  policy: PolicyStatus;
  /** Where the change took effect in the call's media. */
  mediaTimeMs: number | null;
}

export interface RecordingControlOptions {
  table: CallTable;
  media: RecordingMediaPort;
  operations: Pick<AwaitableCallOperations, 'updateRecordingStatus'>;
  /** True for a policy-based (compliance) recording call (the registry's view). */
  isPolicyBased: (callId: string) => boolean;
  emit: (e: WorkerEvent) => void;
  /** The policy-based status was confirmed: what was held may now be announced and kept. */
  onPolicyConfirmed?: (callId: string) => void;
  logger: Logger;
}

/** How long an awaited updateRecordingStatus may take. */
const STATUS_TIMEOUT_MS = 60_000;

export class RecordingControl {
  private readonly calls = new Map<string, CallRecording>();

  constructor(private readonly o: RecordingControlOptions) {}

  private entry(callId: string): CallRecording {
    const k = callId.toLowerCase();
    let e = this.calls.get(k);
    if (!e) {
      e = { operatorPaused: false, policy: 'none' };
      this.calls.set(k, e);
    }
    return e;
  }

  private paused(e: CallRecording): boolean {
    return e.operatorPaused || e.policy === 'pending' || e.policy === 'refused';
  }

  /** True while nothing of the call may be kept because Graph has not accepted its recording status. */
  heldByPolicy(callId: string): boolean {
    const p = this.calls.get(callId.toLowerCase())?.policy;
    return p === 'pending' || p === 'refused';
  }

  /**
   * A policy-based recording call is about to get its media: it starts paused (held in the media
   * thread pool, so even the first frame is not kept) until Graph accepts `recording`.
   */
  holdForPolicy(callId: string, mediaId: string): void {
    this.entry(callId).policy = 'pending';
    this.o.media.holdRecordingAtStart(mediaId);
    this.markPaused(callId, 0, 'policy');
    this.emit(callId, 'paused', 'policy-pending', null);
  }

  /** How reporting `recording` to Graph went for a policy-based call (IncomingCallHandler). */
  async policyOutcome(callId: string, ok: boolean): Promise<void> {
    const e = this.entry(callId);
    if (e.policy !== 'pending') return;
    if (!ok) {
      e.policy = 'refused';
      // Nothing was kept and nothing will be; the call itself goes on (Teams decides whether to end it).
      this.o.logger.warn({ callId }, 'the policy-based recording status was not accepted: nothing of this call is recorded or transcribed');
      this.emit(callId, 'paused', 'policy-refused', null, 'MEDIABOT_RECORDING_STATUS_FAILED');
      return;
    }
    e.policy = 'confirmed';
    const mediaTimeMs = e.operatorPaused ? null : await this.applyToMedia(callId, false);
    if (!e.operatorPaused) this.markResumed(callId, mediaTimeMs);
    this.emit(callId, e.operatorPaused ? 'paused' : 'recording', 'policy-confirmed', mediaTimeMs);
    this.o.onPolicyConfirmed?.(callId);
  }

  /**
   * The operator pauses or resumes the call's recording and transcription. On a policy-based call,
   * a pause tells Graph `notRecording` (after the media stopped keeping audio) and a resume tells it
   * `recording` first: if Graph refuses, the call stays paused (MEDIABOT_RECORDING_STATUS_FAILED).
   */
  async set(callId: string, state: unknown): Promise<RecordingView> {
    if (state !== 'paused' && state !== 'recording') throw new MediabotError('MEDIABOT_BAD_REQUEST', 'state must be "paused" or "recording"');
    const call = this.o.table.requireActive(callId);
    const m = this.o.table.find(call.id);
    if (m?.mode !== 'app' || m.mediaId === null || !this.o.media.running(m.mediaId)) {
      throw new MediabotError('MEDIABOT_RECORDING_UNAVAILABLE', `call ${callId} has no media mediabot records or transcribes`);
    }
    const e = this.entry(call.id);
    const policyBased = this.o.isPolicyBased(call.id);
    if (state === 'paused') {
      const already = this.paused(e);
      e.operatorPaused = true;
      const mediaTimeMs = await this.applyToMedia(call.id, true);
      if (!already) this.markPaused(call.id, mediaTimeMs ?? 0, 'operator');
      if (policyBased && e.policy === 'confirmed') {
        try {
          await this.o.operations.updateRecordingStatus(call.id, 'notRecording', { timeoutMs: STATUS_TIMEOUT_MS });
        } catch (err) {
          // The media keeps nothing either way; Teams just goes on showing the call as recorded.
          this.o.logger.warn({ err, callId: call.id }, 'updateRecordingStatus(notRecording) failed; the recording is paused all the same');
        }
      }
      this.emit(call.id, 'paused', 'operator', mediaTimeMs);
      return this.view(e, mediaTimeMs);
    }
    // Graph hears `recording` again before anything is kept: first time, or after a pause told it `notRecording`.
    if (policyBased && (e.policy !== 'confirmed' || e.operatorPaused)) {
      try {
        await this.o.operations.updateRecordingStatus(call.id, 'recording', { timeoutMs: STATUS_TIMEOUT_MS });
      } catch (err) {
        const message = isMediabotError(err) || err instanceof Error ? err.message : String(err);
        throw new MediabotError('MEDIABOT_RECORDING_STATUS_FAILED', `Graph did not accept the recording status of call ${callId}; it stays paused: ${message}`);
      }
      const wasHeld = e.policy !== 'confirmed';
      e.policy = 'confirmed';
      if (wasHeld) this.o.onPolicyConfirmed?.(call.id);
    }
    const wasPaused = this.paused(e);
    e.operatorPaused = false;
    const mediaTimeMs = this.paused(e) ? null : await this.applyToMedia(call.id, false);
    if (wasPaused && !this.paused(e)) this.markResumed(call.id, mediaTimeMs);
    this.emit(call.id, 'recording', 'operator', mediaTimeMs);
    return this.view(e, mediaTimeMs);
  }

  /** The call's recording state (for a call never paused: recording). */
  stateOf(callId: string): RecordingView {
    return this.view(this.calls.get(callId.toLowerCase()) ?? { operatorPaused: false, policy: 'none' }, null);
  }

  forget(callId: string): void {
    this.calls.delete(callId.toLowerCase());
  }

  /** A stretch without recording starts (kept with the call for its call.json). */
  private markPaused(callId: string, fromMs: number, reason: 'operator' | 'policy'): void {
    this.o.table.state(callId).recordingPauses.push({ fromMs, toMs: null, reason });
  }

  private markResumed(callId: string, toMs: number | null): void {
    const open = this.o.table.find(callId)?.recordingPauses.findLast((p) => p.toMs === null);
    if (open) open.toMs = toMs ?? open.fromMs;
  }

  private view(e: CallRecording, mediaTimeMs: number | null): RecordingView {
    return { state: this.paused(e) ? 'paused' : 'recording', operatorPaused: e.operatorPaused, policy: e.policy, mediaTimeMs };
  }

  private async applyToMedia(callId: string, paused: boolean): Promise<number | null> {
    const m = this.o.table.find(callId);
    if (m?.mediaId == null || !this.o.media.running(m.mediaId)) return null;
    return (await this.o.media.setRecordingPaused(m.mediaId, paused)).mediaTimeMs;
  }

  private emit(callId: string, state: RecordingState, reason: RecordingChangeReason, mediaTimeMs: number | null, code?: string): void {
    this.o.emit({ type: 'call.recording', callId, state, reason, ...(code !== undefined ? { code } : {}), mediaTimeMs, at: new Date().toISOString() });
  }
}
