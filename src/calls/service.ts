/**
 * The worker's call service: what the operator API, the demo and incoming calls use.
 * It joins/places/answers calls through Graph with app-hosted media on the media threads,
 * maps RTP sources to roster participants, gathers the call's live media state from events and,
 * when the call ends, ends its media and writes its artifacts into `<dataDir>/calls/<callId>/`.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Call } from '@microsoft/microsoft-graph-types';
import type { EventBus, MediabotEvent } from '../events/bus.js';
import { MediabotError, isMediabotError } from '../errors.js';
import type { GraphClient } from '../graph/client.js';
import { appHostedMediaConfig, serviceHostedMediaConfig, type MediaSessionProvider } from '../graph/media-config.js';
import { invitationParticipant, identitySet, type CommsInvitationParticipantInfo, type IdentityKind } from '../graph/identities.js';
import { mediaPrompt } from '../graph/calls.js';
import { parseJoinUrl } from '../graph/join-url.js';
import type { Logger } from '../logger.js';
import type { CallMediaStats } from '../media/threads/pool.js';
import { transcriptToJson, transcriptToWebVtt, type TranscriptLine } from '../media/hooks/export.js';
import type { CallNotification } from '../signaling/notifications.js';
import type { CallView } from '../signaling/registry.js';
import type { Signaling } from '../signaling/signaling.js';
import type { SpeechStore } from '../store/speech-store.js';
import { ANALYTICS_FILE, TIMELINE_FILE } from './media-hooks.js';
import type { IngressMediaPort } from './ingress.js';
import { callMediaEnd, type RtpMediaSessions } from './media-sessions.js';
import { fetchPrompt, load48k, type PromptStore } from './prompts.js';

export type MediaMode = 'app' | 'service';

export interface SpeakerInfo {
  sourceId: string;
  participantId: string | null;
  displayName: string | null;
  /** True for audio mediabot itself played into the call. */
  prompt: boolean;
  talking: boolean;
  talkMs: number;
  levelDbov: number | null;
}

export interface SpeakerRef {
  sourceId: string;
  participantId: string | null;
  displayName: string | null;
  prompt: boolean;
}

/** Events the worker adds to the bus's: speaker mapping and finished artifacts. */
export type WorkerEvent =
  | { type: 'call.speakers'; callId: string; speakers: SpeakerRef[]; at: string }
  | { type: 'call.artifacts'; callId: string; dir: string; files: string[]; at: string };

export type LiveEvent = MediabotEvent | WorkerEvent;

export interface CallArtifacts {
  callId: string;
  dir: string;
  files: string[];
  recordings: RecordingEntry[];
  analytics: unknown;
  talkMsBySpeaker: Record<string, number>;
  transcript: TranscriptLine[];
  mediaStats: CallMediaStats | null;
}

export interface RecordingEntry {
  file: string;
  sourceId: string;
  speaker: string | null;
  format: 'ogg' | 'wav';
  bytes: number;
}

export interface TargetInput {
  kind: IdentityKind;
  id: string;
  displayName?: string;
  tenantId?: string;
}

interface CallMedia {
  callId: string;
  mediaId: string | null;
  mode: MediaMode;
  speakers: Map<string, SpeakerInfo>;
  promptSources: Set<string>;
  transcript: TranscriptLine[];
  dominant: string | null;
  lastMediaTimeMs: number;
  finalizing: Promise<CallArtifacts> | null;
  artifacts: CallArtifacts | null;
  /** A call that exists only as an ingress stream (ACS, or a sidecar session mediabot did not ask for). */
  ingressOnly: boolean;
  /** The app-hosted media is an RTP session of `media` (prompts can be played into it). */
  rtpMedia: boolean;
  /** Who is behind each media source, as the media sidecar reported it (bridge sourceMap). */
  sourceMap: Map<string, { participantId: string; displayName: string | null }>;
}

