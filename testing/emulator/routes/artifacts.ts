import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { requireRole } from '../graph-auth.js';
import { badRequest, notFound } from '../graph-error.js';
import type { EmuArtifact, MeetingArtifacts } from '../meeting-artifacts.js';
import { transcriptVtt } from '../meeting-artifacts.js';
import type { MeetingStore } from '../meetings.js';
import type { EmuMeeting, Json } from '../state.js';

const ATTENDANCE = ['OnlineMeetingArtifact.Read.All'];
const TRANSCRIPTS = ['OnlineMeetingTranscript.Read.All'];
const RECORDINGS = ['OnlineMeetingRecording.Read.All'];

type P = { userId: string; meetingId: string; itemId?: string };

/**
 * onlineMeetings/{id}/attendanceReports (+ attendanceRecords), transcripts and recordings (+ their
 * content), and getAllTranscripts / getAllRecordings (served through getAllArtifacts, called by the
 * meeting routes, whose `{meetingId}` segment the function call occupies).
 */
export function registerArtifactRoutes(app: FastifyInstance, meetings: MeetingStore, artifacts: MeetingArtifacts, graphUrl: string): void {
  const meetingOf = (req: FastifyRequest<{ Params: P }>): EmuMeeting => {
    const m = meetings.get(req.params.meetingId);
    if (!m || m.organizerId !== req.params.userId) throw notFound(`Online meeting '${req.params.meetingId}' was not found.`);
    return m;
  };
  const ctx = (req: FastifyRequest<{ Params: P }>, what: string): string => `${graphUrl}/v1.0/$metadata#users('${req.params.userId}')/onlineMeetings('${req.params.meetingId}')/${what}`;
  const base = '/users/:userId/onlineMeetings/:meetingId';

  app.get<{ Params: P }>(`${base}/attendanceReports`, async (req) => {
    requireRole(req, ...ATTENDANCE);
    const m = meetingOf(req);
    return { '@odata.context': ctx(req, 'attendanceReports'), value: artifacts.reportsOf(m.id).map((r) => artifacts.reportResource(r, false)) };
  });
  app.get<{ Params: P; Querystring: { $expand?: string } }>(`${base}/attendanceReports/:itemId`, async (req) => {
    requireRole(req, ...ATTENDANCE);
    const r = artifacts.reportsOf(meetingOf(req).id).find((x) => x.id === req.params.itemId);
    if (!r) throw notFound(`attendanceReport '${req.params.itemId}' was not found.`);
    const expand = req.query.$expand;
    if (expand !== undefined && expand !== 'attendanceRecords') throw badRequest(`Could not find a property named '${expand}' to expand.`);
    return { '@odata.context': `${ctx(req, 'attendanceReports')}(attendanceRecords())/$entity`, ...artifacts.reportResource(r, expand === 'attendanceRecords') };
  });
  app.get<{ Params: P }>(`${base}/attendanceReports/:itemId/attendanceRecords`, async (req) => {
    requireRole(req, ...ATTENDANCE);
    const r = artifacts.reportsOf(meetingOf(req).id).find((x) => x.id === req.params.itemId);
    if (!r) throw notFound(`attendanceReport '${req.params.itemId}' was not found.`);
    return { '@odata.context': ctx(req, `attendanceReports('${r.id}')/attendanceRecords`), value: r.records };
  });

  for (const [kind, roles] of [['transcript', TRANSCRIPTS], ['recording', RECORDINGS]] as const) {
    const find = (req: FastifyRequest<{ Params: P }>): EmuArtifact => {
      const a = artifacts.artifactsOf(meetingOf(req).id, kind).find((x) => x.id === req.params.itemId);
      if (!a) throw notFound(`${kind} '${req.params.itemId}' was not found.`);
      return a;
    };
    app.get<{ Params: P }>(`${base}/${kind}s`, async (req) => {
      requireRole(req, ...roles);
      const m = meetingOf(req);
      return { '@odata.context': ctx(req, `${kind}s`), value: artifacts.artifactsOf(m.id, kind).map((a) => artifacts.resource(a, graphUrl, req.params.userId)) };
    });
    app.get<{ Params: P }>(`${base}/${kind}s/:itemId`, async (req) => {
      requireRole(req, ...roles);
      return { '@odata.context': `${ctx(req, `${kind}s`)}/$entity`, ...artifacts.resource(find(req), graphUrl, req.params.userId) };
    });
    app.get<{ Params: P; Querystring: { $format?: string } }>(`${base}/${kind}s/:itemId/content`, async (req, reply: FastifyReply) => {
      requireRole(req, ...roles);
      const a = find(req);
      if (kind === 'transcript') {
        const format = req.query.$format ?? 'text/vtt';
        if (format !== 'text/vtt') throw badRequest(`Unsupported $format '${format}': the emulator serves text/vtt.`);
        return reply.header('content-type', 'text/vtt').send(transcriptVtt(a));
      }
      return reply.header('content-type', 'video/mp4').send(await artifacts.recordingContent(a));
    });
  }
}

/** getAllTranscripts(meetingOrganizerUserId='…',startDateTime=…,endDateTime=…) and getAllRecordings(…). */
export function getAllArtifacts(fn: string, userId: string, artifacts: MeetingArtifacts, graphUrl: string, roles: readonly string[]): Json | undefined {
  const m = /^getAll(Transcripts|Recordings)\((.*)\)$/.exec(fn);
  if (!m) return undefined;
  const kind = m[1] === 'Transcripts' ? 'transcript' : 'recording';
  const need = kind === 'transcript' ? TRANSCRIPTS : RECORDINGS;
  if (!need.some((r) => roles.includes(r))) return { forbidden: need.join(', ') };
  const args = new Map<string, string>();
  for (const part of m[2]!.split(',')) {
    const kv = /^\s*(\w+)\s*=\s*'?([^']*)'?\s*$/.exec(part);
    if (kv) args.set(kv[1]!, kv[2]!);
  }
  const organizer = args.get('meetingOrganizerUserId');
  if (organizer === undefined) throw badRequest('meetingOrganizerUserId is required.');
  if (organizer !== userId) throw badRequest('meetingOrganizerUserId must be the user of the request path.');
  const date = (k: string): Date | undefined => {
    const v = args.get(k);
    if (v === undefined) return undefined;
    const d = new Date(v);
    if (Number.isNaN(d.getTime())) throw badRequest(`${k} is not a date-time.`);
    return d;
  };
  const list = artifacts.allOf(userId, kind, date('startDateTime'), date('endDateTime'));
  return { '@odata.context': `${graphUrl}/v1.0/$metadata#Collection(microsoft.graph.call${kind === 'transcript' ? 'Transcript' : 'Recording'})`, value: list.map((a) => artifacts.resource(a, graphUrl, userId)) };
}
