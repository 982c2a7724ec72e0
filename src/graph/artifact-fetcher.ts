/**
 * After a meeting mediabot joined: fetch Teams' attendance report and transcript of that call
 * once they are available (Graph makes them minutes after the meeting), and store them beside
 * mediabot's own outputs (MEDIABOT_FETCH_MEETING_ARTIFACTS=on, or per call).
 *
 *   const got = await fetchMeetingArtifacts(graph.forTenant(tid), { joinWebUrl, callId, dir });
 *   // got: { meetingId, attendance: { path, records } | null, transcript: { path, id } | null }
 *
 * The meeting is found from the join URL (organizer = its Oid, tenant = its Tid); the artifacts are
 * the ones whose callId is the bot's call (a meeting may have been joined several times).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GraphClient } from './client.js';
import { invalidArgument, isGraphError } from './errors.js';
import { parseJoinUrl } from './join-url.js';

export interface FetchArtifactsOptions {
  /** The long Teams join URL the bot joined with (it names the organizer and tenant). */
  joinWebUrl: string;
  /** The bot's call id: the transcript of this call is the one taken. */
  callId: string;
  /** Where to write attendance.json and transcript.vtt. */
  dir: string;
  /** Other file names (beside files of the same names in `dir`). */
  names?: { attendance?: string; transcript?: string };
  /** How long to keep asking (Graph takes minutes); default 30 min. */
  waitMs?: number;
  /** Between attempts; default 30 s. */
  pollMs?: number;
  /** Stop early (the call's worker is draining). */
  signal?: AbortSignal;
}

export interface FetchedArtifacts {
  meetingId: string;
  organizerId: string;
  attendance: { path: string; reportId: string; records: number } | null;
  transcript: { path: string; id: string } | null;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });

/** Missing artifacts are 404 until Graph has them; anything else (403: permission) is final. */
function notYet(err: unknown): boolean {
  return isGraphError(err) && err.status === 404;
}

export async function fetchMeetingArtifacts(graph: GraphClient, o: FetchArtifactsOptions): Promise<FetchedArtifacts> {
  const parsed = parseJoinUrl(o.joinWebUrl);
  if (parsed.kind !== 'organizer') throw invalidArgument('fetching meeting artifacts needs the long join URL (it names the organizer)');
  const organizerId = parsed.meetingInfo.organizer.user.id;
  const owner = { userId: organizerId };
  const meeting = await graph.meetings.getByJoinWebUrl(o.joinWebUrl, owner);
  if (!meeting?.id) throw invalidArgument(`no online meeting of organizer ${organizerId} has this join URL`);
  const meetingId = meeting.id;
  const out: FetchedArtifacts = { meetingId, organizerId, attendance: null, transcript: null };
  const deadline = Date.now() + (o.waitMs ?? 30 * 60_000);
  await mkdir(o.dir, { recursive: true });
  for (;;) {
    if (out.attendance === null) {
      try {
        const reports = await graph.artifacts.attendanceReports.list(meetingId, owner);
        const latest = reports.at(-1);
        if (latest?.id) {
          const report = await graph.artifacts.attendanceReports.get(meetingId, latest.id, { ...owner, records: true });
          const path = join(o.dir, o.names?.attendance ?? 'attendance.json');
          await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
          out.attendance = { path, reportId: latest.id, records: report.attendanceRecords?.length ?? 0 };
        }
      } catch (err) {
        if (!notYet(err)) throw err;
      }
    }
    if (out.transcript === null) {
      try {
        const mine = (await graph.artifacts.transcripts.list(meetingId, owner)).find((t) => t.callId === o.callId);
        if (mine?.id) {
          const path = join(o.dir, o.names?.transcript ?? 'transcript.vtt');
          await writeFile(path, await graph.artifacts.transcripts.content(meetingId, mine.id, owner));
          out.transcript = { path, id: mine.id };
        }
      } catch (err) {
        if (!notYet(err)) throw err;
      }
    }
    if ((out.attendance !== null && out.transcript !== null) || Date.now() >= deadline || o.signal?.aborted) return out;
    await sleep(Math.min(o.pollMs ?? 30_000, Math.max(0, deadline - Date.now())), o.signal);
  }
}
