import type { FastifyInstance, FastifyRequest } from 'fastify';
import { meetingResource } from '../builders.js';
import { identityOf, requireRole, rolesOf, tenantOf } from '../graph-auth.js';
import type { MeetingArtifacts } from '../meeting-artifacts.js';
import { getAllArtifacts } from './artifacts.js';
import { badRequest, forbidden, notFound } from '../graph-error.js';
import type { MeetingStore, CreateMeetingInput } from '../meetings.js';
import type { EmuMeeting, Json } from '../state.js';

const WRITE = ['OnlineMeetings.ReadWrite.All', 'OnlineMeetings.ReadWrite'];
const READ = ['OnlineMeetings.Read.All', 'OnlineMeetings.ReadWrite.All', 'OnlineMeetings.Read', 'OnlineMeetings.ReadWrite'];

function meetingInput(body: unknown, organizerId: string): CreateMeetingInput {
  if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) throw badRequest('Request body must be an onlineMeeting object.');
  const b = (body ?? {}) as Json;
  const input: CreateMeetingInput = { organizerId };
  for (const k of ['subject', 'startDateTime', 'endDateTime', 'externalId'] as const) {
    const v = b[k];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') throw badRequest(`${k} must be a string.`);
    input[k] = v;
  }
  if (typeof b['participants'] === 'object' && b['participants'] !== null) input.participants = b['participants'] as Json;
  if (typeof b['isBroadcast'] === 'boolean') input.isBroadcast = b['isBroadcast'];
  const jmis = b['joinMeetingIdSettings'];
  if (typeof jmis === 'object' && jmis !== null && (jmis as Json)['isPasscodeRequired'] === true) input.passcodeRequired = true;
  return input;
}

/** /users/{id}/onlineMeetings, /me/onlineMeetings (delegated tokens only) and /communications/onlineMeetings. */
export function registerMeetingRoutes(app: FastifyInstance, meetings: MeetingStore, graphUrl: string, artifacts?: MeetingArtifacts): void {
  // /me is the signed-in user of a delegated token; app tokens never get here (the server answers 400).
  const owner = (req: FastifyRequest): string => {
    const p = req.params as { userId?: string };
    return p.userId ?? identityOf(req)?.userId ?? '';
  };
  const owned = (req: FastifyRequest, id: string): EmuMeeting => {
    const m = meetings.get(id);
    if (!m || m.organizerId !== owner(req)) throw notFound(`Online meeting '${id}' was not found.`);
    return m;
  };

  for (const prefix of ['/users/:userId/onlineMeetings', '/me/onlineMeetings']) {
    app.post(prefix, async (req, reply) => {
      requireRole(req, ...WRITE);
      const m = meetings.create({ ...meetingInput(req.body, owner(req)), tenantId: tenantOf(req) });
      return reply.code(201).send(meetingResource(m, graphUrl, owner(req)));
    });

    app.post(`${prefix}/createOrGet`, async (req, reply) => {
      requireRole(req, ...WRITE);
      const input = meetingInput(req.body, owner(req));
      if (input.externalId === undefined) throw badRequest('externalId is required for createOrGet.');
      const existing = meetings.findByExternalId(owner(req), input.externalId);
      if (existing) return reply.code(200).send(meetingResource(existing, graphUrl, owner(req)));
      return reply.code(201).send(meetingResource(meetings.create({ ...input, tenantId: tenantOf(req) }), graphUrl, owner(req)));
    });

    app.get<{ Querystring: { $filter?: string } }>(prefix, async (req) => {
      requireRole(req, ...READ);
      const filter = req.query.$filter;
      if (filter === undefined) throw badRequest('A $filter on JoinWebUrl or joinMeetingIdSettings/joinMeetingId is required.');
      const byUrl = /^\s*joinWebUrl\s+eq\s+'(.*)'\s*$/i.exec(filter);
      const byId = /^\s*joinMeetingIdSettings\/joinMeetingId\s+eq\s+'([^']*)'\s*$/i.exec(filter);
      let found: EmuMeeting | undefined;
      if (byUrl) found = meetings.findByJoinWebUrl(byUrl[1]!.replace(/''/g, "'"));
      else if (byId) found = meetings.findByJoinMeetingId(byId[1]!);
      else throw badRequest(`Unsupported $filter '${filter}'.`);
      const value = found && found.organizerId === owner(req) ? [meetingResource(found, graphUrl, owner(req))] : [];
      return { '@odata.context': `${graphUrl}/v1.0/$metadata#users('${owner(req)}')/onlineMeetings`, value: value.map(({ ['@odata.context']: _c, ...rest }) => rest) };
    });

    app.get<{ Params: { meetingId: string } }>(`${prefix}/:meetingId`, async (req) => {
      // getAllTranscripts(...) / getAllRecordings(...) occupy the {meetingId} segment.
      if (artifacts && /^getAll(Transcripts|Recordings)\(/.test(req.params.meetingId)) {
        const res = getAllArtifacts(req.params.meetingId, owner(req), artifacts, graphUrl, rolesOf(req));
        if (res && typeof res['forbidden'] === 'string') throw forbidden(`Insufficient privileges to complete the operation. Requires ${String(res['forbidden'])}.`);
        if (res) return res;
      }
      requireRole(req, ...READ);
      return meetingResource(owned(req, req.params.meetingId), graphUrl, owner(req));
    });

    app.patch<{ Params: { meetingId: string } }>(`${prefix}/:meetingId`, async (req) => {
      requireRole(req, ...WRITE);
      return meetingResource(meetings.update(owned(req, req.params.meetingId), req.body), graphUrl, owner(req));
    });

    app.delete<{ Params: { meetingId: string } }>(`${prefix}/:meetingId`, async (req, reply) => {
      requireRole(req, ...WRITE);
      meetings.delete(owned(req, req.params.meetingId).id);
      return reply.code(204).send();
    });
  }

  // Example 1 of onlineMeeting-get: by VTC id, application token only; the docs show a single object.
  app.get<{ Querystring: { $filter?: string } }>('/communications/onlineMeetings', async (req) => {
    requireRole(req, ...READ);
    const m = /^\s*VideoTeleconferenceId\s+eq\s+'([^']*)'\s*$/i.exec(req.query.$filter ?? '');
    if (!m) throw badRequest("Only $filter=VideoTeleconferenceId eq '...' is supported here.");
    const found = meetings.findByVtcId(m[1]!);
    if (!found) throw notFound('No online meeting has that VideoTeleconferenceId.');
    return meetingResource(found, graphUrl, found.organizerId);
  });

  app.get('/communications/onlineMeetings/:meetingId', async () => {
    throw forbidden('Getting an online meeting by id needs a user path (/users/{id}/onlineMeetings/{meetingId}).');
  });
}
