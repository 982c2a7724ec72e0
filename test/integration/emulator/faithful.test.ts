import { constants, createDecipheriv, createHmac, privateDecrypt, X509Certificate } from 'node:crypto';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../../../testing/emulator/index.js';
import {
  CallbackServer,
  HAVE_VECTORS,
  compareShape,
  getToken,
  isCallState,
  isOperation,
  isRoster,
  item,
  request,
  startEmulator,
  vector,
  type Captured,
} from './helpers.js';

/**
 * Keys of the docs' examples the emulator deliberately does not produce (or types differently),
 * each with the reason. Paths are normalized: $ is the body, [] any array element.
 */
const JUSTIFIED: Record<string, string> = {
  '$.value[].resource': 'legacy "/app/calls/..." resource path of old notification payloads; the emulator sends resourceUrl only',
};

function expectShape(name: string, actual: unknown, ignore: Record<string, string> = {}): void {
  const diffs = compareShape(vector(name), actual, { ...JUSTIFIED, ...ignore });
  expect(diffs, `${name} differs`).toEqual([]);
}

describe.skipIf(!HAVE_VECTORS)('emulator responses and notifications match the Graph docs examples', () => {
  let emu: Emulator;
  let cb: CallbackServer;
  let token: string;
  let callbackUri: string;

  const graph = (method: string, path: string, body?: unknown, version = 'v1.0') => request(emu, method, `/${version}${path}`, { token, ...(body !== undefined ? { body } : {}) });
  const withCb = (name: string): any => ({ ...vector(name), callbackUri });

  /** Places a call from a vector request body and waits until the emulator reports it established. */
  async function established(name: string, patch: (b: any) => any = (b) => b): Promise<{ id: string; body: any }> {
    const res = await graph('POST', '/communications/calls', patch(withCb(name)));
    expect(res.status, res.text).toBe(201);
    await cb.waitFor(isCallState(res.body.id, 'established'), 10_000, `${name} established`);
    return { id: res.body.id, body: res.body };
  }

  beforeAll(async () => {
    // The docs' examples name these tenants; here they are tenants that consented to the app.
    emu = await startEmulator({ otherTenants: ['72f988bf-86f1-41af-91ab-2d7cd011db47', '86dc81db-c112-4228-9222-63f3esaa1edb'] });
    cb = new CallbackServer();
    await cb.start();
    callbackUri = `${cb.url}/api/calling`;
    token = await getToken(emu);
  });

  afterAll(async () => {
    await emu?.close();
    await cb?.close();
  });

  describe('calls', () => {
    const creates = [
      'create-call-service-hosted-media-1',
      'create-call-service-hosted-media-2',
      'create-call-service-hosted-media-3',
      'create-call-app-hosted-media',
      'create-group-call-app-hosted-media',
      'create-group-call-service-hosted-media',
      'join-scheduled-meeting-app-hosted-media',
      'join-scheduled-meeting-service-hosted-media',
      'join-meeting-with-join-meeting-id-and-passcode',
      'join-meeting-with-join-meeting-id-and-without-passcode',
    ];
    for (const name of creates) {
      it(`POST /communications/calls: ${name}`, async () => {
        const req = withCb(`${name}.request.json`);
        if (name === 'create-call-service-hosted-media-3' || name === 'create-call-app-hosted-media') {
          // Examples 3/app: the request file may omit the media config the response shows.
          req.mediaConfig ??= { '@odata.type': '#microsoft.graph.appHostedMediaConfig', blob: '<Media Session Configuration>' };
        }
        // App-hosted media requires a blob; some docs requests leave it out.
        if (String(req.mediaConfig?.['@odata.type']).endsWith('appHostedMediaConfig')) req.mediaConfig.blob ??= '<Media Session Configuration>';
        const res = await graph('POST', '/communications/calls', req);
        expect(res.status, res.text).toBe(201);
        expect(res.headers['location']).toContain(`/communications/calls/${res.body.id}`);
        expectShape(`${name}.response.json`, res.body, {
          '$.mediaConfig.preFetchMedia': 'echoes the request: the docs response lists prefetch media the example request never sent',
        });
        await graph('DELETE', `/communications/calls/${res.body.id}`);
      });
    }

    it('outgoing call notifications: establishing, established', async () => {
      const { id } = await established('create-call-service-hosted-media-1.request.json');
      expectShape('notification-create-call-establishing.json', (await cb.waitFor(isCallState(id, 'establishing'))).body);
      expectShape('notification-create-call-established.json', (await cb.waitFor(isCallState(id, 'established'))).body);
      const get = await graph('GET', `/communications/calls/${id}`);
      expect(get.status).toBe(200);
      expectShape('get-call-1.response.json', get.body, {
        '$.mediaConfig.preFetchMedia': 'echoes the request, which had no prefetch media',
      });
      await graph('DELETE', `/communications/calls/${id}`);
      expectShape('notification-call-delete-terminating.json', (await cb.waitFor(isCallState(id, 'terminating'))).body);
      const terminated = await cb.waitFor(isCallState(id, 'terminated'));
      expectShape('notification-call-delete-terminated.json', terminated.body, {
        '$.value[].resourceData.resultInfo.code': 'the docs example quotes code/subcode as strings; Graph schema (and the other examples) use Int32',
        '$.value[].resourceData.resultInfo.subcode': 'as above',
      });
      expect(item(terminated).changeType).toBe('deleted');
      expect(item(terminated).resourceData.resultInfo).toMatchObject({ code: 200, subcode: 5001 });
    });

    it('meeting join notifications and GET call / participants', async () => {
      const { id } = await established('join-scheduled-meeting-service-hosted-media.request.json');
      expectShape('notification-join-meeting-establishing.json', (await cb.waitFor(isCallState(id, 'establishing'))).body);
      expectShape('notification-join-meeting-established.json', (await cb.waitFor(isCallState(id, 'established'))).body);
      const roster = await cb.waitFor(isRoster(id, (l) => l.length >= 2), 10_000, 'roster with a simulated person');
      expectShape('notification-join-meeting-roster.json', roster.body, {
        '$.value[].resourceData[].mediaStreams': 'participants have one audio stream; the emulator simulates no video',
      });
      const get = await graph('GET', `/communications/calls/${id}`);
      expectShape('get-call-2.response.json', get.body);
      const parts = await graph('GET', `/communications/calls/${id}/participants`);
      expect(parts.status).toBe(200);
      expectShape('get-participants.response.json', parts.body);
      const bot = parts.body.value.find((p: any) => p.info.identity.application);
      const one = await graph('GET', `/communications/calls/${id}/participants/${bot.id}`);
      expectShape('get-participant.response.json', one.body);
      await graph('DELETE', `/communications/calls/${id}`);
    });
  });

  describe('service-hosted media operations', () => {
    let id: string;
    beforeAll(async () => {
      ({ id } = await established('create-call-service-hosted-media-1.request.json'));
    });
    afterAll(async () => {
      await graph('DELETE', `/communications/calls/${id}`);
    });

    it('playPrompt: running operation, then completed notification', async () => {
      const res = await graph('POST', `/communications/calls/${id}/playPrompt`, vector('call-playprompt.request.json'));
      expect(res.status).toBe(200);
      expect(res.headers['location']).toContain(`/communications/calls/${id}/operations/${res.body.id}`);
      expectShape('call-playprompt.response.json', res.body);
      const done = await cb.waitFor(isOperation(id, res.body.id));
      expectShape('notification-call-playprompt-operation-completed.json', done.body);
      expect(item(done).resourceData.status).toBe('completed');
    });

    it('recordResponse: recording served with its access token', async () => {
      const body = { ...vector('call-recordresponse.request.json'), maxRecordDurationInSeconds: 1 };
      const res = await graph('POST', `/communications/calls/${id}/recordResponse`, body);
      expect(res.status).toBe(200);
      expectShape('call-recordresponse.response.json', res.body);
      const done = await cb.waitFor(isOperation(id, res.body.id));
      expectShape('notification-call-recordresponse-operation-completed.json', done.body);
      const data = item(done).resourceData;
      expect(data.resultInfo).toMatchObject({ code: 200, subcode: 8515 });
      const loc = new URL(data.recordingLocation);
      const wav = await request(emu, 'GET', loc.pathname, { token: data.recordingAccessToken });
      expect(wav.status).toBe(200);
      expect(wav.headers['content-type']).toBe('audio/wav');
      expect(wav.text.slice(0, 4)).toBe('RIFF');
      const denied = await request(emu, 'GET', loc.pathname, { token: 'wrong' });
      expect(denied.status).toBe(401);
    });

    it('cancelMediaProcessing cancels a running recordResponse', async () => {
      const rec = await graph('POST', `/communications/calls/${id}/recordResponse`, { ...vector('call-recordresponse.request.json'), maxRecordDurationInSeconds: 30 });
      expect(rec.status).toBe(200);
      const res = await graph('POST', `/communications/calls/${id}/cancelMediaProcessing`, vector('call-cancelmediaprocessing.request.json'));
      expect(res.status).toBe(200);
      expectShape('call-cancelmediaprocessing.response.json', res.body);
      const canceled = await cb.waitFor(isOperation(id, rec.body.id));
      expectShape('notification-call-cancelmediaprocessing-recordresponse-canceled.json', canceled.body);
      expect(item(canceled).resourceData).toMatchObject({ status: 'failed', resultInfo: { code: 400, subcode: 8508 } });
    });

    it('subscribeToTone then a DTMF tone from the far end', async () => {
      const res = await graph('POST', `/communications/calls/${id}/subscribeToTone`, vector('call-subscribetotone.request.json'));
      expect(res.status).toBe(200);
      expectShape('call-subscribetotone.response.json', res.body);
      expect(emu.sendTone(id, 'tone1')).toBe(true);
      const tone = await cb.waitFor((c) => item(c)?.resourceData?.toneInfo?.tone === 'tone1');
      expectShape('notification-call-subscribetotone-tone.json', tone.body);
    });

    it('sendDtmfTones completes', async () => {
      const res = await graph('POST', `/communications/calls/${id}/microsoft.graph.sendDtmfTones`, { ...vector('call-senddtmftones.request.json'), delayBetweenTonesMs: 10 });
      expect(res.status).toBe(200);
      expectShape('call-senddtmftones.response.json', res.body);
      const done = await cb.waitFor(isOperation(id, res.body.id));
      expectShape('notification-call-senddtmftones-operation-completed.json', done.body);
      expect(item(done).resourceData.completionReason).toBe('completedSuccessfully');
    });

    it('sendDtmfTones canceled reports mediaOperationCanceled', async () => {
      const res = await graph('POST', `/communications/calls/${id}/sendDtmfTones`, { ...vector('call-senddtmftones.request.json'), delayBetweenTonesMs: 5000 });
      await graph('POST', `/communications/calls/${id}/cancelMediaProcessing`, {});
      const done = await cb.waitFor(isOperation(id, res.body.id));
      expectShape('notification-call-senddtmftones-operation-error-1.json', done.body);
      expect(item(done).resourceData.completionReason).toBe('mediaOperationCanceled');
    });

    it('updateRecordingStatus is refused with 8506 outside policy-based recording, as Graph does', async () => {
      const res = await graph('POST', `/communications/calls/${id}/updateRecordingStatus`, { ...vector('call-updaterecordingstatus.request.json'), status: 'recording' });
      expect(res.status).toBe(403);
      expect(res.body.error).toMatchObject({ code: '8506', message: 'API call not allowed for non-Compliance Recording call' });
    });
  });

  describe('group call with app-hosted media', () => {
    let id: string;
    beforeAll(async () => {
      ({ id } = await established('create-group-call-app-hosted-media.request.json'));
      await cb.waitFor(isRoster(id, (l) => l.length >= 3), 10_000, 'group roster');
    });
    afterAll(async () => {
      await graph('DELETE', `/communications/calls/${id}`);
    });

    it('mute and unmute the bot, with roster notifications', async () => {
      const before = cb.received.length;
      const res = await graph('POST', `/communications/calls/${id}/mute`, vector('call-mute.request.json'));
      expect(res.status).toBe(200);
      expectShape('call-mute.response.json', res.body);
      const roster = await cb.waitFor((c) => cb.received.indexOf(c) >= before && isRoster(id, (l) => l.some((p: any) => p.isMuted))(c));
      expectShape('notification-call-mute-roster-updated-participant-muted.json', roster.body);
      const un = await graph('POST', `/communications/calls/${id}/unmute`, vector('call-unmute.request.json'));
      expectShape('call-unmute.response.json', un.body);
      const after = await cb.waitFor((c) => cb.received.indexOf(c) > cb.received.indexOf(roster) && isRoster(id)(c));
      expectShape('notification-call-unmute-roster-updated-participant-unmuted.json', after.body);
    });

    it('changeScreenSharingRole', async () => {
      const res = await graph('POST', `/communications/calls/${id}/changeScreenSharingRole`, { role: 'sharer' });
      expect(res.status).toBe(202);
      const roster = await cb.waitFor(isRoster(id, (l) => l.some((p: any) => p.mediaStreams.some((s: any) => s.mediaType === 'videoBasedScreenSharing'))));
      expectShape('notification-call-changescreensharingrole-roster-updated.json', roster.body);
    });

    it('addLargeGalleryView', async () => {
      const res = await graph('POST', `/communications/calls/${id}/addLargeGalleryView`, vector('call-addlargegalleryview.request.json'));
      expect(res.status).toBe(202);
      expectShape('call-addlargegalleryview.response.json', res.body);
      expectShape('notification-call-addlargegalleryview-operation-completed.json', (await cb.waitFor(isOperation(id, res.body.id))).body);
    });

    it('participant mute, hold music start/stop', async () => {
      const parts = await graph('GET', `/communications/calls/${id}/participants`);
      const other = parts.body.value.find((p: any) => p.info.identity.user);
      const mute = await graph('POST', `/communications/calls/${id}/participants/${other.id}/mute`, vector('participant-mute.request.json'));
      expect(mute.status).toBe(200);
      expectShape('participant-mute.response.json', mute.body);
      const start = await graph('POST', `/communications/calls/${id}/participants/${other.id}/startHoldMusic`, vector('participant-startholdmusic.request.json'));
      expect(start.status).toBe(202);
      expectShape('participant-startholdmusic.response.json', start.body);
      expectShape('notification-participant-startholdmusic-operation-completed.json', (await cb.waitFor(isOperation(id, start.body.id))).body);
      const stop = await graph('POST', `/communications/calls/${id}/participants/${other.id}/stopHoldMusic`, vector('participant-stopholdmusic.request.json'));
      expect(stop.status).toBe(202);
      expectShape('participant-stopholdmusic.response.json', stop.body);
      expectShape('notification-participant-stopholdmusic-operation-completed.json', (await cb.waitFor(isOperation(id, stop.body.id))).body);
    });

    for (const name of ['participant-invite-1', 'participant-invite-pstn', 'participant-invite-multiple', 'participant-invite-existing']) {
      it(`invite: ${name}`, async () => {
        const res = await graph('POST', `/communications/calls/${id}/participants/invite`, vector(`${name}.request.json`));
        expect(res.status, res.text).toBe(200);
        expectShape(`${name}.response.json`, res.body);
        const done = await cb.waitFor(isOperation(id, res.body.id));
        const short = name.replace('participant-invite-', '');
        expectShape(`notification-participant-invite-${short}-operation-completed.json`, done.body);
        const rosterNote = cb.received.filter(isRoster(id)).pop() as Captured;
        expectShape(`notification-participant-invite-${short}-roster-updated.json`, rosterNote.body, {
          '$.value[].resourceData[].info.@odata.type': 'the 2021 docs snapshot types roster info as invitationParticipantInfo; participant.info is a participantInfo',
        });
      });
    }

    it('invite then DELETE the invitee before it joins: 204 and the invitation fails', async () => {
      const res = await graph('POST', `/communications/calls/${id}/participants/invite`, vector('participant-invite-nonactive-participant.request.json'));
      expect(res.status, res.text).toBe(200);
      expectShape('participant-invite-nonactive-participant.response.json', res.body);
      const del = await graph('DELETE', `/communications/calls/${id}/participants/${res.body.id}`);
      expect(del.status).toBe(204);
      const done = await cb.waitFor(isOperation(id, res.body.id));
      expect(item(done).resourceData.status).toBe('failed');
    });

    it('DELETE a participant removes it from the roster', async () => {
      const parts = await graph('GET', `/communications/calls/${id}/participants`);
      const victim = parts.body.value.find((p: any) => p.info.identity.user);
      const before = cb.received.length;
      expect((await graph('DELETE', `/communications/calls/${id}/participants/${victim.id}`)).status).toBe(204);
      await cb.waitFor((c) => cb.received.indexOf(c) >= before && isRoster(id, (l) => !l.some((p: any) => p.id === victim.id))(c));
      expect((await graph('GET', `/communications/calls/${id}/participants/${victim.id}`)).status).toBe(404);
      expect((await graph('DELETE', `/communications/calls/${id}/participants/${victim.id}`)).status).toBe(404);
    });

    it('beta muteAll and configureMixer', async () => {
      const all = await graph('POST', `/app/calls/${id}/participants/muteAll`, vector('beta-participant-muteall.request.json'), 'beta');
      expect(all.status).toBe(200);
      expectShape('beta-participant-muteall.response.json', all.body);
      const mix = await graph('POST', `/communications/calls/${id}/participants/configureMixer`, vector('beta-participant-configuremixer.request.json'), 'beta');
      expect(mix.status).toBe(200);
      expect(mix.headers['location']).toContain('/beta/communications/calls/');
      expectShape('beta-participant-configuremixer.response.json', mix.body);
      expectShape('notification-beta-participant-configuremixer-operation-completed.json', (await cb.waitFor(isOperation(id, mix.body.id))).body, {
        '$.value[].@odata.type': 'the docs example types the notification item as commsOperation (doc quirk); the emulator sends commsNotification',
      });
    });
  });

  describe('incoming calls', () => {
    it('incoming notification, answer with app-hosted media, established', async () => {
      const id = emu.placeIncomingCall({ callbackUri, from: { displayName: 'Test User' } });
      expectShape('notification-call-answer-incoming.json', (await cb.waitFor(isCallState(id, 'incoming'))).body);
      expectShape('notification-call-answer-incoming-app-hosted.json', (await cb.waitFor(isCallState(id, 'incoming'))).body);
      const res = await graph('POST', `/communications/calls/${id}/answer`, { ...vector('call-answer-app-hosted-media.request.json'), callbackUri });
      expect(res.status).toBe(202);
      expectShape('notification-call-answer-establishing.json', (await cb.waitFor(isCallState(id, 'establishing'))).body);
      expectShape('notification-call-answer-established.json', (await cb.waitFor(isCallState(id, 'established'))).body);
      await graph('DELETE', `/communications/calls/${id}`);
    });

    it('a policy-based recording invite: incomingContext, answer, updateRecordingStatus succeeds', async () => {
      const id = emu.placeIncomingCall({ callbackUri, policyBasedRecording: true });
      const incoming = await cb.waitFor(isCallState(id, 'incoming'));
      expectShape('notification-call-answer-incoming-policy-based-recording.json', incoming.body, {
        '$.value[].resourceData.meetingInfo': 'the simulated compliance invite is a one-to-one call, not a meeting',
        '$.value[].resourceData.applicationMetadata': 'opaque bot data the emulator does not invent',
        '$.value[].resourceData.targets[].region': 'null in the example; the emulator leaves it out',
        '$.value[].resourceData.targets[].languageId': 'as above',
        '$.value[].resourceData.targets[].id': 'as above',
        '$.value[].resourceData.targets[].endpointType': 'as above',
        '$.value[].resourceData.source.endpointType': 'as above',
        '$.value[].resourceData.source.identity.user.identityProvider': 'as above',
        '$.value[].resourceData.targets[].identity.applicationInstance.identityProvider': 'as above',
      });
      expect(item(incoming).resourceData.incomingContext).toMatchObject({ observedParticipantId: expect.any(String) });
      await graph('POST', `/communications/calls/${id}/answer`, { ...vector('call-answer-service-hosted-media.request.json'), callbackUri });
      await cb.waitFor(isCallState(id, 'established'));
      const res = await graph('POST', `/communications/calls/${id}/updateRecordingStatus`, { ...vector('call-updaterecordingstatus.request.json'), status: 'recording' });
      expect(res.status, res.text).toBe(200);
      expectShape('call-updaterecordingstatus.response.json', res.body);
      expect(emu.callDetails(id)?.['recordingStatus']).toBe('recording');
      await graph('DELETE', `/communications/calls/${id}`);
    });

    it('reject ends the call with a deleted notification', async () => {
      const id = emu.placeIncomingCall({ callbackUri });
      const incoming = await cb.waitFor(isCallState(id, 'incoming'));
      expectShape('notification-call-reject-incoming.json', incoming.body, {
        '$.value[].resourceData.requestedModalities': 'the simulated caller offers audio only',
      });
      const res = await graph('POST', `/communications/calls/${id}/reject`, vector('call-reject.request.json'));
      expect(res.status).toBe(202);
      const deleted = await cb.waitFor((c) => item(c)?.resourceUrl === `/communications/calls/${id}` && item(c)?.changeType === 'deleted');
      expectShape('notification-call-reject-deleted.json', deleted.body);
      expect((await graph('GET', `/communications/calls/${id}`)).status).toBe(404);
    });

    it('redirect ends the call', async () => {
      const id = emu.placeIncomingCall({ callbackUri });
      expectShape('notification-call-redirect-simulring-incoming.json', (await cb.waitFor(isCallState(id, 'incoming'))).body, {
        '$.value[].resourceData.targets[].@odata.type': 'call.targets is a collection of invitationParticipantInfo in the Graph schema; this example types it participantInfo',
      });
      const res = await graph('POST', `/communications/calls/${id}/redirect`, vector('call-redirect-1.request.json'));
      expect(res.status).toBe(202);
      const done = await cb.waitFor(isCallState(id, 'terminated'));
      expectShape('notification-call-redirect-simulring-terminated.json', done.body, {
        '$.value[].resourceData.targets[].@odata.type': 'call.targets is a collection of invitationParticipantInfo in the Graph schema; this example types it participantInfo',
      });
      expectShape('notification-call-redirect-terminated.json', done.body, {
        '$.value[].resourceData.targets[].@odata.type': 'call.targets is a collection of invitationParticipantInfo in the Graph schema; this example types it participantInfo',
      });
    });

    it('blind transfer: transferring, transferAccepted, terminated 0/7015', async () => {
      const id = emu.placeIncomingCall({ callbackUri });
      await cb.waitFor(isCallState(id, 'incoming'));
      await graph('POST', `/communications/calls/${id}/answer`, { ...vector('call-answer-service-hosted-media.request.json'), callbackUri });
      await cb.waitFor(isCallState(id, 'established'));
      const res = await graph('POST', `/communications/calls/${id}/transfer`, vector('call-transfer-1.request.json'));
      expect(res.status).toBe(202);
      expectShape('notification-call-transfer-transferring.json', (await cb.waitFor(isCallState(id, 'transferring'))).body);
      expectShape('notification-call-transfer-transfer-accepted.json', (await cb.waitFor(isCallState(id, 'transferAccepted'))).body);
      const done = await cb.waitFor(isCallState(id, 'terminated'));
      expectShape('notification-call-transfer-transfer-completed.json', done.body);
      expect(item(done).resourceData.resultInfo).toMatchObject({ code: 0, subcode: 7015 });
    });
  });

  describe('online meetings', () => {
    it('create, createOrGet, get by id, by joinWebUrl, by joinMeetingId, by VTC id', async () => {
      const created = await graph('POST', `/users/${emu.clientId}/onlineMeetings`, vector('create-onlinemeeting-user-token.request.json'));
      expect(created.status).toBe(201);
      expectShape('create-onlinemeeting-user-token.response.json', created.body, {
        '$.audioConferencing.ConferenceId': 'doc typo of conferenceId (which the emulator sends)',
      });
      // Graph refuses /me with an application token; a delegated (signed-in user) token may use it.
      const refused = await graph('POST', '/me/onlineMeetings', vector('create-online-meeting-with-passcode.request.json'));
      expect(refused.status).toBe(400);
      expect(refused.body.error).toMatchObject({ code: 'BadRequest', message: '/me request is only valid with delegated authentication flow.' });
      const meToken = await emu.delegatedToken('b5d7c2a0-1111-4222-8333-444455556666');
      const meMeeting = await request(emu, 'POST', '/v1.0/me/onlineMeetings', { token: meToken, body: vector('create-online-meeting-with-passcode.request.json') });
      expect(meMeeting.status, meMeeting.text).toBe(201);
      expect(meMeeting.body.joinMeetingIdSettings.isPasscodeRequired).toBe(true);
      const first = await graph('POST', `/users/${emu.clientId}/onlineMeetings/createOrGet`, vector('create-or-get-onlinemeeting.request.json'));
      expect(first.status).toBe(201);
      const again = await graph('POST', `/users/${emu.clientId}/onlineMeetings/createOrGet`, vector('create-or-get-onlinemeeting.request.json'));
      expect(again.status).toBe(200);
      expect(again.body.id).toBe(first.body.id);
      expectShape('create-or-get-onlinemeeting.response.json', again.body);
      const byId = await graph('GET', `/users/${emu.clientId}/onlineMeetings/${created.body.id}`);
      expectShape('get-onlinemeeting-user-token.response.json', byId.body);
      const url = encodeURIComponent(`JoinWebUrl eq '${created.body.joinWebUrl}'`);
      const byUrl = await graph('GET', `/users/${emu.clientId}/onlineMeetings?$filter=${url}`);
      expect(byUrl.body.value).toHaveLength(1);
      expectShape('get-onlinemeeting-joinurl-user-token.response.json', byUrl.body);
      const byJoinId = await graph('GET', `/users/${emu.clientId}/onlineMeetings?$filter=${encodeURIComponent(`joinMeetingIdSettings/joinMeetingId eq '${created.body.joinMeetingIdSettings.joinMeetingId}'`)}`);
      expectShape('get-an-online-meeting-by-joinmeetingid.response.json', byJoinId.body);
      const byVtc = await graph('GET', `/communications/onlineMeetings/?$filter=${encodeURIComponent(`VideoTeleconferenceId eq '${first.body.videoTeleconferenceId}'`)}`);
      expect(byVtc.status, byVtc.text).toBe(200);
      expect(byVtc.body.id).toBe(first.body.id);
      expectShape('get-onlinemeeting-by-vtcid.response.json', byVtc.body, {
        '$.audioConferencing.ConferenceId': 'doc typo of conferenceId (which the emulator sends)',
        '$.participants.organizer.@odata.type': 'the example types the organizer as identitySet; the schema type is meetingParticipantInfo (which the emulator sends)',
        '$.participants.attendees[].@odata.type': 'as above, for attendees',
      });
    });
  });

  describe('presence', () => {
    const user = 'fa8bf3dc-eca7-46b7-bad1-db199b62afc3';
    it('set/clear presence, preferred presence, status message, get, getPresencesByUserId, change notification', async () => {
      const subBody = {
        ...vector('subscription-presence-single.request.json'),
        notificationUrl: `${cb.url}/presence`,
        lifecycleNotificationUrl: `${cb.url}/lifecycle`,
        resource: `/communications/presences/${user}`,
        includeResourceData: false,
        expirationDateTime: new Date(Date.now() + 30 * 60_000).toISOString(),
      };
      // Presence subscriptions are delegated-only: the application token is refused.
      const refused = await graph('POST', '/subscriptions', subBody);
      expect(refused.status).toBe(403);
      expect(refused.body.error.message).toMatch(/not supported with application permissions/);
      const userToken = await emu.delegatedToken('c0ffee00-1111-4222-8333-444455556666');
      const sub = await request(emu, 'POST', '/v1.0/subscriptions', { token: userToken, body: subBody });
      expect(sub.status, sub.text).toBe(201);
      expectShape('subscription-create.response.json', sub.body);
      for (const [action, file] of [
        ['setPresence', 'presence-setpresence.request.json'],
        ['setUserPreferredPresence', 'presence-setuserpreferredpresence.request.json'],
        ['setStatusMessage', 'presence-setstatusmessage.request.json'],
      ] as const) {
        const res = await graph('POST', `/users/${user}/presence/${action}`, vector(file));
        expect(res.status, `${action}: ${res.text}`).toBe(200);
      }
      const got = await graph('GET', `/users/${user}/presence`);
      expect(got.body).toMatchObject({ availability: 'DoNotDisturb', activity: 'DoNotDisturb' });
      expectShape('get-user-presence.response.json', got.body);
      expectShape('presence-setstatusmessage-another-user-get-presence.response.json', got.body);
      expect((await graph('GET', '/me/presence')).status).toBe(400);
      const mine = await request(emu, 'GET', '/v1.0/me/presence', { token: userToken });
      expect(mine.status, mine.text).toBe(200);
      expectShape('get-your-presence.response.json', mine.body);
      // The docs show this single-entity GET wrapped in value[]; the emulator returns the entity.
      expectShape('get-user-presences.response.json', { value: [(await graph('GET', `/communications/presences/${user}`)).body] });
      const many = await graph('POST', '/communications/getPresencesByUserId', vector('get-presence-multiple-users.request.json'));
      expectShape('get-presence-multiple-users.response.json', many.body);
      expect((await graph('POST', `/users/${user}/presence/clearUserPreferredPresence`, {})).status).toBe(200);
      expect((await graph('POST', `/users/${user}/presence/clearPresence`, vector('presence-clearpresence.request.json'))).status).toBe(200);
      expect((await graph('GET', `/users/${user}/presence`)).body).toMatchObject({ availability: 'Offline' });
      const note = await cb.waitFor((c) => c.path === '/presence' && c.body?.value?.[0]?.subscriptionId === sub.body.id);
      expectShape('notification-changenotification-presence-basic.json', note.body);
    });
  });

  describe('rich presence notifications and lifecycle events', () => {
    it('encrypts the presence for the subscriber certificate and adds validation tokens', async () => {
      const user = '66825e03-7ef5-42da-9069-724602c31f6b';
      const pems = await generate([{ name: 'commonName', value: 'notifications' }], { keyType: 'rsa', keySize: 2048, algorithm: 'sha256' });
      const certB64 = new X509Certificate(pems.cert).raw.toString('base64');
      const sub = await request(emu, 'POST', '/v1.0/subscriptions', {
        token: await emu.delegatedToken(user),
        body: {
          ...vector('subscription-presence-single.request.json'),
          notificationUrl: `${cb.url}/rich`,
          lifecycleNotificationUrl: `${cb.url}/lifecycle`,
          resource: `/communications/presences/${user}`,
          encryptionCertificate: certB64,
          encryptionCertificateId: 'cert-1',
          expirationDateTime: new Date(Date.now() + 30 * 60_000).toISOString(),
        },
      });
      expect(sub.status, sub.text).toBe(201);
      expect((await graph('POST', `/users/${user}/presence/setPresence`, { sessionId: emu.clientId, availability: 'Busy', activity: 'InACall' })).status).toBe(200);
      const note = await cb.waitFor((c) => c.path === '/rich');
      expectShape('notification-changenotification-presence-with-resource-data.json', note.body);
      const enc = note.body.value[0].encryptedContent;
      const key = privateDecrypt({ key: pems.private, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, Buffer.from(enc.dataKey, 'base64'));
      const data = Buffer.from(enc.data, 'base64');
      expect(createHmac('sha256', key).update(data).digest('base64')).toBe(enc.dataSignature);
      const decipher = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16));
      const decrypted = JSON.parse(Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8'));
      expectShape('notification-changenotification-presence-decrypted.json', decrypted);
      expect(decrypted).toMatchObject({ id: user, availability: 'Busy', activity: 'InACall' });
      const jwks = await request(emu, 'GET', `/${emu.tenantId}/discovery/v2.0/keys`);
      const { payload } = await jwtVerify(note.body.validationTokens[0], createLocalJWKSet(jwks.body), { audience: emu.clientId });
      expect(payload['azp']).toBe('0bf30f3b-4a52-48df-9a82-234910c4a086');
      expect(emu.sendLifecycleEvent(sub.body.id, 'reauthorizationRequired')).toBe(true);
      const life = await cb.waitFor((c) => c.path === '/lifecycle' && c.body?.value?.[0]?.subscriptionId === sub.body.id);
      expectShape('notification-lifecycle-template.json', life.body);
      expect(life.body.value[0].lifecycleEvent).toBe('reauthorizationRequired');
    });

    it('refuses includeResourceData with a certificate that is not one', async () => {
      const res = await request(emu, 'POST', '/v1.0/subscriptions', {
        token: await emu.delegatedToken('66825e03-7ef5-42da-9069-724602c31f6b'),
        body: { ...vector('subscription-presence-single.request.json'), notificationUrl: `${cb.url}/rich`, expirationDateTime: new Date(Date.now() + 30 * 60_000).toISOString() },
      });
      expect(res.status).toBe(400);
    });

    it('sends subscriptionRemoved when a subscription expires', async () => {
      const sub = await graph('POST', '/subscriptions', {
        ...vector('subscription-callrecords.request.json'),
        notificationUrl: `${cb.url}/records2`,
        lifecycleNotificationUrl: `${cb.url}/lifecycle2`,
        expirationDateTime: new Date(Date.now() + 1500).toISOString(),
      });
      expect(sub.status, sub.text).toBe(201);
      const reauth = await cb.waitFor((c) => c.path === '/lifecycle2' && c.body.value[0].lifecycleEvent === 'reauthorizationRequired', 5000);
      expect(reauth.body.value[0].subscriptionId).toBe(sub.body.id);
      await cb.waitFor((c) => c.path === '/lifecycle2' && c.body.value[0].lifecycleEvent === 'subscriptionRemoved', 5000);
      expect((await graph('GET', `/subscriptions/${sub.body.id}`)).status).toBe(404);
    });
  });

  describe('call records and subscriptions', () => {
    it('a finished call yields a callRecord, its change notification, sessions and segments', async () => {
      const sub = await graph('POST', '/subscriptions', {
        ...vector('subscription-callrecords.request.json'),
        notificationUrl: `${cb.url}/records`,
        lifecycleNotificationUrl: `${cb.url}/lifecycle`,
        expirationDateTime: new Date(Date.now() + 3600_000).toISOString(),
      });
      expect(sub.status, sub.text).toBe(201);
      expectShape('subscription-create.response.json', sub.body);
      const renewed = await graph('PATCH', `/subscriptions/${sub.body.id}`, { expirationDateTime: new Date(Date.now() + 7200_000).toISOString() });
      expect(renewed.status).toBe(200);
      expectShape('subscription-create.response.json', renewed.body);

      // A PSTN call (for the PSTN usage reports) and a meeting call (a user organizer, as in the examples).
      const pstnCall = await established('create-call-service-hosted-media-2.request.json');
      await cb.waitFor(isRoster(pstnCall.id, (l) => l.length >= 2));
      await graph('DELETE', `/communications/calls/${pstnCall.id}`);
      const { id, body } = await established('join-scheduled-meeting-service-hosted-media.request.json');
      await cb.waitFor(isRoster(id, (l) => l.length >= 2));
      await graph('DELETE', `/communications/calls/${id}`);
      const note = await cb.waitFor((c) => c.path === '/records' && c.body?.value?.[0]?.resourceData?.id === body.callChainId);
      expectShape('notification-changenotification-callrecord-created.json', note.body);
      expectShape('notification-changenotification-generic.json', note.body, {
        '$.value[].resourceData.@odata.etag': 'callRecord notifications carry no etag',
        '$.value[].resourceData.@odata.type': 'the generic example is a mail message',
      });

      const rec = await graph('GET', `/communications/callRecords/${body.callChainId}`);
      expect(rec.status).toBe(200);
      expectShape('get_callrecord.response.json', rec.body);
      const expanded = await graph('GET', `/communications/callRecords/${body.callChainId}?$expand=sessions($expand=segments)`);
      expectShape('get_callrecord_expanded.response.json', expanded.body, {
        '$.sessions@odata.nextLink': 'all sessions fit in one page',
        '$.sessions[].callee.feedback': 'no simulated user rates the call',
      });
      const withParticipants = await graph('GET', `/communications/callRecords/${body.callChainId}?$expand=participants_v2`);
      expectShape('get_callrecord_expanded_participants_v2.response.json', withParticipants.body, {
        '$.participants_v2@odata.nextLink': 'all participants fit in one page',
      });
      const sessions = await graph('GET', `/communications/callRecords/${body.callChainId}/sessions`);
      expectShape('get_callrecord_sessions.response.json', sessions.body, {
        '$.@odata.nextLink': 'one page',
        '$.value[].callee.identity.user': "in a meeting the callee endpoint is the bot, whose identity is an application",
        '$.value[].callee.feedback': 'no simulated user rates the call',
      });
      const sessionsExp = await graph('GET', `/communications/callRecords/${body.callChainId}/sessions?$expand=segments`);
      expectShape('get_callrecord_sessions_expanded.response.json', sessionsExp.body, {
        '$.@odata.nextLink': 'one page',
        '$.value[].callee.identity.user': "in a meeting the callee endpoint is the bot, whose identity is an application",
        '$.value[].segments[].callee.identity.user': 'as above',
        '$.value[].callee.feedback': 'no simulated user rates the call',
        '$.value[].caller.feedback': 'as above',
      });
      const list = await graph('GET', '/communications/callRecords');
      expectShape('list_callrecords.response.json', list.body, {
        '$.value[].organizer_v2.identity.phone': "the docs' second record was organized from a phone; emulated calls are organized by a user (meetings) or the bot",
      });
      const since = new Date(Date.now() - 60_000).toISOString();
      const filtered = await graph('GET', `/communications/callRecords?$filter=${encodeURIComponent(`startDateTime ge ${since} and startDateTime lt ${new Date(Date.now() + 60_000).toISOString()}`)}`);
      expect(filtered.body.value.length).toBeGreaterThan(0);
      expectShape('list_callrecords_filter_by_startdatetime.response.json', filtered.body);
      const day = new Date().toISOString().slice(0, 10);
      const next = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
      const pstn = await graph('GET', `/communications/callRecords/getPstnCalls(fromDateTime=${day},toDateTime=${next})`);
      expect(pstn.body.value.length).toBeGreaterThan(0);
      expectShape('callrecord-getpstncalls.response.json', pstn.body, { '$.@odata.nextLink': 'fewer than 1000 rows: one page' });
      const dr = await graph('GET', `/communications/callRecords/getDirectRoutingCalls(fromDateTime=${day},toDateTime=${next})`);
      expectShape('callrecord-getdirectroutingcalls.response.json', dr.body, { '$.@odata.nextLink': 'fewer than 1000 rows: one page' });
      expect((await graph('DELETE', `/subscriptions/${sub.body.id}`)).status).toBe(204);
      expect((await graph('GET', `/subscriptions/${sub.body.id}`)).status).toBe(404);
    });

    it('a subscription whose endpoint does not echo the validationToken is refused', async () => {
      const bad = new CallbackServer();
      bad.echoValidation = false;
      await bad.start();
      // This server answers 202 with an empty body to everything: no echo.
      const res = await request(emu, 'POST', '/v1.0/subscriptions', {
        token,
        body: { ...vector('subscription-callrecords.request.json'), notificationUrl: `${bad.url.replace('127.0.0.1', 'localhost')}/x?noecho=1`, lifecycleNotificationUrl: undefined, expirationDateTime: new Date(Date.now() + 3600_000).toISOString() },
      });
      await bad.close();
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('ValidationError');
    });
  });

  describe('errors', () => {
    it('404 itemNotFound and a basic error body', async () => {
      const res = await graph('GET', '/communications/calls/00000000-0000-0000-0000-000000000000');
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('itemNotFound');
      expectShape('error-basic.response.json', res.body, { '$.error.innerError.requestId': "Graph's current innerError key is request-id (asserted below)" });
      expect(res.body.error.innerError['request-id']).toBe(res.headers['request-id']);
    });

    it('429 throttling from fault injection', async () => {
      emu.injectFault({ status: 429, count: 1, retryAfterSeconds: 2, pathContains: '/communications/callRecords' });
      const res = await graph('GET', '/communications/callRecords');
      expect(res.status).toBe(429);
      expect(res.headers['retry-after']).toBe('2');
      expectShape('error-429-throttled.response.json', res.body);
      expect((await graph('GET', '/communications/callRecords')).status).toBe(200);
    });
  });
});
