import { describe, expect, it } from 'vitest';
import { parseCallNotifications, parseNotificationBody } from '../../../src/signaling/notifications.js';
import { HAVE_VECTORS, loadVector } from './vectors.js';

const CALL = '421f4c00-4436-4c3a-9d9a-c4924cf98e67';
const callData = (state: string) => ({ '@odata.type': '#microsoft.graph.call', state, id: CALL });
const envelope = (resourceData: unknown) => ({
  '@odata.type': '#microsoft.graph.commsNotifications',
  value: [{ '@odata.type': '#microsoft.graph.commsNotification', changeType: 'updated', resourceUrl: `/communications/calls/${CALL}`, resourceData }],
});

describe('call-level notifications whose resourceData is an array', () => {
  it('a one-element array is the call itself', () => {
    const [n] = parseCallNotifications(envelope([callData('established')]));
    expect(n).toMatchObject({ kind: 'callState', callId: CALL, state: 'established' });
  });

  it('several calls become one item each, in order (both readers)', () => {
    const body = envelope([callData('establishing'), callData('established')]);
    expect(parseCallNotifications(body).map((n) => n.kind === 'callState' && n.state)).toEqual(['establishing', 'established']);
    expect(parseNotificationBody(body).map((n) => (n.kind === 'callState' ? n.state : n.kind))).toEqual(['establishing', 'established']);
  });

  it('an array with no object in it stays unknown, with the reason', () => {
    const [n] = parseCallNotifications(envelope([1, 'x']));
    expect(n).toMatchObject({ kind: 'unknown', callId: CALL });
    expect(n && 'reason' in n ? n.reason : '').toMatch(/array/);
  });

  it.skipIf(!HAVE_VECTORS)('content sharing started (array) and ended (no data) from the docs', () => {
    expect(parseCallNotifications(loadVector('notification-create-call-content-sharing-started.json'))[0]).toMatchObject({
      kind: 'contentSharing',
      changeType: 'created',
      sessionIds: ['F7D9EF30FF0A9BD3F64B274387FB8FF8E96B6CFBA8F87F8305A74DE99AF007BC'],
    });
    expect(parseCallNotifications(loadVector('notification-call-answer-content-sharing-ended.json'))[0]).toMatchObject({
      kind: 'contentSharing',
      changeType: 'deleted',
      sessionIds: ['2765eb15-01f8-47c6-b12b-c32111a4a86f'],
    });
  });
});
