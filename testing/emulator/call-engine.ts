import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import {
  fullIdentitySet,
  callNotificationData,
  callResource,
  commsNotification,
  commsNotifications,
  odataType,
  operationNotificationData,
  participantResource,
} from './builders.js';
import type { CallRecordStore } from './call-records.js';
import type { EmulatorContext } from './context.js';
import { badRequest, conflict, forbidden, GraphErrorReply, notFound } from './graph-error.js';
import { parseBridgeBlob } from './bridge-sidecar.js';
import { CallMediaSession, parseMediaBlob } from './media-session.js';
import type { MeetingStore } from './meetings.js';
import { planMeeting, renderSpeakerTrack, type SpeakerPlan } from './schedule.js';
import { DEFAULT_SCRIPT, SPEECH_RATE, encodeWavPcm16, type SpeakerScript } from './speech.js';
import { END_REASONS, type EmuCall, type EmuMeeting, type EmuOperation, type EmuParticipant, type Json, type ResultInfo } from './state.js';

const TONES = new Set(['tone0', 'tone1', 'tone2', 'tone3', 'tone4', 'tone5', 'tone6', 'tone7', 'tone8', 'tone9', 'star', 'pound', 'a', 'b', 'c', 'd', 'flash']);
const MAX_ENDED_CALLS = 1000;
const MAX_RECORDINGS = 200;
const SUCCESS: ResultInfo = { code: 200, subcode: 0, message: 'Action completed successfully.' };
const CANCELED: ResultInfo = { code: 400, subcode: 8508, message: 'Action failed, the operation was cancelled.' };

/** A simulated person's timeline in a call, exposed for transcript scoring. */
export interface CallScriptEntry {
  participantId: string | undefined;
  name: string;
  voice: string;
  joinMs: number;
  leaveMs: number;
  utterances: { text: string; startMs: number; endMs: number }[];
}

interface Recording {
  token: string;
  wav: Buffer;
}

function obj(v: unknown): Json | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
}

