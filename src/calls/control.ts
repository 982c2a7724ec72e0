/**
 * Call control: join a meeting, place a call, answer with app-hosted media, hang up, mute. Input
 * is validated before anything is created; a call Graph refused leaves no media behind.
 */
import { randomUUID } from 'node:crypto';
import type { Call } from '@microsoft/microsoft-graph-types';
import { MediabotError, isMediabotError } from '../errors.js';
import { appHostedMediaConfig, serviceHostedMediaConfig } from '../graph/media-config.js';
import { invitationParticipant, identitySet, type CommsInvitationParticipantInfo } from '../graph/identities.js';
import { parseJoinUrl } from '../graph/join-url.js';
import type { Logger } from '../logger.js';
import type { CallView } from '../signaling/registry.js';
import { badRequest, type CallTable } from './call-table.js';
import type { MediaLinks } from './media-links.js';
import type { CallServiceOptions, JoinCallInput, MediaMode, PlaceCallInput } from './types.js';
import type { CallSettings } from './call-settings.js';

type MediaConfig = ReturnType<typeof appHostedMediaConfig> | ReturnType<typeof serviceHostedMediaConfig>;

export class CallControl {
  private readonly log: Logger;

  constructor(
    private readonly o: CallServiceOptions,
    private readonly table: CallTable,
    private readonly links: MediaLinks,
  ) {
    this.log = o.logger;
  }

  /** Joins a Teams meeting by its join URL. Validates before anything is created. */
  async join(input: JoinCallInput): Promise<CallView> {
    if (typeof input?.joinWebUrl !== 'string') throw badRequest('joinWebUrl must be a string');
    let parsed: ReturnType<typeof parseJoinUrl>;
    try {
      parsed = parseJoinUrl(input.joinWebUrl);
    } catch (err) {
      throw new MediabotError('MEDIABOT_JOIN_URL_INVALID', isMediabotError(err) ? err.message : 'invalid join URL', { httpStatus: 400 });
    }
    const tenantId = input.tenantId ?? this.o.tenantId;
    if (parsed.kind === 'joinMeetingId' && tenantId === undefined) throw badRequest('joining by a /meet/<id> URL needs tenantId');
    return this.create(input.media ?? 'app', input.settings, (mediaConfig) =>
      this.o.graph.calls.joinMeeting({
        callbackUri: this.o.callbackUri,
        joinWebUrl: input.joinWebUrl,
        mediaConfig,
        ...(parsed.kind === 'joinMeetingId' && tenantId !== undefined ? { tenantId } : {}),
        ...(input.subject !== undefined ? { subject: input.subject } : {}),
      }),
    );
  }

  /** Places a P2P (one target) or group call. */
  async place(input: PlaceCallInput): Promise<CallView> {
    if (!Array.isArray(input?.targets) || input.targets.length === 0 || input.targets.length > 5) throw badRequest('targets must list 1-5 targets');
    const targets: CommsInvitationParticipantInfo[] = input.targets.map((t) => {
      if (t.kind === 'phone' && !/^\+[1-9]\d{6,14}$/.test(t.id)) throw badRequest(`phone target ${JSON.stringify(t.id)} must be E.164 (+ and 7-15 digits)`);
      return invitationParticipant(
        identitySet(t.kind, t.id, {
          ...(t.displayName !== undefined ? { displayName: t.displayName } : {}),
          ...(t.tenantId !== undefined ? { tenantId: t.tenantId } : t.kind === 'user' && this.o.tenantId !== undefined ? { tenantId: this.o.tenantId } : {}),
        }),
      );
    });
    return this.create(input.media ?? 'app', input.settings, (mediaConfig) =>
      this.o.graph.calls.placeCall({
        callbackUri: this.o.callbackUri,
        targets,
        mediaConfig,
        ...(this.o.tenantId !== undefined ? { tenantId: this.o.tenantId } : {}),
        ...(input.subject !== undefined ? { subject: input.subject } : {}),
      }),
    );
  }

