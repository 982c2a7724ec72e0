/**
 * The errors the emulator answers with, Graph-style (the client side is src/graph/errors.ts GraphError): `{"error":{"code","message","innerError":{"request-id","date","client-request-id"}}}`.
 * Routes throw GraphErrorReply; the server's error handler turns it into that body with its status.
 */
export class GraphErrorReply extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Record<string, string>;

  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'GraphErrorReply';
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

export interface GraphErrorBody {
  error: {
    code: string;
    message: string;
    innerError: Record<string, string>;
  };
}

/** Graph's innerError date has no fractional seconds and no zone suffix, e.g. 2020-08-18T12:51:51. */
export function graphErrorDate(now = new Date()): string {
  return now.toISOString().slice(0, 19);
}

export function graphErrorBody(
  code: string,
  message: string,
  requestId: string,
  clientRequestId: string,
  extraInner: Record<string, string> = {},
): GraphErrorBody {
  return {
    error: {
      code,
      message,
      innerError: { date: graphErrorDate(), 'request-id': requestId, 'client-request-id': clientRequestId, ...extraInner },
    },
  };
}

export const badRequest = (message: string, code = 'BadRequest'): GraphErrorReply => new GraphErrorReply(400, code, message);
export const notFound = (message: string): GraphErrorReply => new GraphErrorReply(404, 'itemNotFound', message);
export const forbidden = (message: string): GraphErrorReply => new GraphErrorReply(403, 'Forbidden', message);
export const conflict = (message: string): GraphErrorReply => new GraphErrorReply(409, 'Conflict', message);
