/**
 * The worker's call service: what the operator API, the demo and incoming calls use. A facade over
 * one module per job: call control (control.ts), media id ↔ call id (media-links.ts), speakers
 * (speakers.ts, live-state.ts), prompts (prompt-playback.ts), transcripts (transcripts.ts), the
 * artifacts written when a call ends (artifacts.ts), Teams' meeting artifacts fetched after a
 * meeting (meeting-artifacts.ts) and the operator's queries (queries.ts).
 */
import type { MediabotEvent } from '../events/bus.js';
import type { WorkerEvent } from '../events/live.js';
import type { TranscriptLine } from '../media/hooks/export.js';
import type { CallView } from '../signaling/registry.js';
import { MediabotError, isMediabotError } from '../errors.js';
import { Emitter } from '../util/emitter.js';
import { CallArtifactsWriter } from './artifacts.js';
import { CallTable } from './call-table.js';
import { CallControl } from './control.js';
import { parseLeaveOverride, type LeaveOverride } from './leave/input.js';
import { LeaveWatcher } from './leave/watcher.js';
import { LEAVE_DEFAULTS, type LeaveSettings } from '../config/leave-settings.js';
import { trackLiveState } from './live-state.js';
import { MediaLinks } from './media-links.js';
import { MeetingArtifactsFetcher, callsDirOf, checkMeetingArtifactsSetting, type MeetingArtifactsView } from './meeting-artifacts.js';
import { PromptPlayback } from './prompt-playback.js';
import { CallQueries } from './queries.js';
import { Speakers } from './speakers.js';
import { Transcripts } from './transcripts.js';
import type { CallArtifacts, CallServiceOptions, JoinCallInput, MediaMode, OperatorParticipant, PlaceCallInput, RecordingEntry, SpeakerInfo } from './types.js';

export type * from './types.js';

export class CallService {
  private readonly table: CallTable;
  private readonly workerEvents: Emitter<WorkerEvent>;
  private readonly links: MediaLinks;
  private readonly control: CallControl;
  private readonly speakerMap: Speakers;
  private readonly prompts: PromptPlayback;
  private readonly transcripts: Transcripts;
  private readonly files: CallArtifactsWriter;
  private readonly queries: CallQueries;
  private readonly admission: NonNullable<CallServiceOptions['admission']>;
  private readonly leave: LeaveWatcher;
  private readonly teams: MeetingArtifactsFetcher;
  private readonly registry: CallServiceOptions['signaling']['registry'];

  constructor(o: CallServiceOptions) {
    this.admission = o.admission ?? { admit: (place) => place() };
    const log = o.logger;
    const registry = (this.registry = o.signaling.registry);
    const table = (this.table = new CallTable(registry));
    this.workerEvents = new Emitter((err) => log.warn({ err }, 'worker event listener failed'));
    const emit = (e: WorkerEvent): void => this.workerEvents.emit(e);
    this.links = new MediaLinks(o.bus);
    this.speakerMap = new Speakers({ registry, table, clientId: o.clientId, emit });
    this.control = new CallControl(o, table, this.links);
    this.prompts = new PromptPlayback(o, table);
    this.transcripts = new Transcripts(table, this.speakerMap);
    this.files = new CallArtifactsWriter(o, table, this.links, this.speakerMap, emit);
    this.queries = new CallQueries(table, this.speakerMap);
    const ma = o.meetingArtifacts;
    this.teams = new MeetingArtifactsFetcher({
      graph: o.graph,
      callsDir: callsDirOf(o.dataDir),
      defaultOn: ma?.defaultOn ?? false,
      tenantId: o.tenantId,
      emit,
      logger: log.child({ component: 'meeting-artifacts' }),
      ...(ma?.callTenant !== undefined ? { callTenant: ma.callTenant } : {}),
      ...(ma?.waitMs !== undefined ? { waitMs: ma.waitMs } : {}),
      ...(ma?.pollMs !== undefined ? { pollMs: ma.pollMs } : {}),
    });
    this.workerEvents.on((e) => {
      if (e.type === 'call.artifacts') this.teams.callArtifactsWritten(e.callId, e.dir);
    });

    registry.use((item) => this.speakerMap.onNotification(item));
    registry.onStateChange((call) => {
      if (call.state === 'terminated') void this.files.finalize(call.id).catch((err: unknown) => log.error({ err, callId: call.id }, 'finalizing the call failed'));
    });
    o.bus.on(trackLiveState(table, this.speakerMap));
    this.leave = new LeaveWatcher({
      registry,
      bus: o.bus,
      defaults: o.leave ?? LEAVE_DEFAULTS,
      isSelf: (kind, id) => this.speakerMap.isBot(kind, id),
      hearsMedia: (callId) => table.find(callId)?.mode === 'app',
      isOwnSource: (callId, sourceId) => table.find(callId)?.promptSources.has(sourceId) ?? false,
      hangUp: (callId) => this.control.hangUp(callId),
      logger: log.child({ component: 'leave-rules' }),
    });
  }

  /** The service's own events (speaker mapping, finished artifacts); returns the unsubscribe function. */
  onWorkerEvent(listener: (e: WorkerEvent) => void): () => void {
    return this.workerEvents.on(listener);
  }

  /** Feeds a media event from the media threads (callId = media id) into the bus with the Graph call id. */
  ingestMediaEvent(e: MediabotEvent): void {
    this.links.ingest(e);
  }

  // ------------------------------------------------------------------ control