  private async create(mode: MediaMode, settings: CallSettings | undefined, send: (mediaConfig: MediaConfig) => Promise<Call>): Promise<CallView> {
    if (mode !== 'app' && mode !== 'service') throw badRequest('media must be "app" or "service"');
    if (settings !== undefined) this.o.callSettings?.validate(settings, mode);
    let mediaId: string | null = null;
    let mediaConfig;
    if (mode === 'app') {
      mediaId = randomUUID();
      if (settings !== undefined) this.o.callSettings?.beforeMedia(mediaId, settings);
      const provider = this.o.mediaSessions ?? this.o.media;
      const session = await provider.createMediaSession(mediaId);
      mediaConfig = appHostedMediaConfig({ blob: session.blob });
    } else {
      mediaConfig = serviceHostedMediaConfig();
    }
    let call: Call;
    try {
      call = await send(mediaConfig);
    } catch (err) {
      if (mediaId !== null) {
        this.links.dropEarly(mediaId);
        await this.o.media.close(mediaId).catch(() => undefined);
      }
      throw err;
    }
    if (typeof call.id !== 'string' || call.id === '') {
      if (mediaId !== null) await this.o.media.close(mediaId).catch(() => undefined);
      throw new MediabotError('MEDIABOT_GRAPH_BAD_RESPONSE', 'Graph created a call without an id');
    }
    const m = this.table.state(call.id);
    m.mode = mode;
    m.mediaId = mediaId;
    m.rtpMedia = mediaId !== null && this.o.media.get(mediaId) !== undefined;
    // Stored before the call is tracked, so its first event already has its webhook URL and metadata.
    if (settings !== undefined) this.o.callSettings?.created(call.id, settings);
    const view = this.o.signaling.registry.track(call.id, { direction: 'outgoing' });
    if (mediaId !== null) this.links.link(mediaId, call.id);
    this.log.info({ callId: call.id, mediaId, mode }, 'call created');
    return view;
  }

  /** Incoming calls: the signaling policy asks for app-hosted media; the media id is the call id. */
  async answerMedia(callId: string): Promise<{ blob: string }> {
    const provider = this.o.mediaSessions ?? this.o.media;
    const session = await provider.createMediaSession(callId);
    const m = this.table.state(callId);
    m.mode = 'app';
    m.mediaId = callId;
    m.rtpMedia = this.o.media.get(callId) !== undefined;
    this.links.link(callId, callId);
    return session;
  }

  /**
   * An ingress adapter started a call's media. A bridge session for a call mediabot created is
   * already linked; any other stream (ACS) becomes a call of its own, listed with its stream id.
   */
  ingressCallStarted(info: { callId: string; adapter: string }): void {
    if (this.links.has(info.callId)) return;
    this.o.signaling.registry.track(info.callId, { direction: 'incoming', state: 'established' });
    const m = this.table.state(info.callId);
    m.mode = 'app';
    m.mediaId = info.callId;
    m.ingressOnly = true;
    this.links.link(info.callId, info.callId);
    this.log.info({ callId: info.callId, adapter: info.adapter }, 'ingress call started');
  }

  /** An ingress call's media ended: a call that exists only as that stream ends with it. */
  ingressCallEnded(info: { callId: string; reason: string }): void {
    const m = this.table.find(info.callId);
    if (!m?.ingressOnly) return;
    this.o.signaling.registry.apply({ kind: 'callState', callId: info.callId, changeType: 'updated', state: 'terminated', resultInfo: null, terminationReason: info.reason, transfer: null, etag: null });
  }

  async hangUp(callId: string): Promise<void> {
    const call = this.table.requireActive(callId);
    await this.o.graph.calls.delete(call.id);
  }

  async mute(callId: string, muted: boolean): Promise<{ operationId: string | null }> {
    const call = this.table.requireActive(callId);
    const r = muted ? await this.o.graph.calls.mute(call.id, { clientContext: randomUUID() }) : await this.o.graph.calls.unmute(call.id, { clientContext: randomUUID() });
    return { operationId: r.operationId ?? null };
  }
}
