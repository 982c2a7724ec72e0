/**
 * Teams' own artifacts of a meeting the bot joined: once the call's own artifacts are written
 * (`call.artifacts`), and when MEDIABOT_FETCH_MEETING_ARTIFACTS is on or the call asked for it
 * (settings.fetchMeetingArtifacts), the attendance report and Teams' transcript of the bot's call
 * are fetched in the background (Graph has them minutes after the meeting) into the call's folder
 * as teams-attendance.json and teams-transcript.vtt, and `call.meetingArtifacts` is emitted.
 * The wait is bounded, and closing aborts it without waiting more than a few seconds.
 */
import { join } from 'node:path';
import type { WorkerEvent } from '../events/live.js';
import { fetchMeetingArtifacts, type FetchedArtifacts } from '../graph/artifact-fetcher.js';
import type { GraphClient } from '../graph/client.js';
import { parseJoinUrl } from '../graph/join-url.js';
import { MediabotError } from '../errors.js';
import type { Logger } from '../logger.js';
import { openRegularFileUnder, resolveUnder } from '../util/safe-path.js';
import { SAFE, badRequest } from './call-table.js';
import type { CallSettings } from './call-settings.js';

/** The files' names in `<dataDir>/calls/<callId>/`, apart from mediabot's own transcript files. */
export const TEAMS_ATTENDANCE_FILE = 'teams-attendance.json';
export const TEAMS_TRANSCRIPT_FILE = 'teams-transcript.vtt';

/** How long closing waits for fetches it aborted (a request in flight finishing). */
export const MEETING_ARTIFACTS_CLOSE_WAIT_MS = 3_000;

/** Teams' artifacts of a call as the operator API answers them. */
export interface MeetingArtifactsView {
  /** The attendance report with its attendanceRecords (Graph's shape), or null when not fetched. */
  attendance: unknown;
  /** Teams' transcript of the bot's call (WebVTT), or null when not fetched. */
  transcriptVtt: string | null;
}

export interface MeetingArtifactsOptions {
  graph: GraphClient;
  /** Where the calls' folders are (`<dataDir>/calls`). */
  callsDir: string;
  /** MEDIABOT_FETCH_MEETING_ARTIFACTS: fetch for every meeting call unless the call says otherwise. */
  defaultOn: boolean;
  /** The tenant a call is in (the Graph client's CallTenants), else the join URL's. */
  callTenant?: (callId: string) => string | undefined;
  /** The tenant when neither knows (MEDIABOT_TENANT_ID). */
  tenantId: string | undefined;
  /** How long to keep asking Graph after the call (default: the fetcher's, 30 min). */
  waitMs?: number;
  /** Between attempts (default: the fetcher's, 30 s). */
  pollMs?: number;
  emit: (e: WorkerEvent) => void;
  logger: Logger;
}

interface Joined {
  joinWebUrl: string;
  tenantId: string | undefined;
  wanted: boolean | undefined;
}

const key = (id: string): string => id.toLowerCase();

/**
 * Refuses a per-call `fetchMeetingArtifacts: true` that cannot be honoured: a placed call (no
 * meeting) or a /meet/<id> link (it does not name the organizer whose meeting holds the artifacts).
 */
export function checkMeetingArtifactsSetting(input: { joinWebUrl?: string; settings?: CallSettings }): void {
  const wanted = input.settings?.fetchMeetingArtifacts;
  if (wanted === undefined) return;
  if (typeof wanted !== 'boolean') throw badRequest('fetchMeetingArtifacts must be true or false');
  if (!wanted) return;
  if (input.joinWebUrl === undefined) throw badRequest('fetchMeetingArtifacts needs a meeting: join one by joinWebUrl');
  let kind: string | undefined;
  try {
    kind = parseJoinUrl(input.joinWebUrl).kind;
  } catch {
    return; // the join itself refuses the URL with MEDIABOT_JOIN_URL_INVALID
  }
  if (kind !== 'organizer') throw badRequest('fetchMeetingArtifacts needs the long join URL (…/l/meetup-join/…, it names the organizer); a /meet/<id> link does not');
}

export class MeetingArtifactsFetcher {
  private readonly joined = new Map<string, Joined>();
  private readonly running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private closed = false;
  /** Kept at most (oldest dropped): an entry is needed only until its call ends. */
  private static readonly MAX_JOINED = 10_000;

  constructor(private readonly o: MeetingArtifactsOptions) {}

  /** A call joined by its join URL: remembered until its artifacts are written. */
  joinedMeeting(callId: string, input: { joinWebUrl: string; tenantId?: string; settings?: CallSettings }): void {
    this.joined.set(key(callId), { joinWebUrl: input.joinWebUrl, tenantId: input.tenantId, wanted: input.settings?.fetchMeetingArtifacts });
    if (this.joined.size > MeetingArtifactsFetcher.MAX_JOINED) this.joined.delete(this.joined.keys().next().value!);
  }

