import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CallEngine } from '../call-engine.js';
import { operationResource } from '../builders.js';
import { CALL_ROLES, requireRole, rolesOf, tenantOf } from '../graph-auth.js';
import { badRequest, GraphErrorReply } from '../graph-error.js';
import type { EmuCall, EmuOperation } from '../state.js';

type IdParams = { id: string };

/** communications/calls and its participants; `base` is communications/calls or the legacy app/calls. */
export function registerCallRoutes(app: FastifyInstance, engine: CallEngine, graphUrl: string, version: 'v1.0' | 'beta', base: string): void {
  const sendOp = (reply: FastifyReply, call: EmuCall, op: EmuOperation, status = 200): FastifyReply =>
    reply.code(status).header('location', `${graphUrl}/${version}/communications/calls/${call.id}/operations/${op.id}`).send(operationResource(call, op, graphUrl));

  // A call belongs to its tenant: another tenant's token gets Graph's 7505 (tenant mismatch).
  const callOf = (req: FastifyRequest, id: string): EmuCall => {
    const call = engine.get(id);
    if (call.ownerTenantId.toLowerCase() !== tenantOf(req).toLowerCase()) throw new GraphErrorReply(403, '7505', 'Request authorization tenant mismatch.');
    return call;
  };

  app.post(`/${base}`, async (req, reply) => {
    const call = engine.lifecycle.create(req.body, version, rolesOf(req), tenantOf(req));
    return reply.code(201).header('location', `${graphUrl}/${version}/communications/calls/${call.id}`).send(engine.resource(call));
  });

  app.post(`/${base}/logTeleconferenceDeviceQuality`, async (req, reply) => {
    requireRole(req, 'Calls.AccessMedia.All');
    engine.extras.logDeviceQuality(req.body);
    return reply.code(200).send();
  });

  // audioRoutingGroups (v1.0 and beta).
  const groups = `/${base}/:id/audioRoutingGroups`;
  app.get<{ Params: IdParams }>(groups, async (req) => {
    requireRole(req, ...CALL_ROLES);
    const call = callOf(req, req.params.id);
    return { '@odata.context': `${graphUrl}/${version}/$metadata#communications/calls('${call.id}')/audioRoutingGroups`, value: [...call.audioRoutingGroups.values()] };
  });
  app.post<{ Params: IdParams }>(groups, async (req, reply) => {
    requireRole(req, 'Calls.AccessMedia.All');
    return reply.code(201).send(engine.extras.createGroup(callOf(req, req.params.id), req.body));
  });
  app.get<{ Params: IdParams & { gid: string } }>(`${groups}/:gid`, async (req) => {
    requireRole(req, ...CALL_ROLES);
    return engine.extras.group(callOf(req, req.params.id), req.params.gid);
  });
  app.patch<{ Params: IdParams & { gid: string } }>(`${groups}/:gid`, async (req) => {
    requireRole(req, 'Calls.AccessMedia.All');
    return engine.extras.updateGroup(callOf(req, req.params.id), req.params.gid, req.body);
  });
  app.delete<{ Params: IdParams & { gid: string } }>(`${groups}/:gid`, async (req, reply) => {
    requireRole(req, 'Calls.AccessMedia.All');
    engine.extras.deleteGroup(callOf(req, req.params.id), req.params.gid);
    return reply.code(204).send();
  });

  // contentSharingSessions: list and get.
  app.get<{ Params: IdParams }>(`/${base}/:id/contentSharingSessions`, async (req) => {
    requireRole(req, ...CALL_ROLES);
    const call = callOf(req, req.params.id);
    return { '@odata.context': `${graphUrl}/${version}/$metadata#communications/calls('${call.id}')/contentSharingSessions`, value: [...call.contentSharingSessions.values()] };
  });
  app.get<{ Params: IdParams & { sid: string } }>(`/${base}/:id/contentSharingSessions/:sid`, async (req) => {
    requireRole(req, ...CALL_ROLES);
    return engine.extras.session(callOf(req, req.params.id), req.params.sid);
  });

  app.get<{ Params: IdParams }>(`/${base}/:id`, async (req) => {
    requireRole(req, ...CALL_ROLES);
    return engine.resource(callOf(req, req.params.id));
  });

  app.delete<{ Params: IdParams }>(`/${base}/:id`, async (req, reply) => {
    requireRole(req, ...CALL_ROLES);
    engine.lifecycle.hangUp(callOf(req, req.params.id));
    return reply.code(204).send();
  });

  app.get<{ Params: IdParams & { opId: string } }>(`/${base}/:id/operations/:opId`, async (req) => {
    requireRole(req, ...CALL_ROLES);
    const call = callOf(req, req.params.id);
    return operationResource(call, engine.operation(call, req.params.opId), graphUrl);
  });

  app.post<{ Params: IdParams & { action: string } }>(`/${base}/:id/:action`, async (req: FastifyRequest<{ Params: IdParams & { action: string } }>, reply) => {
    requireRole(req, ...CALL_ROLES);
    const call = callOf(req, req.params.id);
    const action = req.params.action.replace(/^microsoft\.graph\./i, '');
    const body = req.body;
    switch (action) {
      case 'answer':
        engine.lifecycle.answer(call, body);
        return reply.code(202).send();
      case 'reject':
        engine.lifecycle.reject(call, body);
        return reply.code(202).send();
      case 'redirect':
        engine.lifecycle.redirect(call, body);
        return reply.code(202).send();
      case 'transfer':
        engine.lifecycle.transfer(call, body);
        return reply.code(202).send();
      case 'keepAlive':
        engine.lifecycle.keepAlive(call);
        return reply.code(200).send();
      case 'mute':
        return sendOp(reply, call, engine.operations.setSelfMute(call, body, true));
      case 'unmute':
        return sendOp(reply, call, engine.operations.setSelfMute(call, body, false));
      case 'changeScreenSharingRole':
        engine.operations.changeScreenSharingRole(call, body);
        return reply.code(202).send();
      case 'updateRecordingStatus':
        return sendOp(reply, call, engine.operations.updateRecordingStatus(call, body));
      case 'addLargeGalleryView':
        return sendOp(reply, call, engine.operations.addLargeGalleryView(call, body), 202);
      case 'playPrompt':
        requireRole(req, 'Calls.Initiate.All', 'Calls.AccessMedia.All');
        return sendOp(reply, call, await engine.operations.playPrompt(call, body));
      case 'recordResponse':
        requireRole(req, 'Calls.AccessMedia.All');
        return sendOp(reply, call, await engine.operations.recordResponse(call, body));
      case 'subscribeToTone':
        requireRole(req, 'Calls.AccessMedia.All');
        return sendOp(reply, call, engine.operations.subscribeToTone(call, body));
      case 'sendDtmfTones':
        return sendOp(reply, call, engine.operations.sendDtmfTones(call, body));
      case 'cancelMediaProcessing':
        return sendOp(reply, call, engine.operations.cancelMediaProcessing(call, body));
      default:
        throw badRequest(`Resource not found for the segment '${req.params.action}'.`);
    }
  });

  app.get<{ Params: IdParams }>(`/${base}/:id/participants`, async (req) => {
    requireRole(req, ...CALL_ROLES);
    const call = callOf(req, req.params.id);
    return {
      '@odata.context': `${graphUrl}/${version}/$metadata#communications/calls('${call.id}')/participants`,
      value: [...call.participants.values()].map((p) => engine.participantJson(call, p, false)),
    };
  });

  app.get<{ Params: IdParams & { pid: string } }>(`/${base}/:id/participants/:pid`, async (req) => {
    requireRole(req, ...CALL_ROLES);
    const call = callOf(req, req.params.id);
    return engine.participantJson(call, engine.participant(call, req.params.pid), true);
  });

  app.delete<{ Params: IdParams & { pid: string } }>(`/${base}/:id/participants/:pid`, async (req, reply) => {
    requireRole(req, ...CALL_ROLES);
    engine.roster.removeParticipant(callOf(req, req.params.id), req.params.pid);
    return reply.code(204).send();
  });

  app.post<{ Params: IdParams }>(`/${base}/:id/participants/invite`, async (req, reply) => {
    requireRole(req, 'Calls.InitiateGroupCall.All', 'Calls.JoinGroupCall.All');
    const call = callOf(req, req.params.id);
    return sendOp(reply, call, engine.roster.invite(call, req.body));
  });

  app.post<{ Params: IdParams }>(`/${base}/:id/participants/muteAll`, async (req, reply) => {
    requireRole(req, ...CALL_ROLES);
    const call = callOf(req, req.params.id);
    return sendOp(reply, call, engine.roster.muteAll(call, req.body));
  });

  app.post<{ Params: IdParams }>(`/${base}/:id/participants/configureMixer`, async (req, reply) => {
    requireRole(req, ...CALL_ROLES);
    const call = callOf(req, req.params.id);
    return sendOp(reply, call, engine.roster.configureMixer(call, req.body));
  });

  app.post<{ Params: IdParams & { pid: string; action: string } }>(`/${base}/:id/participants/:pid/:action`, async (req, reply) => {
    requireRole(req, ...CALL_ROLES);
    const call = callOf(req, req.params.id);
    const action = req.params.action.replace(/^microsoft\.graph\./i, '');
    switch (action) {
      case 'mute':
        return sendOp(reply, call, engine.roster.muteParticipant(call, req.params.pid, req.body));
      case 'startHoldMusic':
        return sendOp(reply, call, engine.roster.holdMusic(call, req.params.pid, req.body, true), 202);
      case 'stopHoldMusic':
        return sendOp(reply, call, engine.roster.holdMusic(call, req.params.pid, req.body, false), 202);
      default:
        throw badRequest(`Resource not found for the segment '${req.params.action}'.`);
    }
  });
}
