/**
 * Checks on Graph call callbacks beyond the JWT's signature and lifetime (which a captured token
 * passes for an hour):
 *
 * - tenant: the token's `tid` must be one of the configured tenants (MEDIABOT_TENANTS, default
 *   MEDIABOT_TENANT_ID; `*` accepts every tenant: a token Graph signed for this app's audience
 *   means that tenant consented), and every notification that names a tenant must name the token's;
 *   the tenant of each accepted call is reported (`callTenants`) so requests about it use its token;
 * - replay: tokens are remembered per call with what they carried; the same token presenting the
 *   same notification again is dropped, and a token with a `jti` is bound to the first call it
 *   was used for;
 * - destructive notifications (`terminated`) are confirmed with Graph before media is torn down
 *   (see confirmTerminations).
 */
import { createHash } from 'node:crypto';
import type { CallbackClaims } from './jwt.js';
import type { CallNotification } from './notifications.js';

export type CallbackRejection = 'tenant' | 'replay' | 'unconfirmed';

export interface CallbackGuardOptions {
  /** Tenants whose callbacks are accepted; empty or `*`: any tenant (the token's tid is still bound to the items). */
  tenants: readonly string[];
  /** Told the tenant of every call an accepted callback is about (the Graph client's CallTenants). */
  callTenants?: { remember(callId: string, tenantId: string): void };
  /** How long a token is remembered (default 70 min: a callback token lives an hour, plus skew). */
  memoryMs?: number;
  /** Calls remembered at most (oldest forgotten first; default 10 000). */
  maxCalls?: number;
  now?: () => number;
}

export interface GuardVerdict {
  /** Items to process; empty when the whole request was refused. */
  accepted: CallNotification[];
  /** Why the whole request was refused, or null. */
  refused: 'tenant' | 'replay' | null;
  /** Items dropped as replays of a token+item already seen. */
  replayed: number;
}

const MAX_TOKENS_PER_CALL = 64;
const MAX_ITEMS_PER_TOKEN = 512;

interface CallMemory {
  /** token fingerprint → item fingerprints seen with it (insertion-ordered). */
  tokens: Map<string, { firstSeen: number; items: Set<string> }>;
}

const sha = (s: string): string => createHash('sha256').update(s).digest('base64url');

/** The tenant a notification names, if any. */
function tenantOf(item: CallNotification): string | null {
  if (item.kind === 'incomingCall') return item.call.tenantId;
  return null;
}

export class CallbackGuard {
  private readonly calls = new Map<string, CallMemory>();
  private readonly jtiCall = new Map<string, { callKey: string; at: number }>();
  private readonly tenants: Set<string>;
  private readonly callTenants: CallbackGuardOptions['callTenants'];
  private readonly memoryMs: number;
  private readonly maxCalls: number;
  private readonly now: () => number;

  constructor(o: CallbackGuardOptions) {
    this.tenants = new Set(o.tenants.includes('*') ? [] : o.tenants.map((t) => t.toLowerCase()));
    this.callTenants = o.callTenants;
    this.memoryMs = o.memoryMs ?? 70 * 60_000;
    this.maxCalls = o.maxCalls ?? 10_000;
    this.now = o.now ?? Date.now;
  }