export interface CallServiceOptions {
  graph: GraphClient;
  signaling: Signaling;
  bus: EventBus;
  /** Where calls' artifacts go: `<dataDir>/calls/<callId>/`. */
  dataDir: string;
  /** Folder the recorder writes under (`<recordDir>/<mediaId>/…`), when recording. */
  recordDir: string | undefined;
  callbackUri: string;
  /** Public base URL of this server (prompts are served from it). */
  publicBaseUrl: () => string;
  /** The app's client id: the bot's own roster entry is left out of the speaker mapping. */
  clientId: string;
  tenantId: string | undefined;
  media: RtpMediaSessions;
  /** Where final analytics are stored (SQLite), besides the files. */
  speech?: SpeechStore;
  /** Supplies blobs for app-hosted media (default: `media`, the RTP sessions). */
  mediaSessions?: MediaSessionProvider;
  /** Media of ingress calls (ACS streams, bridge sessions): scratch folders and ending. */
  ingress?: IngressMediaPort;
  prompts: PromptStore;
  logger: Logger;
}

const SAFE = (id: string): string => id.replace(/[^A-Za-z0-9_.-]/g, '_');
const key = (id: string): string => id.toLowerCase();

function badRequest(message: string): MediabotError {
  return new MediabotError('MEDIABOT_BAD_REQUEST', message);
}

export class CallService {
  private readonly calls = new Map<string, CallMedia>();
  /** media id → Graph call id, once known. */
  private readonly mediaToCall = new Map<string, string>();
  /** Media events that arrived before the Graph call id of their media was known. */
  private readonly early = new Map<string, MediabotEvent[]>();
  /** participant id → the audio source ids the roster gave for it. */
  private readonly rosterSources = new Map<string, Map<string, string[]>>();
  /** Participant ids in order of first appearance, per call. */
  private readonly joinOrder = new Map<string, string[]>();
  private readonly workerListeners = new Set<(e: WorkerEvent) => void>();
  private readonly finalized = new Map<string, Array<(a: CallArtifacts) => void>>();
  private readonly log: Logger;

  constructor(private readonly o: CallServiceOptions) {
    this.log = o.logger;
    o.signaling.registry.use((item) => this.onNotification(item));
    o.signaling.registry.onStateChange((call) => {
      if (call.state === 'terminated') void this.finalize(call.id).catch((err: unknown) => this.log.error({ err, callId: call.id }, 'finalizing the call failed'));
    });
    o.bus.on((e) => this.onBusEvent(e));
  }

  onWorkerEvent(listener: (e: WorkerEvent) => void): () => void {
    this.workerListeners.add(listener);
    return () => this.workerListeners.delete(listener);
  }

  private emitWorker(e: WorkerEvent): void {
    for (const l of this.workerListeners) {
      try {
        l(e);
      } catch (err) {
        this.log.warn({ err }, 'worker event listener failed');
      }
    }
  }

  /** Feeds a media event from the media threads (callId = media id) into the bus with the Graph call id. */
  ingestMediaEvent(e: MediabotEvent): void {
    if (!('callId' in e)) return;
    const callId = this.mediaToCall.get(e.callId);
    if (callId === undefined) {
      const list = this.early.get(e.callId) ?? [];
      if (list.length < 2000) list.push(e);
      this.early.set(e.callId, list);
      return;
    }
    this.o.bus.emit(callId === e.callId ? e : ({ ...e, callId } as MediabotEvent));
  }

  private link(mediaId: string, callId: string): void {
    this.mediaToCall.set(mediaId, callId);
    const early = this.early.get(mediaId) ?? [];
    this.early.delete(mediaId);
    for (const e of early) this.ingestMediaEvent(e);
  }

  private state(callId: string): CallMedia {
    const k = key(callId);
    let m = this.calls.get(k);
    if (!m) {
      m = { callId, mediaId: null, mode: 'service', speakers: new Map(), promptSources: new Set(), transcript: [], dominant: null, lastMediaTimeMs: 0, finalizing: null, artifacts: null, ingressOnly: false, rtpMedia: false, sourceMap: new Map() };
      this.calls.set(k, m);
    }
    return m;
  }

  private requireCall(callId: string): CallView {
    if (typeof callId !== 'string' || callId.length === 0 || callId.length > 200) throw new MediabotError('MEDIABOT_CALL_NOT_FOUND', 'no such call');
    const call = this.o.signaling.registry.get(callId);
    if (!call) throw new MediabotError('MEDIABOT_CALL_NOT_FOUND', `no call with id ${callId}`);
    return call;
  }

