/**
 * Many tenants through one client. A multi-tenant app registration serves calls in its customers'
 * tenants; every request about a call must carry a token of the call's tenant (Graph answers 7505
 * "tenant mismatch" otherwise). CallTenants remembers each call's tenant, learnt from
 *  - the call Graph created (POST /communications/calls: the body's tenantId, i.e. the join URL's Tid),
 *  - an authenticated callback about the call (the callback token's `tid`, e.g. an incoming call),
 * and `callTenantRequester` adds it to every request under /communications/calls/{id}.
 */
import type { GraphRequestOptions, GraphRequester, GraphResponse, HttpMethod } from './http.js';

const CALL_PATH = /^(?:https?:\/\/[^/]+)?(?:\/(?:v1\.0|beta))?\/(?:communications|app)\/calls\/([^/?#]+)/i;
const TENANT = /^[A-Za-z0-9.-]{1,128}$/;

export class CallTenants {
  private readonly byCall = new Map<string, string>();

  constructor(private readonly maxCalls = 10_000) {}

  /** Records the tenant of a call (oldest calls are forgotten first past `maxCalls`). */
  remember(callId: string, tenantId: string): void {
    if (!callId || !TENANT.test(tenantId)) return;
    const key = callId.toLowerCase();
    this.byCall.delete(key);
    this.byCall.set(key, tenantId);
    if (this.byCall.size > this.maxCalls) this.byCall.delete(this.byCall.keys().next().value!);
  }

  tenantOf(callId: string): string | undefined {
    return this.byCall.get(callId.toLowerCase());
  }

  forget(callId: string): void {
    this.byCall.delete(callId.toLowerCase());
  }

  get size(): number {
    return this.byCall.size;
  }
}

/** The call id a Graph path is about, if it is under /communications/calls/{id}. */
export function callIdOfPath(path: string): string | undefined {
  const id = CALL_PATH.exec(path)?.[1];
  return id === undefined || id === 'logTeleconferenceDeviceQuality' ? undefined : decodeURIComponent(id);
}

/**
 * Routes requests about a known call to its tenant's token, and learns the tenant of calls it
 * creates. A tenantId the caller gives explicitly always wins.
 */
export function callTenantRequester(inner: GraphRequester, tenants: CallTenants): GraphRequester {
  return {
    async request<T>(method: HttpMethod, path: string, body?: unknown, opts: GraphRequestOptions = {}): Promise<GraphResponse<T>> {
      let o = opts;
      const callId = callIdOfPath(path);
      const bodyTenant = typeof (body as { tenantId?: unknown } | undefined)?.tenantId === 'string' ? (body as { tenantId: string }).tenantId : undefined;
      if (o.tenantId === undefined) {
        const known = callId !== undefined ? tenants.tenantOf(callId) : undefined;
        // Creating a call: the token must be the tenant's the call is in (the join URL's Tid).
        const creating = callId === undefined && method === 'POST' && /\/calls\/?$/i.test(path.split('?')[0]!) ? bodyTenant : undefined;
        const t = known ?? creating;
        if (t !== undefined) o = { ...o, tenantId: t };
      }
      const res = await inner.request<T>(method, path, body, o);
      if (callId === undefined && method === 'POST' && /\/calls\/?$/i.test(path.split('?')[0]!)) {
        const created = res.body as { id?: unknown; tenantId?: unknown } | undefined;
        const t = typeof created?.tenantId === 'string' ? created.tenantId : o.tenantId;
        if (typeof created?.id === 'string' && t !== undefined) tenants.remember(created.id, t);
      }
      return res;
    },
  };
}
