/**
 * Call lifecycle: creating calls (placed or joined, with their permission checks), establishing
 * them, incoming calls (ring, answer, reject, redirect), keepAlive, transfer and hang-up.
 */
import { randomUUID } from 'node:crypto';
import type { CallCore } from './call-core.js';
import { obj, odataName, firstIdentity } from './call-support.js';
import type { EmulatorContext } from './context.js';
import { badRequest, forbidden, GraphErrorReply } from './graph-error.js';
import type { MeetingStore } from './meetings.js';
import type { SimulatedPeople } from './simulated-people.js';
import { DEFAULT_SCRIPT } from './speech.js';
import { END_REASONS, type EmuCall, type EmuMeeting, type Json } from './state.js';

export class CallLifecycle {
  constructor(
    private readonly ctx: EmulatorContext,
    private readonly core: CallCore,
    private readonly people: SimulatedPeople,
    private readonly meetings: MeetingStore,
  ) {}

  /** POST /communications/calls: validates, answers 201 with the call, then simulates its lifecycle. */
  create(body: unknown, version: 'v1.0' | 'beta', roles: readonly string[], tokenTenant: string = this.ctx.tenantId): EmuCall {
    const b = obj(body);
    if (!b) throw badRequest('Request body must be a call object.');
    const callbackUri = b['callbackUri'];
    if (typeof callbackUri !== 'string' || !/^https?:\/\//.test(callbackUri)) throw badRequest('callbackUri is required and must be an http(s) URL.');
    const modalities = b['requestedModalities'];
    if (!Array.isArray(modalities) || modalities.length === 0 || !modalities.every((m) => ['audio', 'video', 'videoBasedScreenSharing', 'data'].includes(String(m)))) {
      throw badRequest('requestedModalities must be a non-empty list of audio, video, videoBasedScreenSharing, data.');
    }
    const mc = obj(b['mediaConfig']);
    const mcType = odataName(mc);
    if (!mc || (mcType !== 'apphostedmediaconfig' && mcType !== 'servicehostedmediaconfig')) {
      throw badRequest('mediaConfig must be an appHostedMediaConfig or serviceHostedMediaConfig.');
    }
    const targets: unknown[] = Array.isArray(b['targets']) ? b['targets'] : [];
    const meetingInfo = obj(b['meetingInfo']);
    const hasTargets = targets.length > 0;
    if (!hasTargets && !meetingInfo) throw badRequest('A call needs targets or meetingInfo.');
    if (hasTargets && !targets.every((t) => firstIdentity(obj(t)?.['identity']) !== undefined)) throw badRequest('Each target needs an identity.');
    const tenantId = typeof b['tenantId'] === 'string' ? b['tenantId'] : tokenTenant;
    // A call in a tenant that has not consented to the app: Graph's 7504.
    if (!this.ctx.tenants.some((t) => t.toLowerCase() === tenantId.toLowerCase())) {
      throw new GraphErrorReply(403, '7504', 'Insufficient enterprise tenant permissions, cannot access this API.');
    }
    // Without a source the call is placed as the bot application itself.
    const request: Json = b['source'] === undefined ? { ...b, source: { identity: { application: { id: this.ctx.clientId, displayName: this.ctx.botDisplayName } } } } : b;
    const call = this.core.newCall(version, 'outgoing', callbackUri, request, tenantId);
    call.ownerTenantId = tokenTenant;

    // Permissions are checked before anything is created (an ad-hoc meeting included).
    if (call.appHostedMedia && !roles.includes('Calls.AccessMedia.All')) throw forbidden('The application lacks Calls.AccessMedia.All for application-hosted media.');
    if (meetingInfo) {
      const allowed = ['Calls.JoinGroupCall.All', 'Calls.JoinGroupCallAsGuest.All'];
      if (!allowed.some((r) => roles.includes(r))) throw forbidden('The application lacks Calls.JoinGroupCall.All or Calls.JoinGroupCallAsGuest.All.');
      const meeting = this.resolveMeeting(meetingInfo, obj(b['chatInfo']));
      call.kind = 'meeting';
      call.meetingId = meeting.id;
    } else {
      call.kind = targets.length > 1 ? 'groupCall' : 'peerToPeer';
      const needed = call.kind === 'groupCall' ? 'Calls.InitiateGroupCall.All' : 'Calls.Initiate.All';
      if (!roles.includes(needed)) throw forbidden(`The application lacks ${needed}.`);
      for (const t of targets) {
        const id = firstIdentity(obj(t)?.['identity']);
        if (id?.kind === 'phone') call.pstnNumber = id.id;
      }
    }
    this.core.calls.set(call.id, call);
    call.participants.set(call.myParticipantId, this.core.botParticipant(call));
    this.ctx.logger.info({ callId: call.id, kind: call.kind, appHostedMedia: call.appHostedMedia }, 'emulator call created');

    this.core.notify.call(call);
    this.core.armKeepAlive(call);
    const delay = call.kind === 'meeting' ? this.ctx.timing.establishMs : this.ctx.timing.answerMs;
    this.core.after(call, delay, () => (this.core.meetingOf(call)?.lobby ? this.holdInLobby(call) : this.establish(call)));
    return call;
  }

  /**
   * A lobby meeting holds the bot: the call stays establishing and the roster shows the bot's own
   * participant with isInLobby, until someone admits it (admit()) or it hangs up.
   */
  private holdInLobby(call: EmuCall): void {
    const me = call.participants.get(call.myParticipantId);
    if (call.state !== 'establishing' || !me) return;
    me.inLobby = true;
    this.core.notify.roster(call);
  }

  /** Admits a bot waiting in a meeting's lobby: it joins the meeting (established). */
  admit(call: EmuCall): void {
    const me = call.participants.get(call.myParticipantId);
    if (call.state !== 'establishing' || me?.inLobby !== true) throw badRequest(`Call '${call.id}' is not waiting in a lobby.`);
    me.inLobby = false;
    this.establish(call);
  }

  private resolveMeeting(meetingInfo: Json, chatInfo: Json | undefined): EmuMeeting {
    const type = odataName(meetingInfo);
    if (type === 'joinmeetingidmeetinginfo') {
      const id = meetingInfo['joinMeetingId'];
      if (typeof id !== 'string' || id.length === 0) throw badRequest('joinMeetingIdMeetingInfo.joinMeetingId is required.');
      const m = this.meetings.findByJoinMeetingId(id);
      if (m) {
        const pass = meetingInfo['passcode'];
        if (m.passcode !== null && pass !== m.passcode) throw forbidden('The passcode does not match the meeting.');
        return m;
      }
      // Unknown ids (e.g. from docs examples) get an ad-hoc simulated meeting.
      return this.meetings.create({ subject: `Meeting ${id}`, joinMeetingId: id });
    }
    if (type === 'organizermeetinginfo' || type === undefined) {
      const threadId = chatInfo?.['threadId'];
      if (typeof threadId !== 'string' || threadId.length === 0) throw badRequest('chatInfo.threadId is required to join a meeting with organizerMeetingInfo.');
      const m = this.meetings.findByThread(threadId);
      if (m) return m;
      const org = firstIdentity(obj(meetingInfo['organizer']));
      // Keep the caller's thread id so notifications echo what the bot joined.
      return this.meetings.create({ subject: 'Ad-hoc meeting', threadId, ...(org?.id !== undefined ? { organizerId: org.id } : {}), ...(org?.displayName !== undefined ? { organizerName: org.displayName } : {}) });
    }
    throw badRequest(`Unsupported meetingInfo type '${String(meetingInfo['@odata.type'])}'.`);
  }

  private establish(call: EmuCall): void {
    if (call.state !== 'establishing') return;
    call.state = 'established';
    call.establishedAt = new Date();
    this.core.notify.call(call);
    this.core.notify.roster(call);
    void this.people.startPeople(call).catch((err: unknown) => this.ctx.logger.error({ err, callId: call.id }, 'emulator simulation failed to start'));
  }

  /** DELETE /communications/calls/{id}: 204, then terminating and terminated notifications. */
  hangUp(call: EmuCall): void {
    call.state = 'terminating';
    this.core.notify.call(call);
    this.core.after(call, 50, () => this.core.terminate(call, END_REASONS.conversationEnded));
  }

  /** Rings the bot: an incoming call notification is posted to callbackUri. */
  placeIncoming(opts: { callbackUri: string; from?: { id?: string; displayName?: string; phone?: string }; policyBasedRecording?: boolean; tenantId?: string }): EmuCall {
    const tenantId = opts.tenantId ?? this.ctx.tenantId;
    if (!/^https?:\/\//.test(opts.callbackUri)) throw badRequest('callbackUri must be an http(s) URL.');
    const from = opts.from ?? {};
    const identity: Json =
      from.phone !== undefined
        ? { phone: { id: from.phone } }
        : { user: { id: from.id ?? randomUUID(), displayName: from.displayName ?? DEFAULT_SCRIPT[0]!.name, tenantId } };
    const sourceId = randomUUID();
    const request: Json = {
      source: { id: sourceId, identity, region: 'emulator', languageId: 'en-US' },
      // A compliance-recording invite targets the bot's application instance and says whom it observes.
      targets: [{ identity: opts.policyBasedRecording ? { applicationInstance: { id: this.ctx.clientId, displayName: this.ctx.botDisplayName } } : { application: { id: this.ctx.clientId, displayName: this.ctx.botDisplayName } } }],
      requestedModalities: ['audio'],
      ...(opts.policyBasedRecording ? { incomingContext: { '@odata.type': '#microsoft.graph.incomingContext', sourceParticipantId: sourceId, observedParticipantId: sourceId } } : {}),
    };
    const call = this.core.newCall('v1.0', 'incoming', opts.callbackUri, request, tenantId);
    call.policyBasedRecording = opts.policyBasedRecording === true;
    if (from.phone !== undefined) call.pstnNumber = from.phone;
    this.core.calls.set(call.id, call);
    this.core.notify.call(call, 'created');
    this.core.after(call, this.ctx.timing.ringTimeoutMs, () => {
      if (call.state === 'incoming') this.core.terminate(call, END_REASONS.noAnswer);
    });
    return call;
  }

  answer(call: EmuCall, body: unknown): void {
    const b = obj(body);
    if (!b) throw badRequest('Request body must be a JSON object.');
    if (call.state !== 'incoming') throw new GraphErrorReply(400, 'BadRequest', `Call is in state '${call.state}' and cannot be answered.`);
    const cb = b['callbackUri'];
    if (typeof cb !== 'string' || !/^https?:\/\//.test(cb)) throw badRequest('callbackUri is required.');
    const mc = obj(b['mediaConfig']);
    const mcType = odataName(mc);
    if (!mc || (mcType !== 'apphostedmediaconfig' && mcType !== 'servicehostedmediaconfig')) throw badRequest('mediaConfig must be an appHostedMediaConfig or serviceHostedMediaConfig.');
    const accepted = b['acceptedModalities'];
    if (accepted !== undefined && (!Array.isArray(accepted) || accepted.length === 0)) throw badRequest('acceptedModalities must be a non-empty list.');
    call.callbackUri = cb;
    call.mediaConfig = mc;
    call.appHostedMedia = mcType === 'apphostedmediaconfig';
    call.request = { ...call.request, mediaConfig: mc, ...(obj(b['callOptions']) ? { callOptions: b['callOptions'] } : {}) };
    call.state = 'establishing';
    call.participants.set(call.myParticipantId, this.core.makeParticipant(call.myParticipantId, 'bot', { application: { id: this.ctx.clientId, displayName: this.ctx.botDisplayName } }, this.ctx.botDisplayName));
    for (const t of call.timers) clearTimeout(t);
    call.timers.clear();
    this.core.armKeepAlive(call);
    this.core.after(call, 10, () => this.core.notify.call(call));
    this.core.after(call, this.ctx.timing.establishMs, () => this.establish(call));
  }

  reject(call: EmuCall, body: unknown): void {
    const b = obj(body) ?? {};
    const reason = b['reason'] ?? 'none';
    if (!['none', 'busy', 'forbidden'].includes(String(reason))) throw badRequest("reason must be one of none, busy, forbidden.");
    if (call.state !== 'incoming') throw badRequest(`Call is in state '${call.state}' and cannot be rejected.`);
    this.core.terminate(call, END_REASONS.rejected);
  }

  redirect(call: EmuCall, body: unknown): void {
    const b = obj(body);
    const targets = b?.['targets'];
    if (!Array.isArray(targets) || targets.length === 0 || !targets.every((t) => firstIdentity(obj(t)?.['identity']))) throw badRequest('targets with identities are required.');
    if (call.state !== 'incoming') throw badRequest(`Call is in state '${call.state}' and cannot be redirected.`);
    this.core.terminate(call, END_REASONS.conversationEnded);
  }

  keepAlive(call: EmuCall): void {
    call.lastKeepAliveAt = Date.now();
  }

  transfer(call: EmuCall, body: unknown): void {
    const b = obj(body);
    const target = obj(b?.['transferTarget']);
    if (!target || !firstIdentity(target['identity'])) throw badRequest('transferTarget with an identity is required.');
    this.core.requireEstablished(call);
    if (call.kind !== 'peerToPeer' && !obj(b?.['transferee'])) throw badRequest('transferee is required to transfer from a group call.');
    call.state = 'transferring';
    this.core.notify.call(call);
    this.core.after(call, 100, () => {
      call.state = 'transferAccepted';
      this.core.notify.call(call);
      this.core.after(call, 100, () => this.core.terminate(call, END_REASONS.transferCompleted));
    });
  }
}
