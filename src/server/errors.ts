import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { httpStatusOf, isMediabotError, MediabotError, type MediabotErrorCode } from '../errors.js';

/** The HTTP status for a code, from the code table in src/errors.ts. */
export function statusForCode(code: MediabotErrorCode): number {
  return httpStatusOf(code);
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
