import type { EventBus } from '../events/bus.js';
import { MediabotError } from '../errors.js';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import type { IncomingCallInfo } from './notifications.js';
import type { AwaitableCallOperations } from './operations.js';
import type { CallOperationsPort, MediaConfigBody } from './ports.js';
import type { CallRegistry, CallView } from './registry.js';

export type IncomingDecision =
  | { action: 'answer'; media: 'app' | 'service'; acceptedModalities?: string[] }
  | { action: 'reject'; reason: 'busy' | 'forbidden' | 'none' }
  | { action: 'redirect'; targets: unknown[]; timeout?: number };

/** What the policy sees of an incoming call. */
export interface IncomingCall extends IncomingCallInfo {
  /** True for a policy-based (compliance) recording invitation. */
  compliance: boolean;
}

export type IncomingCallPolicy = (call: IncomingCall) => IncomingDecision | Promise<IncomingDecision>;

/** Answer everything with service-hosted media; compliance calls too (they must be recorded). */
export const answerAllPolicy: IncomingCallPolicy = () => ({ action: 'answer', media: 'service' });

/**
 * A policy-based recording invitation: Teams invites the recorder bot on behalf of
 * an observed user. It shows as `incomingContext.observedParticipantId` (or
 * `onBehalfOf`), the invite reason `PolicyBasedRecording` in applicationMetadata,
 * and a target that is the recorder's applicationInstance.
 */
export function isComplianceRecordingCall(call: IncomingCallInfo): boolean {
  if (call.inviteReasons.some((r) => r.toLowerCase() === 'policybasedrecording')) return true;
  const ctx = call.incomingContext;
  if (ctx === null) return false;
  const observed = ctx.observedParticipantId !== null || ctx.onBehalfOf !== null;
  const toAppInstance = call.targets.some((t) => t.identity?.kind === 'applicationInstance');
  return observed && toAppInstance;
}

export interface IncomingCallHandlerOptions {
  port: CallOperationsPort;
  registry: CallRegistry;
  policy?: IncomingCallPolicy;
  /** False while the instance takes no calls (draining, at capacity): the call is rejected as busy and the policy is not asked. */
  acceptsIncoming?: () => boolean;
  /** The callback URL Graph posts this call's notifications to (…/api/calling). */
  callbackUri: string;
  /** Supplies the app-hosted media config blob (from the bridge sidecar); required for media 'app'. */
  appMediaConfig?: (call: IncomingCall) => Promise<{ blob: string }>;
  operations?: AwaitableCallOperations;
  bus?: EventBus;
  logger?: Logger;
  /** How reporting `recording` for a compliance call went (the call service keeps nothing until it succeeded). */
  onRecordingStatus?: (callId: string, outcome: { ok: true } | { ok: false; error: unknown }) => void;
}

/**
 * Applies the policy to each new incoming call and, for compliance calls, reports
 * `recording` with updateRecordingStatus once the call is established (Teams
 * drops a policy-recorded call whose recorder never says it records).
 */
export class IncomingCallHandler {
  private readonly policy: IncomingCallPolicy;
  private readonly log: Logger;
  private readonly recordingReported = new Set<string>();

  constructor(private readonly o: IncomingCallHandlerOptions) {
    this.policy = o.policy ?? answerAllPolicy;
    this.log = o.logger ?? silentLogger;
    o.registry.onStateChange((call) => {
      if (call.state === 'established' && call.compliance) void this.reportRecording(call);
      if (call.state === 'terminated') this.recordingReported.delete(call.id.toLowerCase());
    });
  }

  async handle(info: IncomingCallInfo): Promise<IncomingDecision> {
    const call: IncomingCall = { ...info, compliance: isComplianceRecordingCall(info) };
    if (call.compliance) this.o.registry.markCompliance(call.callId);
    let decision: IncomingDecision;
    try {
      // Rejected through Graph rather than ignored, so the call does not ring on an instance that will not answer.
      decision = this.o.acceptsIncoming?.() === false ? { action: 'reject', reason: 'busy' } : await this.policy(call);
    } catch (err) {
      this.log.error({ err, callId: call.callId }, 'incoming call policy threw; rejecting the call');
      decision = { action: 'reject', reason: 'none' };
    }
    const p = this.o.port;
    switch (decision.action) {
      case 'answer': {
        const mediaConfig: MediaConfigBody =
          decision.media === 'app'
            ? { '@odata.type': '#microsoft.graph.appHostedMediaConfig', blob: (await this.requireAppMedia(call)).blob }
            : { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' };
        const modalities = decision.acceptedModalities ?? (call.requestedModalities.includes('audio') || call.requestedModalities.length === 0 ? ['audio'] : call.requestedModalities);
        await p.answer(call.callId, { callbackUri: this.o.callbackUri, acceptedModalities: modalities, mediaConfig });
        break;
      }
      case 'reject':
        await p.reject(call.callId, { reason: decision.reason });
        break;
      case 'redirect':
        await p.redirect(call.callId, { targets: decision.targets, callbackUri: this.o.callbackUri, ...(decision.timeout !== undefined ? { timeout: decision.timeout } : {}) });
        break;
    }
    this.o.bus?.emit({ type: 'call.incoming', callId: call.callId, action: decision.action, compliance: call.compliance, at: new Date().toISOString() });
    this.log.info({ callId: call.callId, action: decision.action, compliance: call.compliance }, 'incoming call handled');
    return decision;
  }

  private async requireAppMedia(call: IncomingCall): Promise<{ blob: string }> {
    if (!this.o.appMediaConfig) throw new MediabotError('MEDIABOT_CONFIG_INVALID', 'answering with app-hosted media needs an appMediaConfig provider (the media bridge sidecar)');
    return this.o.appMediaConfig(call);
  }

  private async reportRecording(call: CallView): Promise<void> {
    const k = call.id.toLowerCase();
    if (this.recordingReported.has(k)) return;
    this.recordingReported.add(k);
    try {
      if (this.o.operations) await this.o.operations.updateRecordingStatus(call.id, 'recording', { timeoutMs: 60_000 });
      else await this.o.port.updateRecordingStatus(call.id, { clientContext: `recording-${call.id}`, status: 'recording' });
    } catch (err) {
      this.log.error({ err, callId: call.id }, 'updateRecordingStatus(recording) failed');
      this.o.onRecordingStatus?.(call.id, { ok: false, error: err });
      return;
    }
    this.o.onRecordingStatus?.(call.id, { ok: true });
  }
}
