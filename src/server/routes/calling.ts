import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from '../../logger.js';
import { MediabotError } from '../../errors.js';
import type { CallbackGuard } from '../../signaling/callback-guard.js';
import { CallbackAuthError, type CallbackClaims } from '../../signaling/jwt.js';
import { parseCallNotifications, type CallNotification } from '../../signaling/notifications.js';
import type { Metrics } from '../metrics.js';

/** Anything that can vouch for a callback's Authorization header (CallbackTokenValidator). */
export interface CallbackAuthenticator {
  verify(authorization: string | undefined): Promise<CallbackClaims>;
}

export interface CallingRoutesOptions {
  auth: CallbackAuthenticator;
  /** Queues parsed items for ordered per-call processing (Signaling.dispatch). */
  dispatch: (items: CallNotification[]) => Promise<void>;
  metrics: Metrics;
  logger: Logger;
  /** Tenant binding and per-call token memory (see CallbackGuard). */
  guard?: CallbackGuard;
}

declare module 'fastify' {
  interface FastifyRequest {
    callbackClaims?: CallbackClaims;
  }
}

/**
 * POST /api/calling: Graph call callbacks. The bearer JWT is checked before the
 * body is read; a valid body is answered 202 at once and processed afterwards.
 */
export const callingRoutes: FastifyPluginAsync<CallingRoutesOptions> = async (app, opts) => {
  app.post(
    '/api/calling',
    {
      onRequest: async (request) => {
        try {
          request.callbackClaims = await opts.auth.verify(request.headers.authorization);
        } catch (err) {
          const reason = err instanceof CallbackAuthError ? err.reason : 'invalid';
          opts.metrics.authFailures.inc({ endpoint: 'callback', reason });
          // The reason only: never the token.
          request.log.warn({ reason }, 'rejected a call callback');
          throw err instanceof CallbackAuthError ? err : new CallbackAuthError('invalid', 'token is invalid');
        }
      },
    },
    async (request, reply) => {
      let items = parseCallNotifications(request.body);
      for (const item of items) opts.metrics.notificationsReceived.inc({ route: 'calling', kind: item.kind });
      if (opts.guard && request.callbackClaims) {
        const token = /^Bearer\s+(\S+)/i.exec(request.headers.authorization ?? '')?.[1] ?? '';
        const verdict = opts.guard.check(request.callbackClaims, token, items);
        if (verdict.replayed > 0) opts.metrics.callbackRejected.inc({ reason: 'replay' }, verdict.replayed);
        if (verdict.refused !== null) {
          opts.metrics.callbackRejected.inc({ reason: verdict.refused });
          request.log.warn({ reason: verdict.refused }, 'refused a call callback');
          throw new MediabotError('MEDIABOT_CALLBACK_REPLAYED', verdict.refused === 'tenant' ? 'the callback names a tenant that is not accepted' : 'the callback token was already used for another call');
        }
        items = verdict.accepted;
      }
      await reply.code(202).send();
      // After the reply: Graph wants a fast answer; processing is ordered per call.
      setImmediate(() => {
        opts.dispatch(items).catch((err: unknown) => opts.logger.error({ err }, 'dispatching call notifications failed'));
      });
      return reply;
    },
  );
};
