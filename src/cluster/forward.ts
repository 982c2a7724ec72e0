/**
 * Forwards an operator API request to the instance that owns the call, at its internal URL, with
 * the API token, and relays the answer (status, type, body streamed). A short connect timeout and
 * a response timeout bound the wait; an owner that cannot be reached is MEDIABOT_OWNER_UNREACHABLE (502).
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { MediabotError } from '../errors.js';

/** Marks a forwarded request, so the receiving instance handles it itself (no second hop). */
export const FORWARDED_HEADER = 'x-mediabot-forwarded-by';

const RELAYED_HEADERS = ['content-type', 'content-length', 'content-disposition', 'www-authenticate', 'retry-after'];

export interface ForwardOptions {
  /** The owner's base URL (MEDIABOT_INTERNAL_URL). */
  baseUrl: string;
  ownerId: string;
  selfId: string;
  apiToken: string | undefined;
  /** Until the TCP connection is up (default 2 s). */
  connectTimeoutMs?: number;
  /** Until the response headers arrive (default 15 s; a prompt waits until it finished playing). */
  responseTimeoutMs?: number;
}

function unreachable(o: ForwardOptions, why: string): MediabotError {
  return new MediabotError('MEDIABOT_OWNER_UNREACHABLE', `the instance that owns this call (${o.ownerId}) could not be reached: ${why}`);
}

export async function forwardRequest(request: FastifyRequest, reply: FastifyReply, o: ForwardOptions): Promise<FastifyReply> {
  const target = new URL(request.url, `${o.baseUrl}/`);
  const headers: Record<string, string> = { [FORWARDED_HEADER]: o.selfId, accept: String(request.headers.accept ?? '*/*') };
  if (o.apiToken !== undefined && o.apiToken !== '') headers['authorization'] = `Bearer ${o.apiToken}`;
  let body: Buffer | undefined;
  if (request.body !== undefined && request.body !== null) {
    body = Buffer.from(JSON.stringify(request.body));
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(body.length);
  }
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = send(target, { method: request.method, headers });
    const connectTimer = setTimeout(() => req.destroy(unreachable(o, `no connection within ${o.connectTimeoutMs ?? 2000} ms`)), o.connectTimeoutMs ?? 2000);
    const responseTimer = setTimeout(() => req.destroy(unreachable(o, `no answer within ${o.responseTimeoutMs ?? 15_000} ms`)), o.responseTimeoutMs ?? 15_000);
    req.on('socket', (s) => {
      if (!s.connecting) clearTimeout(connectTimer);
      else s.once('connect', () => clearTimeout(connectTimer));
    });
    req.on('response', (r) => {
      clearTimeout(connectTimer);
      clearTimeout(responseTimer);
      resolve(r);
    });
    req.on('error', (err) => {
      clearTimeout(connectTimer);
      clearTimeout(responseTimer);
      reject(err instanceof MediabotError ? err : unreachable(o, (err as NodeJS.ErrnoException).code ?? err.message));
    });
    req.end(body);
  });
  void reply.code(res.statusCode ?? 502);
  for (const h of RELAYED_HEADERS) {
    const v = res.headers[h];
    if (v !== undefined) void reply.header(h, v);
  }
  void reply.header('x-mediabot-instance', o.ownerId);
  return reply.send(res);
}
