/**
 * The emulated calls' state and lifecycle core: the live and ended calls, lookups, per-call timers
 * (ended with the call), new calls and participants, leaving and termination, and the operation
 * helpers the actions share.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { callResource, odataType, participantResource } from './builders.js';
import { CallNotifications } from './call-notifications.js';
import type { CallRecordStore } from './call-records.js';
import { obj, odataName, SUCCESS, CANCELED } from './call-support.js';
import type { EmulatorContext } from './context.js';
import { GraphErrorReply, notFound } from './graph-error.js';
import type { MeetingStore } from './meetings.js';
import { END_REASONS, type EmuCall, type EmuMeeting, type EmuOperation, type EmuParticipant, type Json, type ResultInfo } from './state.js';

const MAX_ENDED_CALLS = 1000;

export class CallCore {
  readonly calls = new Map<string, EmuCall>();
  readonly ended = new Map<string, EmuCall>();
  readonly notify: CallNotifications;
  /** Told when a call ends (meeting artifacts are made from it). */
  readonly endedListeners: Array<(call: EmuCall, meeting: EmuMeeting | undefined) => void> = [];

  constructor(
    private readonly ctx: EmulatorContext,
    private readonly meetings: MeetingStore,
    private readonly records: CallRecordStore,
  ) {
    this.notify = new CallNotifications(ctx, (call) => this.meetingOf(call));
  }

  get(id: string): EmuCall {
    const c = this.calls.get(id);
    if (!c) throw notFound(`Call '${id}' not found.`);
    return c;
  }

  resource(call: EmuCall): Json {
    return callResource(call, this.meetingOf(call), this.ctx.graphUrl);
  }

  participant(call: EmuCall, participantId: string): EmuParticipant {
    const p = call.participants.get(participantId);
    if (!p) throw notFound(`Participant '${participantId}' not found in call '${call.id}'.`);
    return p;
  }

  participantJson(call: EmuCall, p: EmuParticipant, withContext: boolean): Json {
    return participantResource(p, call, this.ctx.graphUrl, withContext);
  }

  operation(call: EmuCall, opId: string): EmuOperation {
    const op = call.operations.get(opId);
    if (!op) throw notFound(`Operation '${opId}' not found.`);
    return op;
  }

  meetingOf(call: EmuCall): EmuMeeting | undefined {
    return call.meetingId === undefined ? undefined : this.meetings.get(call.meetingId);
  }

  after(call: EmuCall, ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      call.timers.delete(t);
      if (call.state === 'terminated') return;
      try {
        fn();
      } catch (err) {
        this.ctx.logger.error({ err, callId: call.id }, 'emulator call timer failed');
      }
    }, Math.max(0, ms));
    call.timers.add(t);
  }

  armKeepAlive(call: EmuCall): void {
    const check = (): void => {
      const idle = Date.now() - call.lastKeepAliveAt;
      if (idle >= this.ctx.timing.keepAliveTimeoutMs) this.terminate(call, END_REASONS.keepAliveTimeout);
      else this.after(call, this.ctx.timing.keepAliveTimeoutMs - idle, check);
    };
    this.after(call, this.ctx.timing.keepAliveTimeoutMs, check);
  }

  newCall(version: 'v1.0' | 'beta', direction: 'incoming' | 'outgoing', callbackUri: string, request: Json, tenantId: string): EmuCall {
    const mediaConfig = obj(request['mediaConfig']) ?? { '@odata.type': odataType('serviceHostedMediaConfig') };
    return {
      id: randomUUID(),
      version,
      tenantId,
      callChainId: randomUUID(),
      myParticipantId: randomUUID(),
      state: direction === 'incoming' ? 'incoming' : 'establishing',
      direction,
      callbackUri,
      kind: 'peerToPeer',
      request,
      mediaConfig,
      appHostedMedia: odataName(mediaConfig) === 'apphostedmediaconfig',
      meetingId: undefined,
      participants: new Map(),
      departed: [],
      operations: new Map(),
      timers: new Set(),
      media: undefined,
      createdAt: new Date(),
      establishedAt: undefined,
      endedAt: undefined,
      resultInfo: null,
      toneSubscribed: false,
      toneSequence: 0,
      toneInfo: null,
      etag: 1,
      lastKeepAliveAt: Date.now(),
      recordingStatus: null,
      policyBasedRecording: false,
      ownerTenantId: tenantId,
      audioRoutingGroups: new Map(),
      contentSharingSessions: new Map(),
      notificationsQueued: 0,
      pstnNumber: undefined,
    };
  }

  botParticipant(call: EmuCall): EmuParticipant {
    const source = obj(call.request['source']);
    const identity = obj(source?.['identity']) ?? { application: { id: this.ctx.clientId, displayName: this.ctx.botDisplayName } };
    return this.makeParticipant(call.myParticipantId, 'bot', identity, this.ctx.botDisplayName);
  }

  makeParticipant(id: string, kind: 'bot' | 'remote', identity: Json, displayName: string): EmuParticipant {
    const clean: Json = {};
    for (const [k, v] of Object.entries(identity)) if (k !== '@odata.type') clean[k] = v;
    return {
      id,
      kind,
      identity: clean,
      displayName,
      endpointId: randomUUID(),
      // As Teams reports it: the participant's audio source id, which is the SSRC (or MSI) its audio carries.
      sourceId: String(randomInt(1, 0x7fff_ffff)),
      isMuted: false,
      languageId: kind === 'bot' ? null : 'en-US',
      region: kind === 'bot' ? null : 'emulator',
      screenSharingRole: 'viewer',
      onHold: false,
      joinedAt: new Date(),
    };
  }

  leave(call: EmuCall, participantId: string): void {
    const p = call.participants.get(participantId);
    if (!p) return;
    call.participants.delete(participantId);
    p.leftAt = new Date();
    p.sentPackets = call.media?.stats().participants.find((s) => s.participantId === participantId)?.sentPackets ?? 0;
    call.media?.removeParticipant(participantId);
    call.departed.push(p);
    this.notify.participantLeft(call, p);
    this.notify.roster(call);
    const remaining = [...call.participants.values()].filter((x) => x.kind === 'remote').length;
    if (remaining === 0) {
      const meeting = this.meetingOf(call);
      if (meeting && !meeting.endWhenEmpty) return;
      this.after(call, this.ctx.timing.emptyGraceMs, () => {
        if ([...call.participants.values()].some((x) => x.kind === 'remote')) return;
        if (call.kind === 'peerToPeer') this.terminate(call, call.pstnNumber !== undefined ? END_REASONS.pstnUserEnded : END_REASONS.otherPartyEndedP2P);
        else this.terminate(call, END_REASONS.allOthersLeft);
      });
    }
  }

  /** Ends a call: terminated notification, media closed, call record filed. */
  terminate(call: EmuCall, reason: ResultInfo): void {
    if (call.state === 'terminated') return;
    for (const t of call.timers) clearTimeout(t);
    call.timers.clear();
    for (const op of call.operations.values()) if (op.status === 'running') op.status = 'failed';
    call.state = 'terminated';
    call.endedAt = new Date();
    call.resultInfo = reason;
    for (const p of call.participants.values()) {
      if (p.kind === 'remote') {
        p.sentPackets = call.media?.stats().participants.find((s) => s.participantId === p.id)?.sentPackets ?? 0;
        p.leftAt = call.endedAt;
      }
    }
    this.notify.call(call, 'deleted');
    call.media?.close();
    this.calls.delete(call.id);
    this.ended.set(call.id, call);
    // Bounded history: the oldest ended calls are forgotten (Map keeps insertion order).
    while (this.ended.size > MAX_ENDED_CALLS) this.ended.delete(this.ended.keys().next().value!);
    this.ctx.logger.info({ callId: call.id, code: reason.code, subcode: reason.subcode }, 'emulator call terminated');
    const meeting = this.meetingOf(call);
    if (call.establishedAt) setTimeout(() => this.records.add(call, meeting), this.ctx.timing.callRecordDelayMs).unref();
    for (const l of this.endedListeners) {
      try {
        l(call, meeting);
      } catch (err) {
        this.ctx.logger.error({ err, callId: call.id }, 'emulator call-ended listener failed');
      }
    }
  }

  requireEstablished(call: EmuCall): void {
    if (call.state !== 'established') throw new GraphErrorReply(400, 'BadRequest', `Call is in state '${call.state}'; the action needs an established call.`);
  }

  newOp(call: EmuCall, type: string, clientContext: string | null, status: EmuOperation['status'], extra: Json = {}): EmuOperation {
    const now = new Date();
    const op: EmuOperation = { id: randomUUID(), type, status, clientContext, resultInfo: null, extra, createdAt: now, lastActionAt: now };
    call.operations.set(op.id, op);
    return op;
  }

  complete(call: EmuCall, op: EmuOperation, status: 'completed' | 'failed', info: ResultInfo | null, extra: Json = {}): void {
    if (op.status !== 'running' && op.status !== 'notStarted') return;
    op.status = status;
    op.resultInfo = info;
    op.lastActionAt = new Date();
    Object.assign(op.extra, extra);
    delete op.cancel;
    this.notify.operation(call, op);
  }

  runCancelable(
    call: EmuCall,
    op: EmuOperation,
    ms: number,
    done: () => void,
    cancelExtra: Json = { completionReason: 'operationCanceled' },
    cancelStatus: 'completed' | 'failed' = 'failed',
  ): void {
    const timer = setTimeout(() => {
      call.timers.delete(timer);
      if (call.state !== 'terminated') done();
    }, Math.max(0, ms));
    call.timers.add(timer);
    op.cancel = () => {
      clearTimeout(timer);
      call.timers.delete(timer);
      this.complete(call, op, cancelStatus, cancelStatus === 'failed' ? CANCELED : SUCCESS, cancelExtra);
    };
  }

  close(): void {
    for (const c of this.calls.values()) {
      for (const t of c.timers) clearTimeout(t);
      c.media?.close();
    }
  }
}
