/**
 * App-only correctness against an emulator that refuses what Graph refuses: /me with an app token,
 * presence subscriptions with application permissions, subscribeToTone without
 * Calls.AccessMedia.All, updateRecordingStatus outside compliance recording, a call in a tenant
 * that has not consented (7504). Each failure carries a hint saying what to do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceHostedMediaConfig } from '../../../src/graph/index.js';
import { DEFAULT_ROLES } from '../../../testing/emulator/identity.js';
import { startRecorder, type RecorderServer } from './recorder.js';
import { emulatorWithClient, failure, untilEstablished } from './emulator-bundle.js';

let env: Awaited<ReturnType<typeof emulatorWithClient>>;
let callbacks: RecorderServer;

beforeAll(async () => {
  env = await emulatorWithClient();
  callbacks = await startRecorder(() => ({ status: 202 }));
});

afterAll(async () => {
  await env?.close();
  await callbacks?.close();
});

describe('app-only: no /me', () => {
  it('presence.get and onlineMeetings need a user id; nothing is sent without one', async () => {
    const { graph, http } = env.bundle;
    const before = http.attemptsSent;
    const e1 = await failure(graph.presence.get(undefined as unknown as string));
    expect(e1).toMatchObject({ code: 'MEDIABOT_GRAPH_INVALID_ARGUMENT' });
    expect(e1.message).toMatch(/\/me request is only valid with delegated/);
    for (const p of [graph.meetings.create({ subject: 's' }), graph.meetings.get('m'), graph.meetings.getByJoinMeetingId('1234567890'), graph.meetings.delete('m')]) {
      const e = await failure(p);
      expect(e).toMatchObject({ code: 'MEDIABOT_GRAPH_INVALID_ARGUMENT' });
      expect(e.message).toContain('userId');
    }
    expect(http.attemptsSent).toBe(before);
  });

  it('the emulator answers /me with an app token as Graph does (400 BadRequest), and the error says what to do', async () => {
    const e = await failure(env.bundle.graph.presence.getMine());
    expect(e).toMatchObject({ code: 'MEDIABOT_GRAPH_HTTP', status: 400, graphCode: 'BadRequest' });
    expect(e.message).toContain('/me request is only valid with delegated authentication flow.');
    expect(e.hint).toMatch(/pass the user id/);
    expect(e.message).toContain(e.hint);
  });

  it('onlineMeetings for a named user work: create, get, update, delete', async () => {
    const { graph } = env.bundle;
    const owner = { userId: '7c1e2d3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f' };
    const m = await graph.meetings.create({ subject: 'planning' }, owner);
    const updated = await graph.meetings.update(m.id!, { subject: 'planning (moved)' }, owner);
    expect(updated.subject).toBe('planning (moved)');
    expect((await graph.meetings.get(m.id!, owner)).subject).toBe('planning (moved)');
    expect((await graph.meetings.delete(m.id!, owner)).status).toBe(204);
    const gone = await failure(graph.meetings.get(m.id!, owner));
    expect(gone).toMatchObject({ status: 404 });
    await expect(graph.meetings.update(m.id!, {}, owner)).rejects.toMatchObject({ code: 'MEDIABOT_GRAPH_INVALID_ARGUMENT' });
  });
});

describe('refusals Graph makes, explained', () => {
  it('a presence subscription with application permissions is refused with a hint', async () => {
    const e = await failure(
      env.bundle.graph.subscriptions.create({
        changeType: 'updated',
        notificationUrl: `${callbacks.url}/notifications`,
        resource: '/communications/presences/66825e03-7ef5-42da-9069-724602c31f6b',
        expirationDateTime: new Date(Date.now() + 30 * 60_000).toISOString(),
      }),
    );
    expect(e).toMatchObject({ code: 'MEDIABOT_GRAPH_AUTH', status: 403 });
    expect(e.hint).toMatch(/delegated token/);
  });

  it('updateRecordingStatus outside policy-based recording fails with 8506 and says why', async () => {
    const { graph } = env.bundle;
    const meeting = env.emulator.createMeeting({ people: 0 });
    const call = await graph.calls.joinMeeting({ callbackUri: `${callbacks.url}/api/calling`, joinWebUrl: meeting.joinWebUrl, mediaConfig: serviceHostedMediaConfig() });
    await untilEstablished(graph, call.id!);
    const e = await failure(graph.calls.updateRecordingStatus(call.id!, { clientContext: 'c', status: 'recording' }));
    expect(e).toMatchObject({ status: 403, graphCode: '8506' });
    expect(e.hint).toMatch(/compliance/);
    await graph.calls.delete(call.id!);
  });

  it('a call in a tenant that has not consented fails with 7504 and a hint naming MEDIABOT_TENANTS', async () => {
    // The home tenant's token asking for a meeting in a tenant without the app (a cross-tenant join).
    const e = await failure(
      env.bundle.graph.forTenant(env.emulator.tenantId).calls.joinMeeting({
        callbackUri: `${callbacks.url}/api/calling`,
        joinMeetingId: '1234567890',
        passcode: null,
        tenantId: '99999999-9999-4999-8999-999999999999',
        mediaConfig: serviceHostedMediaConfig(),
      }),
    );
    expect(e).toMatchObject({ status: 403, graphCode: '7504' });
    expect(e.hint).toContain('MEDIABOT_TENANTS');
  });
});

describe('subscribeToTone needs Calls.AccessMedia.All', () => {
  it('is refused without it, with a hint; works with it', async () => {
    const without = await emulatorWithClient({ roles: DEFAULT_ROLES.filter((r) => r !== 'Calls.AccessMedia.All') });
    try {
      const { graph } = without.bundle;
      const meeting = without.emulator.createMeeting({ people: 0 });
      const call = await graph.calls.joinMeeting({ callbackUri: `${callbacks.url}/api/calling`, joinWebUrl: meeting.joinWebUrl, mediaConfig: serviceHostedMediaConfig() });
      await untilEstablished(graph, call.id!);
      const e = await failure(graph.calls.subscribeToTone(call.id!, { clientContext: 'c' }));
      expect(e).toMatchObject({ status: 403, code: 'MEDIABOT_GRAPH_AUTH' });
      expect(e.message).toContain('Calls.AccessMedia.All');
      expect(e.hint).toMatch(/Calls\.AccessMedia\.All/);
    } finally {
      await without.close();
    }
    const { graph } = env.bundle;
    const meeting = env.emulator.createMeeting({ people: 0 });
    const call = await graph.calls.joinMeeting({ callbackUri: `${callbacks.url}/api/calling`, joinWebUrl: meeting.joinWebUrl, mediaConfig: serviceHostedMediaConfig() });
    await untilEstablished(graph, call.id!);
    const ok = await graph.calls.subscribeToTone(call.id!, { clientContext: 'c' });
    expect(ok.operation).toMatchObject({ status: 'completed' });
  });
});
