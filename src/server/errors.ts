import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isMediabotError, MediabotError, type MediabotErrorCode } from '../errors.js';

/** HTTP status for each error code the server may answer with. */
const STATUS: Record<string, number> = {
  MEDIABOT_BAD_REQUEST: 400,
  MEDIABOT_NOTIFICATION_INVALID: 400,
  MEDIABOT_UNAUTHORIZED: 401,
  MEDIABOT_CALLBACK_UNAUTHORIZED: 401,
  MEDIABOT_NOT_FOUND: 404,
  MEDIABOT_CALL_NOT_FOUND: 404,
  MEDIABOT_CALL_TERMINATED: 409,
  MEDIABOT_CALL_NOT_ESTABLISHED: 409,
  // /media/acs refuses an upgrade without ACS's token (its plugin answers directly).
  MEDIABOT_INGRESS_UNAUTHORIZED: 401,
  MEDIABOT_BODY_TOO_LARGE: 413,
  MEDIABOT_OPERATION_FAILED: 502,
  MEDIABOT_OPERATION_TIMEOUT: 504,
  MEDIABOT_INTERNAL: 500,
  // Outbound Graph failures surfacing through the operator API.
  MEDIABOT_GRAPH_INVALID_ARGUMENT: 400,
  MEDIABOT_JOIN_URL_INVALID: 400,
  MEDIABOT_GRAPH_HTTP: 502,
  MEDIABOT_GRAPH_AUTH: 502,
  MEDIABOT_GRAPH_BAD_RESPONSE: 502,
  MEDIABOT_GRAPH_UNREACHABLE: 502,
  MEDIABOT_GRAPH_THROTTLED: 503,
  MEDIABOT_GRAPH_UNAVAILABLE: 503,
  // Media set-up for a new call or a prompt: the worker is full, or a part it depends on failed.
  MEDIABOT_RTP_PORTS_EXHAUSTED: 503,
  MEDIABOT_DRAINING: 503,
  MEDIABOT_AT_CAPACITY: 503,
  MEDIABOT_INGRESS_NO_SIDECAR: 503,
  MEDIABOT_INGRESS_SESSION_FAILED: 502,
  MEDIABOT_PROMPT_FAILED: 502,
  // A caller-given URL (one uniform answer whatever the reason).
  MEDIABOT_URL_REFUSED: 400,
  MEDIABOT_ORIGIN_REFUSED: 403,
  MEDIABOT_CALLBACK_REPLAYED: 401,
};

export function statusForCode(code: MediabotErrorCode): number {
  return STATUS[code] ?? 500;
}

/** Maps any error to the one JSON error shape `{"error":{"code","message"}}`. */
export function toHttpError(err: unknown): { status: number; error: MediabotError } {
  if (isMediabotError(err)) {
    const status = (err.details?.['httpStatus'] as number | undefined) ?? statusForCode(err.code);
    return { status, error: err };
  }
  const fe = err as Partial<FastifyError> & { status?: number };
  const status = fe.statusCode ?? fe.status;
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || status === 413) {
    return { status: 413, error: new MediabotError('MEDIABOT_BODY_TOO_LARGE', 'the request body is larger than allowed') };
  }
  if (fe.validation) return { status: 400, error: new MediabotError('MEDIABOT_BAD_REQUEST', fe.message ?? 'the request is invalid') };
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const message = fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? 'the JSON body is empty' : err instanceof SyntaxError || /JSON/i.test(fe.message ?? '') ? 'the body is not valid JSON' : (fe.message ?? 'bad request');
    const code = status === 404 ? 'MEDIABOT_NOT_FOUND' : status === 401 ? 'MEDIABOT_UNAUTHORIZED' : 'MEDIABOT_BAD_REQUEST';
    return { status, error: new MediabotError(code, message) };
  }
  return { status: 500, error: new MediabotError('MEDIABOT_INTERNAL', 'internal error') };
}

export function sendError(reply: FastifyReply, err: unknown, request?: FastifyRequest): FastifyReply {
  const { status, error } = toHttpError(err);
  if (status >= 500) (request?.log ?? reply.log).error({ err }, 'request failed');
  if (status === 401) void reply.header('www-authenticate', 'Bearer');
  return reply.code(status).type('application/json; charset=utf-8').send(error.toJSON());
}