  /** The call's own artifacts were written in `dir`: start fetching Teams' when this call should. */
  callArtifactsWritten(callId: string, dir: string): void {
    const k = key(callId);
    const j = this.joined.get(k);
    this.joined.delete(k);
    if (!j || this.closed || this.running.has(k) || !(j.wanted ?? this.o.defaultOn)) return;
    let parsed: ReturnType<typeof parseJoinUrl>;
    try {
      parsed = parseJoinUrl(j.joinWebUrl);
    } catch {
      return;
    }
    if (parsed.kind !== 'organizer') {
      this.o.logger.info({ callId }, 'meeting artifacts not fetched: the call joined by a /meet/<id> link, which does not name the organizer');
      return;
    }
    const tenantId = this.o.callTenant?.(callId) ?? parsed.tenantId ?? j.tenantId ?? this.o.tenantId;
    const graph = tenantId !== undefined ? this.o.graph.forTenant(tenantId) : this.o.graph;
    const abort = new AbortController();
    const done = this.fetch(graph, callId, j.joinWebUrl, dir, abort.signal).finally(() => this.running.delete(k));
    this.running.set(k, { abort, done });
  }

  private async fetch(graph: GraphClient, callId: string, joinWebUrl: string, dir: string, signal: AbortSignal): Promise<void> {
    const log = this.o.logger;
    let got: FetchedArtifacts;
    try {
      got = await fetchMeetingArtifacts(graph, {
        joinWebUrl,
        callId,
        dir,
        signal,
        names: { attendance: TEAMS_ATTENDANCE_FILE, transcript: TEAMS_TRANSCRIPT_FILE },
        ...(this.o.waitMs !== undefined ? { waitMs: this.o.waitMs } : {}),
        ...(this.o.pollMs !== undefined ? { pollMs: this.o.pollMs } : {}),
      });
    } catch (err) {
      log.warn({ err, callId }, 'fetching the meeting\'s attendance report and transcript failed');
      return;
    }
    const files = [got.attendance?.path, got.transcript?.path].filter((p): p is string => p !== undefined);
    if (got.attendance === null || got.transcript === null) {
      log.warn({ callId, meetingId: got.meetingId, attendance: got.attendance !== null, transcript: got.transcript !== null, aborted: signal.aborted }, 'meeting artifacts incomplete: Graph did not have them in time');
    }
    if (files.length === 0) return;
    log.info({ callId, meetingId: got.meetingId, files }, 'meeting artifacts stored');
    this.o.emit({ type: 'call.meetingArtifacts', callId, meetingId: got.meetingId, files, attendanceRecords: got.attendance?.records ?? null, at: new Date().toISOString() });
  }

  /** True while Teams' artifacts of the call are being fetched. */
  fetching(callId: string): boolean {
    return this.running.has(key(callId));
  }

  /** What was stored for the call; MEDIABOT_NOT_FOUND while neither file exists. */
  async read(callId: string): Promise<MeetingArtifactsView> {
    const attendance = await this.readFile(callId, TEAMS_ATTENDANCE_FILE);
    const transcriptVtt = await this.readFile(callId, TEAMS_TRANSCRIPT_FILE);
    if (attendance === null && transcriptVtt === null) {
      throw new MediabotError('MEDIABOT_NOT_FOUND', this.fetching(callId) ? `Teams' meeting artifacts of call ${callId} are being fetched (Graph makes them some minutes after the meeting)` : `no Teams meeting artifacts for call ${callId}`);
    }
    let report: unknown = null;
    if (attendance !== null) {
      try {
        report = JSON.parse(attendance);
      } catch {
        this.o.logger.warn({ callId }, 'the stored attendance report is not JSON');
      }
    }
    return { attendance: report, transcriptVtt };
  }

  /** The file's text; null when it is missing (or not a regular file inside the calls folder). */
  private async readFile(callId: string, name: string): Promise<string | null> {
    let path: string;
    try {
      path = resolveUnder(this.o.callsDir, SAFE(callId), name);
    } catch {
      return null;
    }
    const opened = await openRegularFileUnder(this.o.callsDir, path).catch(() => null);
    if (opened === null) return null;
    try {
      return await opened.handle.readFile({ encoding: 'utf8' });
    } finally {
      await opened.handle.close().catch(() => undefined);
    }
  }

  /** Forgets a call (its data is being deleted): aborts its fetch and waits for it at most `waitMs`; true when there was one. */
  async cancel(callId: string, waitMs = MEETING_ARTIFACTS_CLOSE_WAIT_MS): Promise<boolean> {
    const k = key(callId);
    const had = this.joined.delete(k);
    const r = this.running.get(k);
    if (!r) return had;
    r.abort.abort();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([r.done, new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
    return true;
  }

  /** Aborts every fetch and waits for them at most `waitMs`. */
  async close(waitMs = MEETING_ARTIFACTS_CLOSE_WAIT_MS): Promise<void> {
    this.closed = true;
    this.joined.clear();
    const all = [...this.running.values()];
    for (const r of all) r.abort.abort();
    if (all.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(all.map((r) => r.done)), new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
  }
}

/** `<dataDir>/calls`, where each call's folder is. */
export const callsDirOf = (dataDir: string): string => join(dataDir, 'calls');