  private requireActive(callId: string): CallView {
    const call = this.requireCall(callId);
    if (call.state === 'terminated' || call.state === 'terminating') throw new MediabotError('MEDIABOT_CALL_TERMINATED', `call ${callId} has ended`);
    return call;
  }

  // ------------------------------------------------------------------ calls

  /** Joins a Teams meeting by its join URL. Validates before anything is created. */
  async join(input: { joinWebUrl: string; media?: MediaMode; tenantId?: string; subject?: string }): Promise<CallView> {
    if (typeof input?.joinWebUrl !== 'string') throw badRequest('joinWebUrl must be a string');
    let parsed: ReturnType<typeof parseJoinUrl>;
    try {
      parsed = parseJoinUrl(input.joinWebUrl);
    } catch (err) {
      throw new MediabotError('MEDIABOT_JOIN_URL_INVALID', isMediabotError(err) ? err.message : 'invalid join URL', { httpStatus: 400 });
    }
    const tenantId = input.tenantId ?? this.o.tenantId;
    if (parsed.kind === 'joinMeetingId' && tenantId === undefined) throw badRequest('joining by a /meet/<id> URL needs tenantId');
    return this.create(input.media ?? 'app', (mediaConfig) =>
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
  async place(input: { targets: TargetInput[]; media?: MediaMode; subject?: string }): Promise<CallView> {
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
    return this.create(input.media ?? 'app', (mediaConfig) =>
      this.o.graph.calls.placeCall({
        callbackUri: this.o.callbackUri,
        targets,
        mediaConfig,
        ...(this.o.tenantId !== undefined ? { tenantId: this.o.tenantId } : {}),
        ...(input.subject !== undefined ? { subject: input.subject } : {}),
      }),
    );
  }

  private async create(mode: MediaMode, send: (mediaConfig: ReturnType<typeof appHostedMediaConfig> | ReturnType<typeof serviceHostedMediaConfig>) => Promise<Call>): Promise<CallView> {
    if (mode !== 'app' && mode !== 'service') throw badRequest('media must be "app" or "service"');
    let mediaId: string | null = null;
    let mediaConfig;
    if (mode === 'app') {
      mediaId = randomUUID();
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
        this.early.delete(mediaId);
        await this.o.media.close(mediaId).catch(() => undefined);
      }
      throw err;
    }
    if (typeof call.id !== 'string' || call.id === '') {
      if (mediaId !== null) await this.o.media.close(mediaId).catch(() => undefined);
      throw new MediabotError('MEDIABOT_GRAPH_BAD_RESPONSE', 'Graph created a call without an id');
    }
    const m = this.state(call.id);
    m.mode = mode;
    m.mediaId = mediaId;
    m.rtpMedia = mediaId !== null && this.o.media.get(mediaId) !== undefined;
    const view = this.o.signaling.registry.track(call.id, { direction: 'outgoing' });
    if (mediaId !== null) this.link(mediaId, call.id);
    this.log.info({ callId: call.id, mediaId, mode }, 'call created');
    return view;
  }

  /** Incoming calls: the signaling policy asks for app-hosted media; the media id is the call id. */
  async answerMedia(callId: string): Promise<{ blob: string }> {
    const provider = this.o.mediaSessions ?? this.o.media;
    const session = await provider.createMediaSession(callId);
    const m = this.state(callId);
    m.mode = 'app';
    m.mediaId = callId;
    m.rtpMedia = this.o.media.get(callId) !== undefined;
    this.link(callId, callId);
    return session;
  }

  /**
   * An ingress adapter started a call's media. A bridge session for a call mediabot created is
   * already linked; any other stream (ACS) becomes a call of its own, listed with its stream id.
   */
  ingressCallStarted(info: { callId: string; adapter: string }): void {
    if (this.mediaToCall.has(info.callId)) return;
    this.o.signaling.registry.track(info.callId, { direction: 'incoming', state: 'established' });
    const m = this.state(info.callId);
    m.mode = 'app';
    m.mediaId = info.callId;
    m.ingressOnly = true;
    this.link(info.callId, info.callId);
    this.log.info({ callId: info.callId, adapter: info.adapter }, 'ingress call started');
  }

  /** The media sidecar said which roster participant each media source (MSI) of a call is. */
  ingressSourceMap(mediaId: string, entries: Array<{ sourceId: string; participantId: string; displayName: string | null }>): void {
    const callId = this.mediaToCall.get(mediaId);
    if (callId === undefined) return;
    const m = this.calls.get(key(callId));
    if (!m) return;
    for (const e of entries) m.sourceMap.set(e.sourceId, { participantId: e.participantId, displayName: e.displayName });
    this.mapSpeakers(callId, true);
  }

  /** An ingress call's media ended: a call that exists only as that stream ends with it. */
  ingressCallEnded(info: { callId: string; reason: string }): void {
    const m = this.calls.get(key(info.callId));
    if (!m?.ingressOnly) return;
    this.o.signaling.registry.apply({ kind: 'callState', callId: info.callId, changeType: 'updated', state: 'terminated', resultInfo: null, terminationReason: info.reason, transfer: null, etag: null });
  }

  async hangUp(callId: string): Promise<void> {
    const call = this.requireActive(callId);
    await this.o.graph.calls.delete(call.id);
  }

  async mute(callId: string, muted: boolean): Promise<{ operationId: string | null }> {
    const call = this.requireActive(callId);
    const r = muted ? await this.o.graph.calls.mute(call.id, { clientContext: randomUUID() }) : await this.o.graph.calls.unmute(call.id, { clientContext: randomUUID() });
    return { operationId: r.operationId ?? null };
  }

  /**
   * Plays a prompt (a URL, or text made into speech) and resolves when it finished.
   * App-hosted media: mediabot sends it into the call's conference itself; service-hosted: Graph
   * playPrompt, awaited to its completion notification.
   */
  async play(callId: string, input: { url?: string; text?: string; voice?: string }): Promise<{ via: 'media' | 'graph'; promptUrl: string | null; durationMs: number }> {
    const hasUrl = input?.url !== undefined;
    const hasText = input?.text !== undefined;
    if (hasUrl === hasText) throw badRequest('give exactly one of url or text');
    if (hasUrl && (typeof input.url !== 'string' || !/^https?:\/\/\S+$/i.test(input.url) || input.url.length > 2048)) throw badRequest('url must be an http(s) URL');
    if (input.voice !== undefined && (typeof input.voice !== 'string' || !/^[a-z0-9+_-]{1,40}$/i.test(input.voice))) throw badRequest('voice must be an espeak-ng voice name');
    const call = this.requireActive(callId);
    if (call.state !== 'established') throw new MediabotError('MEDIABOT_CALL_NOT_ESTABLISHED', `call ${callId} is ${call.state}; prompts need an established call`, { httpStatus: 409 });
    const m = this.state(call.id);
    let promptUrl: string | null = null;
    let file: string | null = null;
    if (hasText) {
      const id = await this.o.prompts.speak(input.text!, input.voice);
      promptUrl = `${this.o.publicBaseUrl()}/media/prompts/${id}.wav`;
      file = this.o.prompts.path(id);
    } else {
      promptUrl = input.url!;
    }
    const t0 = Date.now();
    if (m.mode === 'app' && m.mediaId !== null) {
      // RTP and ingress calls alike: the prompt is a playback source of the call's media session,
      // mixed into what everyone hears and recorded under its own source id.
      if (!this.o.media.running(m.mediaId)) {
        const known = m.rtpMedia || this.o.ingress?.scratchDir(m.mediaId) !== undefined;
        throw new MediabotError(known ? 'MEDIABOT_CALL_TERMINATED' : 'MEDIABOT_PROMPT_FAILED', known ? `the media of call ${callId} has ended` : `call ${callId} has no media mediabot can play a prompt into`);
      }
      let downloaded: string | null = null;
      if (file === null) downloaded = file = await fetchPrompt(promptUrl, join(this.o.prompts.dir, 'downloads'));
      try {
        const samples = await load48k(file);
        // Known before the source appears, so it is labelled the moment it does.
        const sourceId = `prompt-${randomUUID().slice(0, 8)}`;
        m.promptSources.add(sourceId);
        await this.o.media.playPcm(m.mediaId, sourceId, samples, 48_000);
      } finally {
        if (downloaded !== null) await rm(downloaded, { force: true });
      }
      return { via: 'media', promptUrl, durationMs: Date.now() - t0 };
    }
    await this.o.signaling.operations.playPrompt(call.id, [mediaPrompt(promptUrl)], { timeoutMs: 120_000 });
    return { via: 'graph', promptUrl, durationMs: Date.now() - t0 };
  }

  // ------------------------------------------------------------------ queries

  mediaMode(callId: string): MediaMode | null {
    return this.calls.get(key(callId))?.mode ?? null;
  }

  speakers(callId: string): SpeakerInfo[] {
    this.requireCall(callId);
    return [...(this.calls.get(key(callId))?.speakers.values() ?? [])].map((s) => ({ ...s }));
  }

  participants(callId: string): Array<{ id: string; displayName: string | null; muted: boolean; inLobby: boolean; identity: { kind: string; id: string | null } | null; isBot: boolean; sourceIds: string[]; talking: boolean; talkMs: number; levelDbov: number | null }> {
    const call = this.requireCall(callId);
    const speakers = [...(this.calls.get(key(call.id))?.speakers.values() ?? [])];
    return call.participants.map((p) => {
      const mine = speakers.filter((s) => s.participantId === p.id);
      return {
        id: p.id,
        displayName: p.displayName,
        muted: p.muted,
        inLobby: p.inLobby,
        identity: p.identityKind === null ? null : { kind: p.identityKind, id: p.identityId },
        isBot: this.isBot(p.identityKind, p.identityId),
        sourceIds: mine.map((s) => s.sourceId),
        talking: mine.some((s) => s.talking),
        talkMs: mine.reduce((a, s) => a + s.talkMs, 0),
        levelDbov: mine.reduce<number | null>((a, s) => (s.levelDbov === null ? a : a === null ? s.levelDbov : Math.max(a, s.levelDbov)), null),
      };
    });
  }

  transcript(callId: string): { callId: string; lines: Array<TranscriptLine & { speaker: string | null }> } {
    const call = this.requireCall(callId);
    const m = this.calls.get(key(call.id));
    const lines = m ? transcriptToJson(call.id, m.transcript).lines : [];
    return { callId: call.id, lines: lines.map((l) => ({ ...l, speaker: this.label(m, l.sourceId) })) };
  }

  transcriptVtt(callId: string): string {
    const call = this.requireCall(callId);
    const m = this.calls.get(key(call.id));
    return transcriptToWebVtt(m?.transcript ?? [], { speakerLabel: (id) => this.label(m, id) ?? id });
  }

  async recordings(callId: string): Promise<RecordingEntry[]> {
    const call = this.requireCall(callId);
    const m = this.calls.get(key(call.id));
    if (!m?.mediaId || this.o.recordDir === undefined) return [];
    const dir = join(this.o.recordDir, SAFE(m.mediaId));
    const names = await readdir(dir).catch(() => [] as string[]);
    const out: RecordingEntry[] = [];
    for (const name of names.sort()) {
      const match = /^(.*)\.(opus|ogg|wav)$/.exec(name);
      if (!match) continue;
      const st = await stat(join(dir, name)).catch(() => null);
      if (!st?.isFile()) continue;
      const sourceId = match[1]!;
      out.push({ file: name, sourceId, speaker: sourceId === 'mix' ? 'mix' : this.label(m, sourceId), format: match[2] === 'wav' ? 'wav' : 'ogg', bytes: st.size });
    }
    return out;
  }

  /** Absolute path of one listed recording; MEDIABOT_NOT_FOUND for anything not listed. */
  async recordingPath(callId: string, file: string): Promise<string> {
    const list = await this.recordings(callId);
    const hit = list.find((r) => r.file === file);
    const m = this.calls.get(key(callId));
    if (!hit || !m?.mediaId || this.o.recordDir === undefined) throw new MediabotError('MEDIABOT_NOT_FOUND', `no recording ${file} for call ${callId}`);
    return join(this.o.recordDir, SAFE(m.mediaId), basename(hit.file));
  }

  /** Final analytics when the call ended, else live talk times. */
  analytics(callId: string): unknown {
    const call = this.requireCall(callId);
    const m = this.calls.get(key(call.id));
    if (m?.artifacts) return { final: true, ...(m.artifacts.analytics as Record<string, unknown>), speakers: this.speakerList(m) };
    return {
      final: false,
      mediaTimeMs: m?.lastMediaTimeMs ?? 0,
      dominantSpeaker: m?.dominant ?? null,
      participants: [...(m?.speakers.values() ?? [])].map((s) => ({ sourceId: s.sourceId, speaker: s.displayName, participantId: s.participantId, talkMs: s.talkMs, talking: s.talking })),
    };
  }

  artifacts(callId: string): CallArtifacts | null {
    return this.calls.get(key(callId))?.artifacts ?? null;
  }

  /** Resolves with the call's artifacts once its media ended and they were written. */
  whenFinalized(callId: string, timeoutMs = 60_000): Promise<CallArtifacts> {
    const done = this.calls.get(key(callId))?.artifacts;
    if (done) return Promise.resolve(done);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new MediabotError('MEDIABOT_OPERATION_TIMEOUT', `call ${callId} was not finalized within ${timeoutMs} ms`)), timeoutMs);
      t.unref();
      const list = this.finalized.get(key(callId)) ?? [];
      list.push((a) => {
        clearTimeout(t);
        resolve(a);
      });
      this.finalized.set(key(callId), list);
    });
  }

  // ------------------------------------------------------------------ events

  private isBot(kind: string | null, id: string | null): boolean {
    return (kind === 'application' || kind === 'applicationInstance') && id !== null && id.toLowerCase() === this.o.clientId.toLowerCase();
  }

  private label(m: CallMedia | undefined, sourceId: string): string | null {
    return m?.speakers.get(sourceId)?.displayName ?? null;
  }

  private speakerList(m: CallMedia): SpeakerRef[] {
    return [...m.speakers.values()].map((s) => ({ sourceId: s.sourceId, participantId: s.participantId, displayName: s.displayName, prompt: s.prompt }));
  }

  private onNotification(item: CallNotification): void {
    if (item.kind !== 'roster' || item.callId === null) return;
    const k = key(item.callId);
    const sources = this.rosterSources.get(k) ?? new Map<string, string[]>();
    const order = this.joinOrder.get(k) ?? [];
    for (const p of item.participants) {
      if (p.id === null || item.changeType === 'deleted') continue;
      if (this.isBot(p.identity?.kind ?? null, p.identity?.id ?? null)) continue;
      if (!order.includes(p.id)) order.push(p.id);
      const audio = p.mediaStreams.filter((s) => s.mediaType === 'audio' && s.sourceId !== null).map((s) => s.sourceId!);
      sources.set(p.id, audio);
    }
    this.rosterSources.set(k, sources);
    this.joinOrder.set(k, order);
    this.mapSpeakers(item.callId);
  }

  /**
   * Gives each RTP source a roster participant: the one whose audio media stream has this SSRC as
   * its sourceId (as Teams reports MSIs), else, for peers that do not report it, the next remote
   * participant in order of joining that has no source yet (sources appear in the same order).
   */
  private mapSpeakers(callId: string, force = false): void {
    const m = this.calls.get(key(callId));
    if (!m) return;
    const call = this.o.signaling.registry.get(callId);
    const names = new Map((call?.participants ?? []).map((p) => [p.id, p.displayName] as const));
    const rosterSources = this.rosterSources.get(key(callId)) ?? new Map<string, string[]>();
    const order = this.joinOrder.get(key(callId)) ?? [];
    let changed = force;
    const taken = new Set([...m.speakers.values()].map((s) => s.participantId).filter((x): x is string => x !== null));
    for (const s of m.speakers.values()) {
      if (s.participantId !== null || s.prompt) continue;
      const ssrc = /^(?:ssrc|msi)-(\d+)$/.exec(s.sourceId)?.[1];
      let pid: string | undefined = m.sourceMap.get(s.sourceId)?.participantId;
      if (pid === undefined && ssrc !== undefined) for (const [p, ids] of rosterSources) if (ids.includes(ssrc)) pid = p;
      // Sidecar sources (MSIs) are named by its sourceMap or the roster, never guessed by join order.
      if (pid === undefined && s.sourceId.startsWith('msi-')) continue;
      pid ??= order.find((p) => !taken.has(p) && !(rosterSources.get(p) ?? []).some((id) => [...m.speakers.keys()].includes(`ssrc-${id}`)));
      if (pid === undefined) continue;
      s.participantId = pid;
      taken.add(pid);
      changed = true;
    }
    for (const s of m.speakers.values()) {
      if (s.participantId === null) continue;
      const name = names.get(s.participantId) ?? m.sourceMap.get(s.sourceId)?.displayName ?? null;
      if (name !== null && name !== s.displayName) {
        s.displayName = name;
        changed = true;
      }
    }
    if (changed) this.emitWorker({ type: 'call.speakers', callId: m.callId, speakers: this.speakerList(m), at: new Date().toISOString() });
  }

  private onBusEvent(e: MediabotEvent): void {
    if (!('callId' in e) || typeof e.callId !== 'string') return;
    const m = this.calls.get(key(e.callId));
    if (!m) return;
    if ('mediaTimeMs' in e && typeof e.mediaTimeMs === 'number' && e.mediaTimeMs > m.lastMediaTimeMs) m.lastMediaTimeMs = e.mediaTimeMs;
    switch (e.type) {
      case 'source.added': {
        if (!m.speakers.has(e.sourceId)) {
          const prompt = m.promptSources.has(e.sourceId);
          m.speakers.set(e.sourceId, { sourceId: e.sourceId, participantId: null, displayName: prompt ? 'mediabot (prompt)' : null, prompt, talking: false, talkMs: 0, levelDbov: null });
          this.mapSpeakers(m.callId, true);
        }
        return;
      }
      case 'talk.start': {
        const s = m.speakers.get(e.sourceId);
        if (s) s.talking = true;
        return;
      }
      case 'talk.stop': {
        const s = m.speakers.get(e.sourceId);
        if (s) {
          s.talking = false;
          s.talkMs += e.durationMs;
        }
        return;
      }
      case 'speaker.dominant':
        m.dominant = e.sourceId;
        return;
      case 'level':
        for (const [id, db] of Object.entries(e.levels)) {
          const s = m.speakers.get(id);
          if (s) s.levelDbov = db;
        }
        return;
      case 'transcript.final':
        if (e.text.trim() !== '') m.transcript.push({ sourceId: e.sourceId, startMs: e.startMs, endMs: e.endMs, text: e.text, ...(e.confidence !== undefined ? { confidence: e.confidence } : {}) });
        return;
      default:
        return;
    }
  }

  // ------------------------------------------------------------------ end of call

  private finalize(callId: string): Promise<CallArtifacts> {
    const m = this.state(callId);
    if (!m.finalizing) m.finalizing = this.doFinalize(m);
    return m.finalizing;
  }

  private async doFinalize(m: CallMedia): Promise<CallArtifacts> {
    const dir = join(this.o.dataDir, 'calls', SAFE(m.callId));
    await mkdir(dir, { recursive: true });
    let mediaStats: CallMediaStats | null = null;
    let analytics: unknown = null;
    let timeline: unknown = null;
    const media = m.mediaId !== null ? callMediaEnd(m.mediaId, this.o.media, this.o.ingress) : undefined;
    if (media) {
      try {
        mediaStats = await media.end();
      } catch (err) {
        this.log.warn({ err, callId: m.callId }, 'ending the call media failed');
      }
      analytics = await readJson(join(media.scratchDir, ANALYTICS_FILE));
      timeline = await readJson(join(media.scratchDir, TIMELINE_FILE));
      await rm(media.scratchDir, { recursive: true, force: true });
      media.forget();
    }
    const label = (id: string): string | null => this.label(m, id);
    const files: string[] = [];
    const write = async (name: string, body: string): Promise<void> => {
      await writeFile(join(dir, name), body);
      files.push(join(dir, name));
    };
    const talkMsBySpeaker: Record<string, number> = {};
    if (analytics !== null) {
      const a = analytics as { participants?: Array<{ sourceId: string; talkMs: number }> };
      for (const p of a.participants ?? []) {
        (p as Record<string, unknown>)['speaker'] = label(p.sourceId);
        talkMsBySpeaker[label(p.sourceId) ?? p.sourceId] = (talkMsBySpeaker[label(p.sourceId) ?? p.sourceId] ?? 0) + p.talkMs;
      }
      await write('analytics.json', JSON.stringify(analytics, null, 2));
      try {
        this.o.speech?.saveAnalytics(m.callId, analytics as object);
      } catch (err) {
        this.log.warn({ err, callId: m.callId }, 'storing analytics failed');
      }
    }
    if (timeline !== null) {
      const t = timeline as { segments?: Array<{ sourceId: string }> };
      for (const s of t.segments ?? []) (s as Record<string, unknown>)['speaker'] = label(s.sourceId);
      await write('timeline.json', JSON.stringify(timeline, null, 2));
    }
    if (m.mode === 'app') {
      const doc = transcriptToJson(m.callId, m.transcript);
      await write('transcript.json', JSON.stringify({ ...doc, lines: doc.lines.map((l) => ({ ...l, speaker: label(l.sourceId) })) }, null, 2));
      await write('transcript.vtt', transcriptToWebVtt(m.transcript, { speakerLabel: (id) => label(id) ?? id }));
    }
    const view = this.o.signaling.registry.get(m.callId);
    const recordings = await this.recordings(m.callId).catch(() => []);
    await write(
      'call.json',
      JSON.stringify(
        {
          callId: m.callId,
          mediaMode: m.mode,
          state: view?.state ?? null,
          createdAt: view?.createdAt ?? null,
          endedAt: view?.updatedAt ?? null,
          termination: view?.termination ?? null,
          speakers: this.speakerList(m),
          recordings: recordings.map((r) => ({ ...r, path: this.o.recordDir !== undefined && m.mediaId !== null ? join(this.o.recordDir, SAFE(m.mediaId), r.file) : null })),
          media: mediaStats ? { ticks: mediaStats.ticks, mediaTimeMs: mediaStats.mediaTimeMs, encodes: mediaStats.encodes, clock: mediaStats.clock, stages: { tick: { p50Us: mediaStats.stages.tick.p50Us, p99Us: mediaStats.stages.tick.p99Us, maxUs: mediaStats.stages.tick.maxUs } } } : null,
        },
        null,
        2,
      ),
    );
    const artifacts: CallArtifacts = { callId: m.callId, dir, files, recordings, analytics, talkMsBySpeaker, transcript: [...m.transcript], mediaStats };
    m.artifacts = artifacts;
    this.emitWorker({ type: 'call.artifacts', callId: m.callId, dir, files, at: new Date().toISOString() });
    for (const cb of this.finalized.get(key(m.callId)) ?? []) cb(artifacts);
    this.finalized.delete(key(m.callId));
    this.prune(m.callId);
    this.log.info({ callId: m.callId, dir, files: files.length }, 'call artifacts written');
    return artifacts;
  }

  /** Drops per-call state the registry no longer lists (it keeps a bounded number of ended calls). */
  private prune(endedCallId: string): void {
    this.rosterSources.delete(key(endedCallId));
    this.joinOrder.delete(key(endedCallId));
    for (const [k, m] of this.calls) {
      if (m.artifacts === null || this.o.signaling.registry.get(m.callId) !== undefined) continue;
      this.calls.delete(k);
      if (m.mediaId !== null) this.mediaToCall.delete(m.mediaId);
    }
  }

  /** Ends every call's media (shutdown). */
  async closeAll(): Promise<void> {
    await Promise.all([...this.calls.values()].filter((m) => !m.finalizing && m.mediaId !== null).map((m) => this.o.media.close(m.mediaId!).catch(() => undefined)));
  }
}

async function readJson(file: string): Promise<unknown> {
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return null;
  }
}
