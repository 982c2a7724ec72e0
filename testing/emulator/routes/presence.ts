import type { FastifyInstance, FastifyRequest } from 'fastify';
import { presenceResource } from '../builders.js';
import { identityOf, requireRole } from '../graph-auth.js';
import { badRequest } from '../graph-error.js';
import type { PresenceStore } from '../presence.js';

const READ = ['Presence.Read.All', 'Presence.ReadWrite.All', 'Presence.Read', 'Presence.ReadWrite'];
const WRITE = ['Presence.ReadWrite.All', 'Presence.ReadWrite'];

/** Presence routes; /me resolves to the signed-in user of a delegated token (app tokens are refused before). */
export function registerPresenceRoutes(app: FastifyInstance, presence: PresenceStore, graphUrl: string): void {
  const user = (req: FastifyRequest): string => (req.params as { userId?: string }).userId ?? identityOf(req)?.userId ?? '';

  for (const path of ['/users/:userId/presence', '/me/presence', '/communications/presences/:userId']) {
    app.get(path, async (req) => {
      requireRole(req, ...READ);
      return presenceResource(presence.get(user(req)), graphUrl, true);
    });
  }

  app.post('/communications/getPresencesByUserId', async (req) => {
    requireRole(req, ...READ);
    const ids = (req.body as { ids?: unknown } | undefined)?.ids;
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > 650 || !ids.every((x) => typeof x === 'string' && x.length > 0)) {
      throw badRequest('ids must be a list of 1..650 user ids.');
    }
    return { '@odata.context': `${graphUrl}/v1.0/$metadata#Collection(microsoft.graph.presence)`, value: ids.map((id) => presenceResource(presence.get(id), graphUrl, false)) };
  });

  for (const base of ['/users/:userId/presence', '/me/presence']) {
    app.post<{ Params: { action: string } }>(`${base}/:action`, async (req, reply) => {
      requireRole(req, ...WRITE);
      const u = user(req);
      switch (req.params.action) {
        case 'setPresence':
          presence.setPresence(u, req.body);
          break;
        case 'clearPresence':
          presence.clearPresence(u, req.body);
          break;
        case 'setUserPreferredPresence':
          presence.setPreferred(u, req.body);
          break;
        case 'clearUserPreferredPresence':
          presence.clearPreferred(u);
          break;
        case 'setStatusMessage':
          presence.setStatusMessage(u, req.body);
          break;
        default:
          throw badRequest(`Resource not found for the segment '${req.params.action}'.`);
      }
      return reply.code(200).send();
    });
  }
}
