/**
 * Teams' meeting artifacts (app-only: always for a named organizer, /users/{userId}/onlineMeetings):
 * attendance reports and their records (OnlineMeetingArtifact.Read.All), transcripts with their
 * WebVTT content (OnlineMeetingTranscript.Read.All), recordings with their MP4 content
 * (OnlineMeetingRecording.Read.All), and getAllTranscripts / getAllRecordings across an organizer's
 * meetings. Each needs an application access policy granting the app access to the organizer.
 */
import type { CallRecording, CallTranscript, MeetingAttendanceReport, AttendanceRecord } from '@microsoft/microsoft-graph-types';
import type { GraphRequester } from './http.js';
import { invalidArgument, segment } from './errors.js';
import { APP_ONLY_ME } from './presence.js';
import { entity, page, rejectingApi, type Page } from './result.js';

export interface ArtifactOwner {
  /** The meeting organizer's user id (required: app-only tokens have no /me). */
  userId: string;
}

const MAX_PAGES = 100;

function meetingPath(meetingId: string, o: ArtifactOwner | undefined): string {
  if (o?.userId === undefined) throw invalidArgument(`meeting artifacts: ${APP_ONLY_ME}; pass { userId } (the organizer)`);
  return `/users/${segment('userId', o.userId)}/onlineMeetings/${segment('meetingId', meetingId)}`;
}

function odataDate(name: string, v: Date | string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const s = v instanceof Date ? v.toISOString() : v;
  if (typeof s !== 'string' || Number.isNaN(Date.parse(s))) throw invalidArgument(`${name} must be a Date or an ISO 8601 date-time`);
  return s;
}

/** Every item of a collection, following @odata.nextLink (bounded). */
async function all<T>(http: GraphRequester, path: string): Promise<T[]> {
  const out: T[] = [];
  let next: string | undefined = path;
  for (let i = 0; next !== undefined && i < MAX_PAGES; i++) {
    const p: Page<T> = await page<T>(http, next);
    out.push(...p.value);
    next = p['@odata.nextLink'];
  }
  return out;
}

export interface GetAllOptions extends ArtifactOwner {
  startDateTime?: Date | string;
  endDateTime?: Date | string;
}

function getAllPath(fn: 'getAllTranscripts' | 'getAllRecordings', o: GetAllOptions): string {
  if (o?.userId === undefined) throw invalidArgument(`${fn}: ${APP_ONLY_ME}; pass { userId } (the organizer)`);
  const user = segment('userId', o.userId);
  const args = [`meetingOrganizerUserId='${user}'`];
  const start = odataDate('startDateTime', o.startDateTime);
  const end = odataDate('endDateTime', o.endDateTime);
  if (start !== undefined) args.push(`startDateTime=${start}`);
  if (end !== undefined) args.push(`endDateTime=${end}`);
  return `/users/${user}/onlineMeetings/${fn}(${args.join(',')})`;
}

export function createMeetingArtifactsApi(http: GraphRequester) {
  return rejectingApi({
    attendanceReports: {
      list: (meetingId: string, o: ArtifactOwner): Promise<MeetingAttendanceReport[]> => all<MeetingAttendanceReport>(http, `${meetingPath(meetingId, o)}/attendanceReports`),
      /** With `records: true`, `$expand=attendanceRecords` brings the records in the same answer. */
      get: (meetingId: string, reportId: string, o: ArtifactOwner & { records?: boolean }): Promise<MeetingAttendanceReport> =>
        entity<MeetingAttendanceReport>(http, 'GET', `${meetingPath(meetingId, o)}/attendanceReports/${segment('reportId', reportId)}`, undefined, o.records ? { query: { $expand: 'attendanceRecords' } } : {}),
      records: (meetingId: string, reportId: string, o: ArtifactOwner): Promise<AttendanceRecord[]> =>
        all<AttendanceRecord>(http, `${meetingPath(meetingId, o)}/attendanceReports/${segment('reportId', reportId)}/attendanceRecords`),
    },
    transcripts: {
      list: (meetingId: string, o: ArtifactOwner): Promise<CallTranscript[]> => all<CallTranscript>(http, `${meetingPath(meetingId, o)}/transcripts`),
      get: (meetingId: string, transcriptId: string, o: ArtifactOwner): Promise<CallTranscript> =>
        entity<CallTranscript>(http, 'GET', `${meetingPath(meetingId, o)}/transcripts/${segment('transcriptId', transcriptId)}`),
      /** The transcript as WebVTT text. */
      content: async (meetingId: string, transcriptId: string, o: ArtifactOwner): Promise<string> => {
        const res = await http.request<Buffer>('GET', `${meetingPath(meetingId, o)}/transcripts/${segment('transcriptId', transcriptId)}/content`, undefined, {
          query: { $format: 'text/vtt' },
          headers: { accept: 'text/vtt' },
          responseType: 'buffer',
        });
        return (res.body ?? Buffer.alloc(0)).toString('utf8');
      },
    },
    recordings: {
      list: (meetingId: string, o: ArtifactOwner): Promise<CallRecording[]> => all<CallRecording>(http, `${meetingPath(meetingId, o)}/recordings`),
      get: (meetingId: string, recordingId: string, o: ArtifactOwner): Promise<CallRecording> =>
        entity<CallRecording>(http, 'GET', `${meetingPath(meetingId, o)}/recordings/${segment('recordingId', recordingId)}`),
      /** The recording's bytes (MP4). */
      content: async (meetingId: string, recordingId: string, o: ArtifactOwner): Promise<Buffer> => {
        const res = await http.request<Buffer>('GET', `${meetingPath(meetingId, o)}/recordings/${segment('recordingId', recordingId)}/content`, undefined, {
          headers: { accept: 'video/mp4, */*' },
          responseType: 'buffer',
        });
        return res.body ?? Buffer.alloc(0);
      },
    },
    /** Every transcript of an organizer's meetings in a time window. */
    getAllTranscripts: (o: GetAllOptions): Promise<CallTranscript[]> => all<CallTranscript>(http, getAllPath('getAllTranscripts', o)),
    /** Every recording of an organizer's meetings in a time window. */
    getAllRecordings: (o: GetAllOptions): Promise<CallRecording[]> => all<CallRecording>(http, getAllPath('getAllRecordings', o)),
  });
}

export type MeetingArtifactsApi = ReturnType<typeof createMeetingArtifactsApi>;

/** Subscription resources announcing new transcripts or recordings (tenant-wide, per organizer, per meeting). */
export const artifactSubscriptionResource = {
  allTranscripts: (): string => 'communications/onlineMeetings/getAllTranscripts',
  allRecordings: (): string => 'communications/onlineMeetings/getAllRecordings',
  organizerTranscripts: (userId: string): string => `users/${segment('userId', userId)}/onlineMeetings/getAllTranscripts(meetingOrganizerUserId='${segment('userId', userId)}')`,
  organizerRecordings: (userId: string): string => `users/${segment('userId', userId)}/onlineMeetings/getAllRecordings(meetingOrganizerUserId='${segment('userId', userId)}')`,
  meetingTranscripts: (meetingId: string): string => `communications/onlineMeetings/${segment('meetingId', meetingId)}/transcripts`,
  meetingRecordings: (meetingId: string): string => `communications/onlineMeetings/${segment('meetingId', meetingId)}/recordings`,
};
