import { describe, expect, it } from 'vitest';
import { CallTenants, callIdOfPath, callTenantRequester, tenantRequester, type GraphRequestOptions, type GraphRequester } from '../../../src/graph/index.js';
import { loadConfig } from '../../../src/config/config.js';

function recording(): { seen: Array<{ path: string; tenantId: string | undefined }>; inner: GraphRequester } {
  const seen: Array<{ path: string; tenantId: string | undefined }> = [];
  return {
    seen,
    inner: {
      async request<T>(_m: string, path: string, body?: unknown, opts: GraphRequestOptions = {}) {
        seen.push({ path, tenantId: opts.tenantId });
        const created = path === '/communications/calls' ? { id: 'call-1', tenantId: (body as { tenantId?: string }).tenantId } : {};
        return { status: 200, body: created as T, headers: {}, location: undefined, requestId: undefined, clientRequestId: 'c', attempts: 1 };
      },
    } as GraphRequester,
  };
}

describe('tenant routing', () => {
  it('finds the call id in Graph paths', () => {
    expect(callIdOfPath('/communications/calls/abc/playPrompt')).toBe('abc');
    expect(callIdOfPath('https://graph.microsoft.com/v1.0/communications/calls/abc')).toBe('abc');
    expect(callIdOfPath('/app/calls/abc/participants/muteAll')).toBe('abc');
    expect(callIdOfPath('/communications/calls/logTeleconferenceDeviceQuality')).toBeUndefined();
    expect(callIdOfPath('/users/u/onlineMeetings')).toBeUndefined();
  });

  it('creates a call with its tenant, remembers it, and routes later requests about the call to it', async () => {
    const { seen, inner } = recording();
    const tenants = new CallTenants();
    const r = callTenantRequester(inner, tenants);
    await r.request('POST', '/communications/calls', { tenantId: 'tenant-b' });
    await r.request('POST', '/communications/calls/call-1/keepAlive');
    await r.request('GET', '/communications/calls/other');
    await r.request('GET', '/communications/calls/call-1', undefined, { tenantId: 'explicit' });
    await tenantRequester(r, 'tenant-c').request('GET', '/communications/calls/call-1');
    expect(seen.map((s) => s.tenantId)).toEqual(['tenant-b', 'tenant-b', undefined, 'explicit', 'tenant-c']);
    expect(tenants.tenantOf('CALL-1')).toBe('tenant-b');
  });

  it('forgets the oldest calls past its bound and ignores malformed tenants', () => {
    const t = new CallTenants(2);
    t.remember('a', 't1');
    t.remember('b', 't2');
    t.remember('c', 't3');
    t.remember('d', 'not a tenant!');
    expect([t.tenantOf('a'), t.tenantOf('b'), t.tenantOf('c'), t.tenantOf('d')]).toEqual([undefined, 't2', 't3', undefined]);
    expect(() => tenantRequester(recording().inner, 'bad tenant')).toThrow(/tenantId/);
  });

  it('MEDIABOT_TENANTS=* means every tenant that consented; * cannot be mixed with ids', () => {
    expect(loadConfig({ MEDIABOT_TENANTS: '*' }).tenants).toEqual(['*']);
    expect(() => loadConfig({ MEDIABOT_TENANTS: '*,aa67bd4c-8475-432d-bd41-39f255720e0a' })).toThrow(/MEDIABOT_TENANTS/);
  });
});