  /** Joins a meeting; `leave` overrides the leave rules' defaults for this call (docs/leave-rules.md). */
  async join(input: JoinCallInput): Promise<CallView> {
    const leave = parseLeaveOverride(input?.leave);
    checkMeetingArtifactsSetting(input ?? {});
    const view = await this.admission.admit(() => this.control.join(input));
    this.teams.joinedMeeting(view.id, input);
    // A call that ended before join() returned already has its artifacts.
    const written = this.files.artifacts(view.id);
    if (written) this.teams.callArtifactsWritten(view.id, written.dir);
    this.leave.watch(view.id, leave);
    return view;
  }

  async place(input: PlaceCallInput): Promise<CallView> {
    const leave = parseLeaveOverride(input?.leave);
    checkMeetingArtifactsSetting({ ...(input?.settings !== undefined ? { settings: input.settings } : {}) });
    const view = await this.admission.admit(() => this.control.place(input));
    this.leave.watch(view.id, leave);
    return view;
  }

  /** The leave rules a call runs with (null for a call they do not watch, such as an ended one). */
  leaveSettings(callId: string): LeaveSettings | null {
    return this.leave.settingsOf(callId) ?? null;
  }

  answerMedia(callId: string): Promise<{ blob: string }> {
    return this.control.answerMedia(callId);
  }

  ingressCallStarted(info: { callId: string; adapter: string }): void {
    this.control.ingressCallStarted(info);
  }

  /** The media sidecar said which roster participant each media source (MSI) of a call is. */
  ingressSourceMap(mediaId: string, entries: Array<{ sourceId: string; participantId: string; displayName: string | null }>): void {
    const callId = this.links.callIdOf(mediaId);
    const m = callId === undefined ? undefined : this.table.find(callId);
    if (m) this.speakerMap.onSourceMap(m, entries);
  }

  ingressCallEnded(info: { callId: string; reason: string }): void {
    this.control.ingressCallEnded(info);
  }

  hangUp(callId: string): Promise<void> {
    return this.control.hangUp(callId);
  }

  mute(callId: string, muted: boolean): Promise<{ operationId: string | null }> {
    return this.control.mute(callId, muted);
  }

  play(callId: string, input: { url?: string; text?: string; voice?: string }): Promise<{ via: 'media' | 'graph'; promptUrl: string | null; durationMs: number }> {
    return this.prompts.play(callId, input);
  }

  // ------------------------------------------------------------------ queries

  mediaMode(callId: string): MediaMode | null {
    return this.queries.mediaMode(callId);
  }

  speakers(callId: string): SpeakerInfo[] {
    return this.queries.speakers(callId);
  }

  participants(callId: string): OperatorParticipant[] {
    return this.queries.participants(callId);
  }

  analytics(callId: string): unknown {
    return this.queries.analytics(callId);
  }

  transcript(callId: string): { callId: string; lines: Array<TranscriptLine & { speaker: string | null }> } {
    return this.transcripts.json(callId);
  }

  transcriptVtt(callId: string): string {
    return this.transcripts.vtt(callId);
  }

  recordings(callId: string): Promise<RecordingEntry[]> {
    return this.files.recordings(callId);
  }

  recordingPath(callId: string, file: string): Promise<string> {
    return this.files.recordingPath(callId, file);
  }

  artifacts(callId: string): CallArtifacts | null {
    return this.files.artifacts(callId);
  }

  /** Teams' attendance report and transcript of a meeting call; MEDIABOT_NOT_FOUND before they were fetched. */
  meetingArtifacts(callId: string): Promise<MeetingArtifactsView> {
    // The folder is named by the id as Graph spelled it; ids are case-insensitive.
    const view = this.registry.get(callId);
    return this.teams.read(view?.id ?? callId).catch((err: unknown) => {
      if (view === undefined && isMediabotError(err) && err.code === 'MEDIABOT_NOT_FOUND') throw new MediabotError('MEDIABOT_CALL_NOT_FOUND', `no call with id ${callId}`);
      throw err;
    });
  }

  whenFinalized(callId: string, timeoutMs?: number): Promise<CallArtifacts> {
    return this.files.whenFinalized(callId, timeoutMs);
  }

  /** For deleting a call's data: `live` while it is up, `writing` while its artifacts are being written, else null. */
  dataActivity(callId: string): 'live' | 'writing' | null {
    const view = this.registry.get(callId);
    if (view !== undefined && view.state !== 'terminated') return 'live';
    if (this.files.writing(callId)) return 'writing';
    // Ended, with artifacts not written yet and no finalize started: about to be written.
    const m = this.table.find(callId);
    if (view !== undefined && m !== undefined && m.artifacts === null && m.finalizing === null) return 'writing';
    return null;
  }

  /** The media ids the service knows for a call (they name its recordings folders). */
  mediaIdsOf(callId: string): string[] {
    const m = this.table.find(callId);
    return m?.mediaId ? [m.mediaId] : [];
  }

  /**
   * Forgets an ended call whose data is being deleted: its fetch of Teams' artifacts is stopped,
   * its media state, speaker mapping and registry entry dropped (it is then unknown: 404).
   * True when anything was held.
   */
  async forgetCall(callId: string): Promise<boolean> {
    const fetching = await this.teams.cancel(callId);
    const m = this.table.forget(callId);
    if (m?.mediaId) this.links.unlink(m.mediaId);
    this.speakerMap.forget(callId);
    const listed = this.registry.forget(callId);
    return fetching || m !== undefined || listed;
  }

  /** Calls whose artifacts are not written yet (live, or ending): what a drain waits for. */
  unfinalizedCallIds(): string[] {
    return [...this.table.all()].filter((m) => m.artifacts === null).map((m) => m.callId);
  }

  /** Ends every call's media (shutdown). */
  async closeAll(): Promise<void> {
    this.leave.close();
    await Promise.all([this.files.closeAll(), this.teams.close()]);
  }
}
