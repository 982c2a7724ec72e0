/**
 * audioRoutingGroups (v1.0), contentSharingSessions (list, get, and their notifications) and
 * logTeleconferenceDeviceQuality, through the client against the emulator, with the docs' bodies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appHostedMediaConfig, serviceHostedMediaConfig } from '../../../src/graph/index.js';
import { parseCallNotifications } from '../../../src/signaling/notifications.js';
import { compareShape, vector } from '../emulator/helpers.js';
import { HAVE_VECTORS } from '../../helpers/graph-vectors.js';
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

async function waitForCallback(pred: (b: any) => boolean): Promise<any> {
  for (let i = 0; i < 200; i++) {
    const hit = callbacks.requests.find((r) => pred(r.body));
    if (hit) return hit.body;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('callback not received');
}

describe.skipIf(!HAVE_VECTORS)('call extras', () => {
  it('audioRoutingGroups are v1.0: create (docs body), list, get, update, delete', async () => {
    const { graph, http } = env.bundle;
    expect(http.buildUrl('/communications/calls/x/audioRoutingGroups').pathname).toBe('/v1.0/communications/calls/x/audioRoutingGroups');
    const meeting = env.emulator.createMeeting({ people: 2 });
    const call = await graph.calls.joinMeeting({ callbackUri: `${callbacks.url}/api/calling`, joinWebUrl: meeting.joinWebUrl, mediaConfig: appHostedMediaConfig({ blob: '{}' }) });
    await untilEstablished(graph, call.id!);
    let others: string[] = [];
    for (let i = 0; i < 100 && others.length < 2; i++) {
      others = (await graph.participants.list(call.id!)).value.map((p) => p.id!).filter((id) => id !== call.myParticipantId);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(others.length).toBeGreaterThanOrEqual(2);
    const body = { ...vector('beta-call-post-audioroutinggroups.request.json'), sources: [others[0]], receivers: [call.myParticipantId] };
    const created = await graph.calls.audioRoutingGroups.create(call.id!, body);
    expect(compareShape(vector('beta-call-post-audioroutinggroups.response.json'), created)).toEqual([]);
    const list = await graph.calls.audioRoutingGroups.list(call.id!);
    expect(compareShape(vector('beta-call-list-audioroutinggroups.response.json'), list, { '$.@odata.context': 'beta path in the example' })).toEqual([]);
    expect((await graph.calls.audioRoutingGroups.get(call.id!, 'oneToOne')).sources).toEqual([others[0]]);
    const updated = await graph.calls.audioRoutingGroups.update(call.id!, 'oneToOne', { receivers: [call.myParticipantId!, others[1]!] });
    expect(updated.status).toBe(200);
    expect((await graph.calls.audioRoutingGroups.get(call.id!, 'oneToOne')).receivers).toEqual([call.myParticipantId, others[1]]);
    const bad = await failure(graph.calls.audioRoutingGroups.create(call.id!, { ...body, id: 'x', sources: ['not-in-call'] }));
    expect(bad).toMatchObject({ status: 400 });
    expect((await graph.calls.audioRoutingGroups.delete(call.id!, 'oneToOne')).status).toBe(204);
    expect((await failure(graph.calls.audioRoutingGroups.get(call.id!, 'oneToOne'))).status).toBe(404);
    await graph.calls.delete(call.id!);
  });

  it('contentSharingSessions: created/deleted notifications as in the docs, list and get', async () => {
    const { graph } = env.bundle;
    const meeting = env.emulator.createMeeting({ people: 0 });
    const call = await graph.calls.joinMeeting({
      callbackUri: `${callbacks.url}/api/calling`,
      joinWebUrl: meeting.joinWebUrl,
      mediaConfig: serviceHostedMediaConfig(),
      isContentSharingNotificationEnabled: true,
    });
    await untilEstablished(graph, call.id!);
    const sid = env.emulator.startContentSharing(call.id!);
    const started = await waitForCallback((b) => b?.value?.[0]?.resourceUrl === `/communications/calls/${call.id}/contentsharingsessions`);
    expect(compareShape(vector('notification-create-call-content-sharing-started.json'), started)).toEqual([]);
    expect(parseCallNotifications(started)[0]).toMatchObject({ kind: 'contentSharing', changeType: 'created', sessionIds: [sid] });
    const list = await graph.calls.contentSharingSessions.list(call.id!);
    expect(list.value.map((s) => s.id)).toEqual([sid]);
    expect((await graph.calls.contentSharingSessions.get(call.id!, sid)).id).toBe(sid);
    expect(env.emulator.stopContentSharing(call.id!, sid)).toBe(true);
    const ended = await waitForCallback((b) => b?.value?.[0]?.resourceUrl === `/communications/calls/${call.id}/contentsharingsessions/${sid}`);
    expect(compareShape(vector('notification-call-answer-content-sharing-ended.json'), ended)).toEqual([]);
    expect(parseCallNotifications(ended)[0]).toMatchObject({ kind: 'contentSharing', changeType: 'deleted', sessionIds: [sid] });
    expect((await failure(graph.calls.contentSharingSessions.get(call.id!, sid))).status).toBe(404);
    await graph.calls.delete(call.id!);
  });

  it('no content-sharing notifications unless the bot asked for them', async () => {
    const { graph } = env.bundle;
    const meeting = env.emulator.createMeeting({ people: 0 });
    const call = await graph.calls.joinMeeting({ callbackUri: `${callbacks.url}/quiet`, joinWebUrl: meeting.joinWebUrl, mediaConfig: serviceHostedMediaConfig() });
    await untilEstablished(graph, call.id!);
    env.emulator.startContentSharing(call.id!);
    await env.emulator.drainNotifications();
    expect((await graph.calls.contentSharingSessions.list(call.id!)).value).toHaveLength(1);
    expect(callbacks.requests.filter((r) => r.path === '/quiet' && JSON.stringify(r.body).includes('contentsharingsessions'))).toEqual([]);
    await graph.calls.delete(call.id!);
  });

  it('logTeleconferenceDeviceQuality accepts the docs body and refuses an empty one', async () => {
    const { graph } = env.bundle;
    const res = await graph.calls.logTeleconferenceDeviceQuality(vector('call-logteleconferencedevicequality.request.json').quality);
    expect(res.status).toBe(200);
    expect(env.emulator.deviceQualityReports().at(-1)).toMatchObject({ deviceName: 'TestAgent' });
    expect((await failure(graph.calls.logTeleconferenceDeviceQuality({}))).status).toBe(400);
  });
});
