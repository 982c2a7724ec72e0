import type { FastifyReply, FastifyRequest } from 'fastify';
import { MediabotError } from '../errors.js';
import { secretsEqual } from '../signaling/secrets.js';

/**
 * An onRequest hook requiring `Authorization: Bearer <token>` (constant-time
 * compare). With no token configured it lets everything through: config refuses
 * to start without a token when listening beyond loopback.
 */
export function bearerTokenHook(token: string | undefined, onFailure?: (reason: 'missing' | 'mismatch') => void) {
  return async function requireBearer(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    if (token === undefined || token === '') return;
    const header = request.headers.authorization;
    const m = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!m) {
      onFailure?.('missing');
      throw new MediabotError('MEDIABOT_UNAUTHORIZED', 'a bearer token is required');
    }
    if (!secretsEqual(token, m[1]!)) {
      onFailure?.('mismatch');
      throw new MediabotError('MEDIABOT_UNAUTHORIZED', 'the bearer token is not valid');
    }
  };
}