  /** Judges one authenticated callback request: its claims, raw token and parsed items. */
  check(claims: CallbackClaims, token: string, items: readonly CallNotification[]): GuardVerdict {
    const tid = claims.tenantId.toLowerCase();
    if (this.tenants.size > 0 && !this.tenants.has(tid)) return { accepted: [], refused: 'tenant', replayed: 0 };
    for (const item of items) {
      const t = tenantOf(item);
      if (t !== null && t.toLowerCase() !== tid) return { accepted: [], refused: 'tenant', replayed: 0 };
    }
    const now = this.now();
    const fp = sha(token);
    const jti = typeof claims.payload.jti === 'string' ? claims.payload.jti : null;
    const callKeys = new Set(items.map((i) => (i.callId ?? '').toLowerCase()).filter((k) => k !== ''));
    if (jti !== null) {
      const bound = this.jtiCall.get(jti);
      if (bound && now - bound.at < this.memoryMs && [...callKeys].some((k) => k !== bound.callKey)) return { accepted: [], refused: 'replay', replayed: 0 };
      const first = callKeys.values().next().value;
      if (!bound && first !== undefined) this.jtiCall.set(jti, { callKey: first, at: now });
      this.trimJti(now);
    }
    const accepted: CallNotification[] = [];
    let replayed = 0;
    for (const item of items) {
      const key = (item.callId ?? '').toLowerCase();
      if (key === '') {
        accepted.push(item);
        continue;
      }
      const mem = this.memory(key);
      let seen = mem.tokens.get(fp);
      if (seen && now - seen.firstSeen > this.memoryMs) {
        mem.tokens.delete(fp);
        seen = undefined;
      }
      if (!seen) {
        seen = { firstSeen: now, items: new Set() };
        mem.tokens.set(fp, seen);
        if (mem.tokens.size > MAX_TOKENS_PER_CALL) mem.tokens.delete(mem.tokens.keys().next().value!);
      }
      const itemFp = sha(JSON.stringify(item));
      if (seen.items.has(itemFp)) {
        replayed++;
        continue;
      }
      seen.items.add(itemFp);
      if (seen.items.size > MAX_ITEMS_PER_TOKEN) seen.items.delete(seen.items.values().next().value!);
      accepted.push(item);
    }
    if (this.callTenants) for (const item of accepted) if (item.callId) this.callTenants.remember(item.callId, claims.tenantId);
    return { accepted, refused: null, replayed };
  }

  private memory(key: string): CallMemory {
    let m = this.calls.get(key);
    if (m) {
      // Most recently used last, so the oldest call is forgotten first.
      this.calls.delete(key);
      this.calls.set(key, m);
      return m;
    }
    m = { tokens: new Map() };
    this.calls.set(key, m);
    if (this.calls.size > this.maxCalls) this.calls.delete(this.calls.keys().next().value!);
    return m;
  }

  private trimJti(now: number): void {
    if (this.jtiCall.size <= this.maxCalls) return;
    for (const [k, v] of this.jtiCall) {
      if (now - v.at > this.memoryMs || this.jtiCall.size > this.maxCalls) this.jtiCall.delete(k);
      else break;
    }
  }
}

/** What Graph says about a call: its state, or null when Graph no longer has it (404). */
export type CallLookup = (callId: string) => Promise<{ state: string | null } | null>;

export interface ConfirmOptions {
  lookup: CallLookup;
  /** Is this call known and not yet terminated here (only those need confirming)? */
  isLive: (callId: string) => boolean;
  /** Waits before asking Graph again when it still reports the call alive (default 1 s, 3 s). */
  retryDelaysMs?: readonly number[];
  onUnconfirmed?: (callId: string) => void;
  onLookupFailed?: (callId: string, err: unknown) => void;
}

const ENDED = new Set(['terminated', 'terminating']);

/**
 * Keeps a `terminated` notification for a live call only when Graph agrees: the call is gone
 * (404) or terminating/terminated. Graph still reporting the call alive after the retries means
 * the notification was forged (or replayed), and it is dropped. When Graph cannot be asked (a
 * network error), the notification is kept: tearing down is the safer failure.
 */
export async function confirmTerminations(items: readonly CallNotification[], o: ConfirmOptions): Promise<CallNotification[]> {
  const out: CallNotification[] = [];
  for (const item of items) {
    if (item.kind !== 'callState' || item.state !== 'terminated' || !o.isLive(item.callId)) {
      out.push(item);
      continue;
    }
    if (await confirmed(item.callId, o)) out.push(item);
    else o.onUnconfirmed?.(item.callId);
  }
  return out;
}

async function confirmed(callId: string, o: ConfirmOptions): Promise<boolean> {
  const delays = o.retryDelaysMs ?? [1000, 3000];
  for (let attempt = 0; ; attempt++) {
    let seen: { state: string | null } | null;
    try {
      seen = await o.lookup(callId);
    } catch (err) {
      o.onLookupFailed?.(callId, err);
      return true;
    }
    if (seen === null || (seen.state !== null && ENDED.has(seen.state))) return true;
    const wait = delays[attempt];
    if (wait === undefined) return false;
    await new Promise((r) => setTimeout(r, wait));
  }
}
