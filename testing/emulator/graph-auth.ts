import type { FastifyRequest } from 'fastify';
import { GraphErrorReply } from './graph-error.js';
import type { AppIdentity } from './identity.js';

const identities = new WeakMap<FastifyRequest, AppIdentity>();

export function setIdentity(req: FastifyRequest, id: AppIdentity): void {
  identities.set(req, id);
}

export function identityOf(req: FastifyRequest): AppIdentity | undefined {
  return identities.get(req);
}

/** The tenant of the request's token (each tenant's calls, meetings and presence are its own). */
export function tenantOf(req: FastifyRequest): string {
  return identities.get(req)?.tenantId ?? '';
}

export function rolesOf(req: FastifyRequest): string[] {
  return identities.get(req)?.roles ?? [];
}

/** Throws Graph's 403 unless the token carries at least one of the roles. */
export function requireRole(req: FastifyRequest, ...anyOf: string[]): void {
  const roles = rolesOf(req);
  if (!anyOf.some((r) => roles.includes(r))) {
    throw new GraphErrorReply(403, 'Forbidden', `Insufficient privileges to complete the operation. Requires one of: ${anyOf.join(', ')}.`);
  }
}

export const CALL_ROLES = ['Calls.Initiate.All', 'Calls.InitiateGroupCall.All', 'Calls.JoinGroupCall.All', 'Calls.JoinGroupCallAsGuest.All', 'Calls.AccessMedia.All'];
