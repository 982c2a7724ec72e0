import { describe, expect, it } from 'vitest';
import { graphErrorHint } from '../../../src/graph/hints.js';

const base = { method: 'POST', status: 403, graphCode: undefined, message: undefined };

describe('graphErrorHint', () => {
  it('explains each setup failure and nothing else', () => {
    expect(graphErrorHint({ ...base, method: 'GET', path: '/v1.0/me/presence', status: 400, graphCode: 'BadRequest', message: '/me request is only valid with delegated authentication flow.' })).toMatch(/user id/);
    expect(graphErrorHint({ ...base, path: '/v1.0/subscriptions', message: 'Presence subscriptions are not supported with application permissions' })).toMatch(/delegated/);
    expect(graphErrorHint({ ...base, path: '/v1.0/communications/calls/c/subscribeToTone' })).toMatch(/Calls\.AccessMedia\.All/);
    expect(graphErrorHint({ ...base, path: '/v1.0/communications/calls/c/updateRecordingStatus', graphCode: '8506' })).toMatch(/compliance/);
    expect(graphErrorHint({ ...base, path: '/v1.0/communications/calls', graphCode: '7504' })).toMatch(/MEDIABOT_TENANTS/);
    expect(graphErrorHint({ ...base, path: '/v1.0/communications/calls/c', graphCode: '7505' })).toMatch(/forTenant/);
    expect(graphErrorHint({ ...base, path: '/v1.0/communications/calls/c', status: 404, graphCode: 'itemNotFound' })).toBeUndefined();
    expect(graphErrorHint({ ...base, path: '/v1.0/subscriptions', message: 'callRecords: lacks CallRecords.Read.All' })).toBeUndefined();
  });
});
