/**
 * One operator API over the fleet: a preHandler for the /v1 scope. On any instance,
 *   GET  /v1/calls            lists the fleet's calls (this instance's own from memory, the others' from Redis);
 *   POST /v1/calls            goes to the instance with the most free capacity (503 MEDIABOT_FLEET_FULL when none);
 *   /v1/calls/:id[/...]       is answered by the call's owner, forwarded to its internal URL.
 * A request that was already forwarded is always handled where it lands.
 */
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { MediabotError } from '../errors.js';
import type { CallJson } from '../server/routes/v1-calls.js';
import { FORWARDED_HEADER, forwardRequest } from './forward.js';
import type { FleetRegistry, InstanceLoad } from './registry.js';

export interface FleetRoutingDeps {
  selfId: string;
  apiToken: string | undefined;
  registry: FleetRegistry;
  /** True while Redis answers. */
  redisUp: () => boolean;
  /** This instance's own calls. */
  localCalls: () => CallJson[];
  isLocalCall: (id: string) => boolean;
  /** This instance's load now. */
  load: () => InstanceLoad;
  connectTimeoutMs?: number;
}

/** Routes whose answer waits for something slow on the owner (a prompt plays to its end). */
const SLOW_ROUTES = new Set(['/v1/calls/:id/play']);

function matchesState(c: { state: string }, filter: string | undefined): boolean {
  return filter === undefined || (filter === 'active' ? c.state !== 'terminated' : c.state === filter);
}

export function fleetPreHandler(d: FleetRoutingDeps): preHandlerAsyncHookHandler {
  const forward = (request: FastifyRequest, reply: FastifyReply, ownerId: string, baseUrl: string, responseTimeoutMs: number): Promise<FastifyReply> =>
    forwardRequest(request, reply, { baseUrl, ownerId, selfId: d.selfId, apiToken: d.apiToken, responseTimeoutMs, ...(d.connectTimeoutMs !== undefined ? { connectTimeoutMs: d.connectTimeoutMs } : {}) });

  return async function fleetRouting(request, reply) {
    const route = request.routeOptions.url ?? '';
    if (!route.startsWith('/v1/calls')) return;
    if (request.headers[FORWARDED_HEADER] !== undefined) return;

    if (route === '/v1/calls' && request.method === 'GET') {
      if (!d.redisUp()) {
        void reply.header('x-mediabot-fleet', 'local-only');
        return;
      }
      const filter = (request.query as { state?: string } | undefined)?.state;
      const own = d.localCalls();
      const ownIds = new Set(own.map((c) => c.id));
      let others: CallJson[];
      try {
        others = (await d.registry.calls()).filter((c) => c.owner !== d.selfId && !ownIds.has(c.id)).map((c) => ({ ...c.call, instance: c.owner }) as CallJson);
      } catch {
        void reply.header('x-mediabot-fleet', 'local-only');
        return;
      }
      const all = [...own, ...others].filter((c) => matchesState(c, filter)).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
      return reply.send({ calls: all });
    }

    if (route === '/v1/calls' && request.method === 'POST') {
      if (!d.redisUp()) return;
      const target = await d.registry.placement(d.load()).catch(() => undefined);
      if (target === undefined) return;
      if (target === null) throw new MediabotError('MEDIABOT_FLEET_FULL', 'every instance of the fleet is at MEDIABOT_MAX_CALLS or draining; try again later');
      if (target.id === d.selfId) return;
      return forward(request, reply, target.id, target.internalUrl, 30_000);
    }

    const id = (request.params as { id?: string } | undefined)?.id;
    if (id === undefined || d.isLocalCall(id)) return;
    if (!d.redisUp()) throw new MediabotError('MEDIABOT_FLEET_UNAVAILABLE', `call ${id} is not this instance's, and the fleet registry (Redis) cannot be reached to find its owner`);
    let owned;
    try {
      owned = await d.registry.call(id);
    } catch {
      throw new MediabotError('MEDIABOT_FLEET_UNAVAILABLE', `call ${id} is not this instance's, and the fleet registry (Redis) did not answer`);
    }
    if (owned === null || owned.owner === d.selfId) return;
    const owner = await d.registry.instance(owned.owner).catch(() => undefined);
    if (owner === undefined) throw new MediabotError('MEDIABOT_FLEET_UNAVAILABLE', `the fleet registry (Redis) did not answer where call ${id} is`);
    if (owner === null) {
      // The owner is gone: what the registry last recorded is all there is.
      if (route === '/v1/calls/:id' && request.method === 'GET') return reply.send({ ...owned.call, instance: owned.owner });
      throw new MediabotError('MEDIABOT_WORKER_LOST', `the instance that owned call ${id} (${owned.owner}) stopped; its calls are hung up and its files stay on that instance's data volume`);
    }
    return forward(request, reply, owner.id, owner.internalUrl, SLOW_ROUTES.has(route) ? 300_000 : 15_000);
  };
}