function odataName(v: unknown): string | undefined {
  const t = obj(v)?.['@odata.type'];
  return typeof t === 'string' ? t.replace(/^#?microsoft\.graph\./i, '').toLowerCase() : undefined;
}

function clientContextOf(body: Json): string | null {
  const c = body['clientContext'];
  if (c === undefined || c === null) return null;
  if (typeof c !== 'string' || c.length > 256) throw badRequest('clientContext must be a string of at most 256 characters.');
  return c;
}

function firstIdentity(set: unknown): { kind: string; id: string | undefined; displayName: string | undefined } | undefined {
  const s = obj(set);
  if (!s) return undefined;
  for (const [k, v] of Object.entries(s)) {
    const o = obj(v);
    if (k === '@odata.type' || !o) continue;
    return { kind: k, id: typeof o['id'] === 'string' ? o['id'] : undefined, displayName: typeof o['displayName'] === 'string' ? o['displayName'] : undefined };
  }
  return undefined;
}

/**
 * The call-control half of the emulator: creates and tracks calls, runs the simulated people in
 * them, executes operations and posts every state change to the call's callbackUri.
 */
export class CallEngine {
  readonly calls = new Map<string, EmuCall>();
  readonly ended = new Map<string, EmuCall>();
  readonly scripts = new Map<string, CallScriptEntry[]>();
  readonly recordings = new Map<string, Recording>();

  constructor(
    private readonly ctx: EmulatorContext,
    private readonly meetings: MeetingStore,
    private readonly records: CallRecordStore,
  ) {}

  // ---------------------------------------------------------------- lookups

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

  private meetingOf(call: EmuCall): EmuMeeting | undefined {
    return call.meetingId === undefined ? undefined : this.meetings.get(call.meetingId);
  }

  // ---------------------------------------------------------------- notifications

  private post(call: EmuCall, changeType: 'created' | 'updated' | 'deleted', resourceUrl: string, resourceData: unknown): void {
    call.etag += 1;
    call.notificationsQueued += 1;
    const body = commsNotifications([commsNotification(changeType, resourceUrl, resourceData, call.callbackUri)]);
    void this.ctx.notifier.enqueue(`call:${call.id}`, {
      url: call.callbackUri,
      body,
      authorization: async () => `Bearer ${await this.ctx.signer.sign(this.ctx.clientId, call.tenantId)}`,
    });
  }

  private postCall(call: EmuCall, changeType: 'created' | 'updated' | 'deleted' = 'updated'): void {
    this.post(call, changeType, `/communications/calls/${call.id}`, callNotificationData(call, this.meetingOf(call), this.ctx.graphUrl));
  }

  private postRoster(call: EmuCall): void {
    const data = [...call.participants.values()].map((p) => participantResource(p, call, this.ctx.graphUrl, false));
    this.post(call, 'updated', `/communications/calls/${call.id}/participants`, data);
  }

  private postOperation(call: EmuCall, op: EmuOperation): void {
    this.post(call, 'deleted', `/communications/calls/${call.id}/operations/${op.id}`, operationNotificationData(call, op, this.ctx.graphUrl));
  }

  // ---------------------------------------------------------------- timers

  private after(call: EmuCall, ms: number, fn: () => void): void {
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

  private armKeepAlive(call: EmuCall): void {
    const check = (): void => {
      const idle = Date.now() - call.lastKeepAliveAt;
      if (idle >= this.ctx.timing.keepAliveTimeoutMs) this.terminate(call, END_REASONS.keepAliveTimeout);
      else this.after(call, this.ctx.timing.keepAliveTimeoutMs - idle, check);
    };
    this.after(call, this.ctx.timing.keepAliveTimeoutMs, check);
  }

  // ---------------------------------------------------------------- create

  private newCall(version: 'v1.0' | 'beta', direction: 'incoming' | 'outgoing', callbackUri: string, request: Json, tenantId: string): EmuCall {
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
      notificationsQueued: 0,
      pstnNumber: undefined,
    };
  }

  private botParticipant(call: EmuCall): EmuParticipant {
    const source = obj(call.request['source']);
    const identity = obj(source?.['identity']) ?? { application: { id: this.ctx.clientId, displayName: this.ctx.botDisplayName } };
    return this.makeParticipant(call.myParticipantId, 'bot', identity, this.ctx.botDisplayName);
  }

  private makeParticipant(id: string, kind: 'bot' | 'remote', identity: Json, displayName: string): EmuParticipant {
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

  /** POST /communications/calls: validates, answers 201 with the call, then simulates its lifecycle. */
  create(body: unknown, version: 'v1.0' | 'beta', roles: readonly string[]): EmuCall {
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
    const tenantId = typeof b['tenantId'] === 'string' ? b['tenantId'] : this.ctx.tenantId;
    // Without a source the call is placed as the bot application itself.
    const request: Json = b['source'] === undefined ? { ...b, source: { identity: { application: { id: this.ctx.clientId, displayName: this.ctx.botDisplayName } } } } : b;
    const call = this.newCall(version, 'outgoing', callbackUri, request, tenantId);

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
    this.calls.set(call.id, call);
    call.participants.set(call.myParticipantId, this.botParticipant(call));
    this.ctx.logger.info({ callId: call.id, kind: call.kind, appHostedMedia: call.appHostedMedia }, 'emulator call created');

    this.postCall(call);
    this.armKeepAlive(call);
    const delay = call.kind === 'meeting' ? this.ctx.timing.establishMs : this.ctx.timing.answerMs;
    this.after(call, delay, () => this.establish(call));
    return call;
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
    this.postCall(call);
    this.postRoster(call);
    void this.startPeople(call).catch((err: unknown) => this.ctx.logger.error({ err, callId: call.id }, 'emulator simulation failed to start'));
  }

  // ---------------------------------------------------------------- simulated people

  /** Who is on the other end: the meeting's people, the call's targets, or an incoming call's caller. */
  private peopleOf(call: EmuCall): { script: SpeakerScript; identity: Json }[] {
    const meeting = this.meetingOf(call);
    if (meeting) {
      return meeting.people.map((p) => ({ script: p, identity: { user: { id: randomUUID(), displayName: p.name, tenantId: this.ctx.tenantId } } }));
    }
    const parties: Json[] = [];
    if (call.direction === 'incoming') {
      const src = obj(obj(call.request['source'])?.['identity']);
      if (src) parties.push(src);
    } else if (Array.isArray(call.request['targets'])) {
      for (const t of call.request['targets']) {
        const id = obj(obj(t)?.['identity']);
        if (id) parties.push(id);
      }
    }
    return parties.map((identity, i) => {
      const base = DEFAULT_SCRIPT[i % DEFAULT_SCRIPT.length]!;
      const name = firstIdentity(identity)?.displayName ?? base.name;
      return { script: { ...base, name }, identity };
    });
  }

  private async startPeople(call: EmuCall): Promise<void> {
    const people = this.peopleOf(call);
    let speechOk = true;
    try {
      await this.ctx.speechReady;
      await this.ctx.speech.prepare(people.map((p) => p.script));
    } catch (err) {
      speechOk = false;
      this.ctx.logger.warn({ err }, 'emulator speech unavailable; simulated participants will be silent');
    }
    if (call.state === 'terminated') return;
    const clipOf = (s: number, r: number): Int16Array | undefined => {
      const p = people[s];
      const text = p?.script.sentences[r];
      if (!speechOk || !p || text === undefined) return undefined;
      return this.ctx.speech.clip(p.script.voice, text);
    };
    const plans = planMeeting(
      people.map((p) => p.script.sentences),
      (s, r) => {
        const c = clipOf(s, r);
        return c ? (c.length * 1000) / SPEECH_RATE : 2500;
      },
      // People stay a while after their last sentence, as they do in a meeting, so a bot that
      // talks or hangs up at the end still has an audience.
      { joinStaggerMs: call.kind === 'peerToPeer' ? 0 : this.ctx.timing.joinStaggerMs, tailMs: this.ctx.timing.stayAfterScriptMs },
    );
    const endpoint = call.appHostedMedia ? parseMediaBlob(call.mediaConfig['blob']) : undefined;
    const bridgeBlob = call.appHostedMedia && !endpoint ? parseBridgeBlob(call.mediaConfig['blob']) : undefined;
    if (endpoint) call.media = new CallMediaSession(endpoint, this.ctx.logger);
    else if (bridgeBlob && this.ctx.bridgeSidecar?.mediaFor(bridgeBlob)) call.media = this.ctx.bridgeSidecar.mediaFor(bridgeBlob);
    else if (call.appHostedMedia) this.ctx.logger.info({ callId: call.id }, 'app-hosted media blob carries no RTP endpoint; no media streamed');
    // Only calls with app-hosted media follow the script to the end (people leave); otherwise they stay.
    const scripted = call.appHostedMedia;
    const entries: CallScriptEntry[] = [];
    const elapsed = Date.now() - (call.establishedAt?.getTime() ?? Date.now());
    plans.forEach((plan: SpeakerPlan, i) => {
      const person = people[i]!;
      const entry: CallScriptEntry = {
        participantId: undefined,
        name: person.script.name,
        voice: person.script.voice,
        joinMs: plan.joinMs + elapsed,
        leaveMs: plan.leaveMs + elapsed,
        utterances: plan.utterances.map((u) => ({ text: u.text, startMs: u.startMs + elapsed, endMs: u.endMs + elapsed })),
      };
      entries.push(entry);
      const track = renderSpeakerTrack(plan, (u) => clipOf(u.speaker, u.sentence) ?? new Int16Array(0));
      this.after(call, plan.joinMs, () => {
        const p = this.makeParticipant(randomUUID(), 'remote', person.identity, person.script.name);
        entry.participantId = p.id;
        call.participants.set(p.id, p);
        this.postRoster(call);
        void call.media?.addParticipant(p.id, p.displayName, track, Number(p.sourceId)).catch((err: unknown) => this.ctx.logger.warn({ err }, 'emulator media participant failed'));
        if (scripted) this.after(call, plan.leaveMs - plan.joinMs, () => this.leave(call, p.id));
      });
    });
    this.scripts.set(call.id, entries);
  }

  private leave(call: EmuCall, participantId: string): void {
    const p = call.participants.get(participantId);
    if (!p) return;
    call.participants.delete(participantId);
    p.leftAt = new Date();
    p.sentPackets = call.media?.stats().participants.find((s) => s.participantId === participantId)?.sentPackets ?? 0;
    call.media?.removeParticipant(participantId);
    call.departed.push(p);
    this.postRoster(call);
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

  // ---------------------------------------------------------------- end

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
    this.postCall(call, 'deleted');
    call.media?.close();
    this.calls.delete(call.id);
    this.ended.set(call.id, call);
    // Bounded history: the oldest ended calls are forgotten (Map keeps insertion order).
    while (this.ended.size > MAX_ENDED_CALLS) this.ended.delete(this.ended.keys().next().value!);
    this.ctx.logger.info({ callId: call.id, code: reason.code, subcode: reason.subcode }, 'emulator call terminated');
    const meeting = this.meetingOf(call);
    if (call.establishedAt) setTimeout(() => this.records.add(call, meeting), this.ctx.timing.callRecordDelayMs).unref();
  }

  /** DELETE /communications/calls/{id}: 204, then terminating and terminated notifications. */
  hangUp(call: EmuCall): void {
    call.state = 'terminating';
    this.postCall(call);
    this.after(call, 50, () => this.terminate(call, END_REASONS.conversationEnded));
  }

  // ---------------------------------------------------------------- incoming calls

  /** Rings the bot: an incoming call notification is posted to callbackUri. */
  placeIncoming(opts: { callbackUri: string; from?: { id?: string; displayName?: string; phone?: string } }): EmuCall {
    if (!/^https?:\/\//.test(opts.callbackUri)) throw badRequest('callbackUri must be an http(s) URL.');
    const from = opts.from ?? {};
    const identity: Json =
      from.phone !== undefined
        ? { phone: { id: from.phone } }
        : { user: { id: from.id ?? randomUUID(), displayName: from.displayName ?? DEFAULT_SCRIPT[0]!.name, tenantId: this.ctx.tenantId } };
    const request: Json = {
      source: { identity, region: 'emulator', languageId: 'en-US' },
      targets: [{ identity: { application: { id: this.ctx.clientId, displayName: this.ctx.botDisplayName } } }],
      requestedModalities: ['audio'],
    };
    const call = this.newCall('v1.0', 'incoming', opts.callbackUri, request, this.ctx.tenantId);
    if (from.phone !== undefined) call.pstnNumber = from.phone;
    this.calls.set(call.id, call);
    this.postCall(call, 'created');
    this.after(call, this.ctx.timing.ringTimeoutMs, () => {
      if (call.state === 'incoming') this.terminate(call, END_REASONS.noAnswer);
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
    call.request = { ...call.request, mediaConfig: mc };
    call.state = 'establishing';
    call.participants.set(call.myParticipantId, this.makeParticipant(call.myParticipantId, 'bot', { application: { id: this.ctx.clientId, displayName: this.ctx.botDisplayName } }, this.ctx.botDisplayName));
    for (const t of call.timers) clearTimeout(t);
    call.timers.clear();
    this.armKeepAlive(call);
    this.after(call, 10, () => this.postCall(call));
    this.after(call, this.ctx.timing.establishMs, () => this.establish(call));
  }

  reject(call: EmuCall, body: unknown): void {
    const b = obj(body) ?? {};
    const reason = b['reason'] ?? 'none';
    if (!['none', 'busy', 'forbidden'].includes(String(reason))) throw badRequest("reason must be one of none, busy, forbidden.");
    if (call.state !== 'incoming') throw badRequest(`Call is in state '${call.state}' and cannot be rejected.`);
    this.terminate(call, END_REASONS.rejected);
  }

  redirect(call: EmuCall, body: unknown): void {
    const b = obj(body);
    const targets = b?.['targets'];
    if (!Array.isArray(targets) || targets.length === 0 || !targets.every((t) => firstIdentity(obj(t)?.['identity']))) throw badRequest('targets with identities are required.');
    if (call.state !== 'incoming') throw badRequest(`Call is in state '${call.state}' and cannot be redirected.`);
    this.terminate(call, END_REASONS.conversationEnded);
  }

  // ---------------------------------------------------------------- call actions

  private requireEstablished(call: EmuCall): void {
    if (call.state !== 'established') throw new GraphErrorReply(400, 'BadRequest', `Call is in state '${call.state}'; the action needs an established call.`);
  }

  keepAlive(call: EmuCall): void {
    call.lastKeepAliveAt = Date.now();
  }

  transfer(call: EmuCall, body: unknown): void {
    const b = obj(body);
    const target = obj(b?.['transferTarget']);
    if (!target || !firstIdentity(target['identity'])) throw badRequest('transferTarget with an identity is required.');
    this.requireEstablished(call);
    if (call.kind !== 'peerToPeer' && !obj(b?.['transferee'])) throw badRequest('transferee is required to transfer from a group call.');
    call.state = 'transferring';
    this.postCall(call);
    this.after(call, 100, () => {
      call.state = 'transferAccepted';
      this.postCall(call);
      this.after(call, 100, () => this.terminate(call, END_REASONS.transferCompleted));
    });
  }

  private newOp(call: EmuCall, type: string, clientContext: string | null, status: EmuOperation['status'], extra: Json = {}): EmuOperation {
    const now = new Date();
    const op: EmuOperation = { id: randomUUID(), type, status, clientContext, resultInfo: null, extra, createdAt: now, lastActionAt: now };
    call.operations.set(op.id, op);
    return op;
  }

  private complete(call: EmuCall, op: EmuOperation, status: 'completed' | 'failed', info: ResultInfo | null, extra: Json = {}): void {
    if (op.status !== 'running' && op.status !== 'notStarted') return;
    op.status = status;
    op.resultInfo = info;
    op.lastActionAt = new Date();
    Object.assign(op.extra, extra);
    delete op.cancel;
    this.postOperation(call, op);
  }

  /** mute / unmute the bot itself. */
  setSelfMute(call: EmuCall, body: unknown, muted: boolean): EmuOperation {
    const cc = clientContextOf(obj(body) ?? {});
    this.requireEstablished(call);
    const me = call.participants.get(call.myParticipantId);
    if (me) me.isMuted = muted;
    const op = this.newOp(call, muted ? 'muteParticipantOperation' : 'unmuteParticipantOperation', cc, 'completed', {});
    op.resultInfo = SUCCESS;
    this.postRoster(call);
    return op;
  }

  changeScreenSharingRole(call: EmuCall, body: unknown): void {
    const role = obj(body)?.['role'];
    if (role !== 'viewer' && role !== 'sharer') throw badRequest('role must be viewer or sharer.');
    this.requireEstablished(call);
    if (!call.appHostedMedia || call.kind === 'peerToPeer') throw badRequest('changeScreenSharingRole needs a group call with application-hosted media.');
    const me = call.participants.get(call.myParticipantId);
    if (me) me.screenSharingRole = role;
    this.postRoster(call);
  }

  updateRecordingStatus(call: EmuCall, body: unknown): EmuOperation {
    const b = obj(body);
    if (!b) throw badRequest('Request body must be a JSON object.');
    const status = b['status'];
    if (!['notRecording', 'recording', 'failed'].includes(String(status))) throw badRequest('status must be notRecording, recording or failed.');
    const cc = clientContextOf(b);
    this.requireEstablished(call);
    call.recordingStatus = String(status);
    const op = this.newOp(call, 'updateRecordingStatusOperation', cc, 'completed');
    op.resultInfo = SUCCESS;
    return op;
  }

  addLargeGalleryView(call: EmuCall, body: unknown): EmuOperation {
    const cc = clientContextOf(obj(body) ?? {});
    this.requireEstablished(call);
    const op = this.newOp(call, 'addLargeGalleryViewOperation', cc, 'running');
    this.after(call, 100, () => this.complete(call, op, 'completed', SUCCESS));
    return op;
  }

  async playPrompt(call: EmuCall, body: unknown): Promise<EmuOperation> {
    const b = obj(body);
    if (!b) throw badRequest('Request body must be a JSON object.');
    const uris = this.promptUris(b['prompts'], true);
    const cc = clientContextOf(b);
    this.requireEstablished(call);
    this.requireServiceMedia(call, 'playPrompt');
    const op = this.newOp(call, 'playPromptOperation', cc, 'running');
    const durations = await Promise.all(uris.map((u) => this.promptDuration(u)));
    const total = durations.reduce((a, d) => a + d, 0);
    this.runCancelable(call, op, total, () => this.complete(call, op, 'completed', SUCCESS));
    return op;
  }

  async recordResponse(call: EmuCall, body: unknown): Promise<EmuOperation> {
    const b = obj(body);
    if (!b) throw badRequest('Request body must be a JSON object.');
    const uris = b['prompts'] === undefined ? [] : this.promptUris(b['prompts'], false);
    const maxRecord = b['maxRecordDurationInSeconds'] ?? 5;
    if (typeof maxRecord !== 'number' || maxRecord < 1 || maxRecord > 300) throw badRequest('maxRecordDurationInSeconds must be 1..300.');
    for (const k of ['initialSilenceTimeoutInSeconds', 'maxSilenceTimeoutInSeconds']) {
      const v = b[k];
      if (v !== undefined && (typeof v !== 'number' || v < 1 || v > 300)) throw badRequest(`${k} must be 1..300.`);
    }
    const stopTones = b['stopTones'];
    if (stopTones !== undefined && (!Array.isArray(stopTones) || !stopTones.every((t) => typeof t === 'string'))) throw badRequest('stopTones must be a list of strings.');
    const cc = clientContextOf(b);
    this.requireEstablished(call);
    this.requireServiceMedia(call, 'recordResponse');
    const op = this.newOp(call, 'recordOperation', cc, 'running', { recordingLocation: null, recordingAccessToken: null, completionReason: null });
    const promptMs = (await Promise.all(uris.map((u) => this.promptDuration(u)))).reduce((a, d) => a + d, 0) + (b['playBeep'] === true ? 200 : 0);
    // What the caller "says": the first simulated person's first sentence, cut at the max duration.
    const clip = this.responseClip(call);
    const maxSamples = Math.round(maxRecord * SPEECH_RATE);
    const samples = clip.subarray(0, Math.min(clip.length, maxSamples));
    const hitMax = clip.length >= maxSamples;
    const recordMs = (samples.length * 1000) / SPEECH_RATE;
    this.runCancelable(call, op, promptMs + recordMs, () => {
      const recId = randomUUID();
      const token = randomBytes(24).toString('base64url');
      this.recordings.set(recId, { token, wav: encodeWavPcm16(samples, SPEECH_RATE) });
      while (this.recordings.size > MAX_RECORDINGS) this.recordings.delete(this.recordings.keys().next().value!);
      this.complete(
        call,
        op,
        'completed',
        hitMax ? { code: 200, subcode: 8515, message: 'Action completed, max record duration reached.' } : SUCCESS,
        { recordingLocation: `${this.ctx.baseUrl}/_emulator/recordings/${recId}`, recordingAccessToken: token, completionReason: hitMax ? 'maxRecordDurationReached' : 'operationCompleted' },
      );
    }, { recordingLocation: '', recordingAccessToken: '', completionReason: 'operationCanceled' });
    return op;
  }

  private responseClip(call: EmuCall): Int16Array {
    const people = this.peopleOf(call);
    const first = people[0]?.script ?? DEFAULT_SCRIPT[0]!;
    try {
      return this.ctx.speech.clip(first.voice, first.sentences[0]!);
    } catch {
      return new Int16Array(SPEECH_RATE); // one second of silence when speech is unavailable
    }
  }

  private requireServiceMedia(call: EmuCall, action: string): void {
    if (call.appHostedMedia) throw badRequest(`${action} is only supported for calls with service-hosted media.`);
  }

  private runCancelable(
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

  private promptUris(prompts: unknown, required: boolean): string[] {
    if (!Array.isArray(prompts) || (required && prompts.length === 0)) throw badRequest('prompts must be a non-empty list of mediaPrompt.');
    return prompts.map((p) => {
      const uri = obj(obj(p)?.['mediaInfo'])?.['uri'];
      if (typeof uri !== 'string' || !/^https?:\/\//.test(uri)) throw badRequest('Each prompt needs mediaInfo.uri (an http(s) URL).');
      return uri;
    });
  }

  /** The WAV's duration when the URI serves one within 1 s; otherwise the default prompt length. */
  private async promptDuration(uri: string): Promise<number> {
    try {
      const res = await fetch(uri, { signal: AbortSignal.timeout(1000) });
      if (!res.ok) return this.ctx.timing.defaultPromptMs;
      const buf = Buffer.from(await res.arrayBuffer());
      if (buf.length < 44 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') return this.ctx.timing.defaultPromptMs;
      const byteRate = buf.readUInt32LE(28);
      return byteRate > 0 ? Math.round(((buf.length - 44) / byteRate) * 1000) : this.ctx.timing.defaultPromptMs;
    } catch {
      return this.ctx.timing.defaultPromptMs;
    }
  }

  subscribeToTone(call: EmuCall, body: unknown): EmuOperation {
    const cc = clientContextOf(obj(body) ?? {});
    this.requireEstablished(call);
    call.toneSubscribed = true;
    const op = this.newOp(call, 'subscribeToToneOperation', cc, 'completed');
    op.resultInfo = SUCCESS;
    return op;
  }

  sendDtmfTones(call: EmuCall, body: unknown): EmuOperation {
    const b = obj(body);
    if (!b) throw badRequest('Request body must be a JSON object.');
    const tones = b['tones'];
    if (!Array.isArray(tones) || tones.length === 0 || !tones.every((t) => TONES.has(String(t)))) throw badRequest('tones must be a non-empty list of tone0..tone9, star, pound, a..d, flash.');
    const delay = b['delayBetweenTonesMs'] ?? 0;
    if (typeof delay !== 'number' || delay < 0 || delay > 10_000) throw badRequest('delayBetweenTonesMs must be 0..10000.');
    const cc = clientContextOf(b);
    this.requireEstablished(call);
    const op = this.newOp(call, 'sendDtmfTonesOperation', cc, 'running', { completionReason: null });
    const ms = tones.length * this.ctx.timing.toneMs + Math.max(0, tones.length - 1) * delay;
    // sendDtmfTones reports cancellation as completed + mediaOperationCanceled (see the docs' example).
    this.runCancelable(call, op, ms, () => this.complete(call, op, 'completed', SUCCESS, { completionReason: 'completedSuccessfully' }), { completionReason: 'mediaOperationCanceled' }, 'completed');
    return op;
  }

  cancelMediaProcessing(call: EmuCall, body: unknown): EmuOperation {
    const cc = clientContextOf(obj(body) ?? {});
    this.requireEstablished(call);
    for (const op of call.operations.values()) if (op.status === 'running' && op.cancel) op.cancel();
    const op = this.newOp(call, 'cancelMediaProcessingOperation', cc, 'completed');
    op.resultInfo = SUCCESS;
    return op;
  }

  /** A DTMF tone from the simulated far end; delivered only after subscribeToTone. */
  sendTone(call: EmuCall, tone: string): boolean {
    if (!TONES.has(tone)) throw badRequest(`Unknown tone '${tone}'.`);
    if (!call.toneSubscribed || call.state !== 'established') return false;
    call.toneSequence += 1;
    call.toneInfo = { '@odata.type': odataType('toneInfo'), sequenceId: call.toneSequence, tone };
    this.postCall(call);
    return true;
  }

  // ---------------------------------------------------------------- participants

  invite(call: EmuCall, body: unknown): EmuOperation {
    const b = obj(body);
    const list = b?.['participants'];
    if (!b || !Array.isArray(list) || list.length === 0) throw badRequest('participants must be a non-empty list of invitationParticipantInfo.');
    const parsed = list.map((p) => {
      const id = obj(p)?.['identity'];
      const first = firstIdentity(id);
      if (!first) throw badRequest('Each participant needs an identity.');
      return { info: obj(p)!, identity: obj(id)!, name: first.displayName ?? first.id ?? 'Invited participant' };
    });
    const cc = clientContextOf(b);
    this.requireEstablished(call);
    if (call.kind === 'peerToPeer' && parsed.some((p) => p.info['replacesCallId'] === undefined) && call.participants.size > 2) {
      throw conflict('Inviting into a peer-to-peer call that already has two parties needs replacesCallId.');
    }
    const participantsOut = parsed.map((p) => ({
      '@odata.type': odataType('invitationParticipantInfo'),
      endpointType: p.info['endpointType'] ?? null,
      id: null,
      replacesCallId: p.info['replacesCallId'] ?? null,
      identity: fullIdentitySet(this.withTenant(p.identity, call.tenantId)),
    }));
    const op = this.newOp(call, 'inviteParticipantsOperation', cc, 'running', { participants: participantsOut });
    this.after(call, this.ctx.timing.answerMs, () => {
      if (op.status !== 'running') return;
      for (const p of parsed) {
        const part = this.makeParticipant(randomUUID(), 'remote', p.identity, p.name);
        call.participants.set(part.id, part);
      }
      if (call.kind === 'peerToPeer') call.kind = 'groupCall';
      this.postRoster(call);
      this.complete(call, op, 'completed', SUCCESS);
    });
    // Deleting the invitee before it joins cancels the invitation.
    op.cancel = () => this.complete(call, op, 'failed', CANCELED);
    return op;
  }

  /** Graph resolves a user identity's tenant; the emulator puts in the call's tenant when it is missing. */
  private withTenant(identity: Json, tenantId: string): Json {
    const user = obj(identity['user']);
    return user && user['tenantId'] === undefined ? { ...identity, user: { ...user, tenantId } } : identity;
  }

  removeParticipant(call: EmuCall, participantId: string): void {
    if (participantId === call.myParticipantId) {
      this.terminate(call, END_REASONS.removedByParticipant);
      return;
    }
    const p = call.participants.get(participantId);
    if (!p) {
      const pending = [...call.operations.values()].find((o) => o.type === 'inviteParticipantsOperation' && o.status === 'running' && (o.id === participantId || JSON.stringify(o.extra).includes(participantId)));
      if (!pending) throw notFound(`Participant '${participantId}' not found in call '${call.id}'.`);
      pending.cancel?.();
      return;
    }
    this.leave(call, participantId);
  }

  muteParticipant(call: EmuCall, participantId: string, body: unknown): EmuOperation {
    const cc = clientContextOf(obj(body) ?? {});
    this.requireEstablished(call);
    if (call.kind === 'peerToPeer') throw badRequest('Muting other participants is only supported in group calls.');
    const p = this.participant(call, participantId);
    p.isMuted = true;
    const op = this.newOp(call, 'muteParticipantOperation', cc, 'completed');
    op.resultInfo = SUCCESS;
    this.postRoster(call);
    return op;
  }

  muteAll(call: EmuCall, body: unknown): EmuOperation {
    const b = obj(body) ?? {};
    const ids = b['participants'];
    if (ids !== undefined && (!Array.isArray(ids) || !ids.every((x) => typeof x === 'string'))) throw badRequest('participants must be a list of participant ids.');
    const cc = clientContextOf(b);
    this.requireEstablished(call);
    const chosen = Array.isArray(ids) ? ids.filter((x) => x !== '') : [];
    for (const p of call.participants.values()) {
      if (p.kind === 'bot') continue;
      if (chosen.length === 0 || chosen.includes(p.id)) p.isMuted = true;
    }
    const op = this.newOp(call, 'commsOperation', cc, 'completed');
    op.resultInfo = SUCCESS;
    this.postRoster(call);
    return op;
  }

  configureMixer(call: EmuCall, body: unknown): EmuOperation {
    const b = obj(body);
    const levels = b?.['participantMixerLevels'];
    if (!b || !Array.isArray(levels) || !levels.every((l) => typeof obj(l)?.['participant'] === 'string')) throw badRequest('participantMixerLevels must be a list with a participant id each.');
    const cc = clientContextOf(b);
    this.requireEstablished(call);
    const op = this.newOp(call, 'commsOperation', cc, 'running');
    this.after(call, 100, () => this.complete(call, op, 'completed', SUCCESS));
    return op;
  }

  holdMusic(call: EmuCall, participantId: string, body: unknown, start: boolean): EmuOperation {
    const b = obj(body) ?? {};
    if (start && b['customPrompt'] !== undefined) {
      const uri = obj(obj(b['customPrompt'])?.['mediaInfo'])?.['uri'];
      if (typeof uri !== 'string') throw badRequest('customPrompt.mediaInfo.uri is required when customPrompt is given.');
    }
    const cc = clientContextOf(b);
    this.requireEstablished(call);
    const p = this.participant(call, participantId);
    if (p.onHold === start) throw badRequest(start ? 'The participant is already on hold.' : 'The participant is not on hold.');
    const op = this.newOp(call, start ? 'startHoldMusicOperation' : 'stopHoldMusicOperation', cc, 'running');
    this.after(call, 100, () => {
      p.onHold = start;
      this.postRoster(call);
      this.complete(call, op, 'completed', SUCCESS);
    });
    return op;
  }

  // ---------------------------------------------------------------- lifecycle

  close(): void {
    for (const c of this.calls.values()) {
      for (const t of c.timers) clearTimeout(t);
      c.media?.close();
    }
  }
}
