import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../../../testing/emulator/index.js';
import { CallbackServer, getToken, isCallState, item, request, startEmulator } from './helpers.js';

describe('call lifecycle rules', () => {
  let emu: Emulator;
  let cb: CallbackServer;
  let token: string;
  const place = async (body: Record<string, unknown> = {}): Promise<string> => {
    const res = await request(emu, 'POST', '/v1.0/communications/calls', {
      token,
      body: { callbackUri: `${cb.url}/cb`, requestedModalities: ['audio'], mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' }, targets: [{ identity: { user: { id: 'u1' } } }], ...body },
    });
    expect(res.status, res.text).toBe(201);
    return res.body.id as string;
  };

  beforeAll(async () => {
    emu = await startEmulator({ timing: { establishMs: 20, answerMs: 20, keepAliveTimeoutMs: 600, ringTimeoutMs: 300 } });
    cb = new CallbackServer();
    await cb.start();
    token = await getToken(emu);
  });
  afterAll(async () => {
    await emu?.close();
    await cb?.close();
  });

  it('ends a call without keepAlive with 408/8537, and keepAlive keeps another one up', async () => {
    const idle = await place();
    const kept = await place();
    const timer = setInterval(() => void request(emu, 'POST', `/v1.0/communications/calls/${kept}/keepAlive`, { token }), 150);
    try {
      const ended = await cb.waitFor(isCallState(idle, 'terminated'), 5000);
      expect(item(ended).resourceData.resultInfo).toMatchObject({ code: 408, subcode: 8537 });
      await new Promise((r) => setTimeout(r, 700));
      expect((await request(emu, 'GET', `/v1.0/communications/calls/${kept}`, { token })).body.state).toBe('established');
    } finally {
      clearInterval(timer);
    }
    expect((await request(emu, 'POST', `/v1.0/communications/calls/${idle}/keepAlive`, { token })).status).toBe(404);
    await request(emu, 'DELETE', `/v1.0/communications/calls/${kept}`, { token });
  });

  it('an unanswered incoming call ends 408/10057 after the ring timeout', async () => {
    const id = emu.placeIncomingCall({ callbackUri: `${cb.url}/cb`, from: { phone: '+15550100' } });
    const ended = await cb.waitFor(isCallState(id, 'terminated'), 5000);
    expect(item(ended).resourceData.resultInfo).toMatchObject({ code: 408, subcode: 10057 });
  });

  it('a PSTN far end hanging up ends the call 200/540000; a P2P user 200/4521', async () => {
    const pstn = await place({ targets: [{ identity: { phone: { id: '+15550199' } } }] });
    await cb.waitFor(isCallState(pstn, 'established'));
    expect((await request(emu, 'POST', `/_emulator/calls/${pstn}/hangUp`)).status).toBe(204);
    expect(item(await cb.waitFor(isCallState(pstn, 'terminated'))).resourceData.resultInfo).toMatchObject({ code: 200, subcode: 540000 });
    const user = await place();
    await cb.waitFor(isCallState(user, 'established'));
    await request(emu, 'POST', `/_emulator/calls/${user}/hangUp`);
    expect(item(await cb.waitFor(isCallState(user, 'terminated'))).resourceData.resultInfo).toMatchObject({ code: 200, subcode: 4521 });
  });

  it('tones are not delivered before subscribeToTone, and joinMeetingId with a wrong passcode is refused', async () => {
    const id = await place();
    await cb.waitFor(isCallState(id, 'established'));
    expect((await request(emu, 'POST', `/_emulator/calls/${id}/tones`, { body: { tone: 'tone5' } })).body.delivered).toBe(false);
    expect((await request(emu, 'POST', `/_emulator/calls/${id}/tones`, { body: { tone: 'bogus' } })).status).toBe(400);
    const meeting = emu.createMeeting({ passcodeRequired: true, people: 0 });
    const settings = meeting['joinMeetingIdSettings'] as { joinMeetingId: string; passcode: string };
    const wrong = await request(emu, 'POST', '/v1.0/communications/calls', {
      token,
      body: { callbackUri: `${cb.url}/cb`, requestedModalities: ['audio'], mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' }, meetingInfo: { '@odata.type': '#microsoft.graph.joinMeetingIdMeetingInfo', joinMeetingId: settings.joinMeetingId, passcode: 'nope' } },
    });
    expect(wrong.status).toBe(403);
    const right = await request(emu, 'POST', '/v1.0/communications/calls', {
      token,
      body: { callbackUri: `${cb.url}/cb`, requestedModalities: ['audio'], mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' }, meetingInfo: { '@odata.type': '#microsoft.graph.joinMeetingIdMeetingInfo', joinMeetingId: settings.joinMeetingId, passcode: settings.passcode } },
    });
    expect(right.status).toBe(201);
    expect(right.body.chatInfo.threadId).toBe((meeting['chatInfo'] as { threadId: string }).threadId);
    await request(emu, 'DELETE', `/v1.0/communications/calls/${right.body.id}`, { token });
    await request(emu, 'DELETE', `/v1.0/communications/calls/${id}`, { token });
  });
});
