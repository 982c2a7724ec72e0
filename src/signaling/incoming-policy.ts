/**
 * Which incoming calls mediabot answers (MEDIABOT_INCOMING, MEDIABOT_INCOMING_TENANTS,
 * MEDIABOT_INCOMING_CALLERS). Safe by default: a call is answered only when its tenant, and the
 * caller's tenant when the caller has one (a federated Teams user), is a configured tenant, and,
 * with a caller allowlist, only from a listed user id or phone number. Everything else is rejected
 * through Graph with the reason `forbidden`.
 */
import type { IncomingCall, IncomingCallPolicy, IncomingDecision } from './incoming.js';

export interface IncomingPolicyOptions {
  /** 'answer' (subject to the rules below) or 'reject' every incoming call. */
  mode: 'answer' | 'reject';
  /** Tenants whose calls may be answered; empty: none. */
  tenants: readonly string[];
  /** User ids and phone numbers that may call; empty: any caller of an allowed tenant. */
  callers: readonly string[];
  /** How answered calls get their media. */
  media: 'app' | 'service';
  /** Told why a call was rejected (logs, metrics). */
  onRejected?: (call: IncomingCall, why: IncomingRejection) => void;
}

export type IncomingRejection = 'policy' | 'tenant' | 'caller';

/** A phone number as listed and as Graph sends it: digits with an optional leading `+`, no spaces or dashes. */
export function normalizePhone(s: string): string {
  return s.replace(/[\s().-]/g, '').toLowerCase();
}

/** Why the policy refuses a call, or null when it may be answered. */
export function incomingRefusal(call: IncomingCall, o: Pick<IncomingPolicyOptions, 'mode' | 'tenants' | 'callers'>): IncomingRejection | null {
  if (o.mode === 'reject') return 'policy';
  const tenants = new Set(o.tenants.map((t) => t.toLowerCase()));
  const callTenant = call.tenantId?.toLowerCase() ?? null;
  if (callTenant === null || !tenants.has(callTenant)) return 'tenant';
  const caller = call.source?.identity ?? null;
  const callerTenant = caller?.tenantId?.toLowerCase() ?? null;
  if (callerTenant !== null && !tenants.has(callerTenant)) return 'tenant';
  if (o.callers.length === 0) return null;
  const id = caller?.id ?? null;
  if (id === null) return 'caller';
  const allowed = new Set(o.callers.map((c) => (caller?.kind === 'phone' ? normalizePhone(c) : c.toLowerCase())));
  return allowed.has(caller?.kind === 'phone' ? normalizePhone(id) : id.toLowerCase()) ? null : 'caller';
}

export function incomingCallPolicy(o: IncomingPolicyOptions): IncomingCallPolicy {
  return (call): IncomingDecision => {
    const why = incomingRefusal(call, o);
    if (why === null) return { action: 'answer', media: o.media };
    o.onRejected?.(call, why);
    return { action: 'reject', reason: 'forbidden' };
  };
}
