import { describe, expect, it } from 'vitest';
import { MediabotError } from '../../../src/errors.js';
import { isComplianceRecordingCall } from '../../../src/signaling/incoming.js';
import {
  parseCallItem,
  parseCallNotifications,
  parseChangeNotifications,
  parseNotificationBody,
  type CallNotification,
  type ChangeNotification,
  type NotificationItem,
} from '../../../src/signaling/notifications.js';
import { HAVE_VECTORS, loadVector, notificationVectorNames } from './vectors.js';

type Check = (items: NotificationItem[]) => void;

function one<K extends NotificationItem['kind']>(items: NotificationItem[], kind: K): Extract<NotificationItem, { kind: K }> {
  expect(items).toHaveLength(1);
  const item = items[0]!;
  expect(item.kind).toBe(kind);
  return item as Extract<NotificationItem, { kind: K }>;
}

const state = (s: string, extra: (i: Extract<CallNotification, { kind: 'callState' }>) => void = () => {}): Check => (items) => {
  const i = one(items, 'callState');
  expect(i.state).toBe(s);
  extra(i);
};
const op = (type: string, status: string, extra: (i: Extract<CallNotification, { kind: 'operation' }>) => void = () => {}): Check => (items) => {
  const i = one(items, 'operation');
  expect(i.operationType).toBe(type);
  expect(i.status).toBe(status);
  extra(i);
};
const incoming = (compliance: boolean, extra: (i: Extract<CallNotification, { kind: 'incomingCall' }>) => void = () => {}): Check => (items) => {
  const i = one(items, 'incomingCall');
  expect(isComplianceRecordingCall(i.call)).toBe(compliance);
  extra(i);
};
const roster = (count: number, extra: (i: Extract<CallNotification, { kind: 'roster' }>) => void = () => {}): Check => (items) => {
  const i = one(items, 'roster');
  expect(i.participants).toHaveLength(count);
  extra(i);
};
const sharing = (changeType: string): Check => (items) => {
  const i = one(items, 'contentSharing');
  expect(i.changeType).toBe(changeType);
  expect(i.sessionIds.length).toBeGreaterThan(0);
};
const change = <K extends ChangeNotification['kind']>(kind: K, extra: (i: Extract<ChangeNotification, { kind: K }>) => void = () => {}): Check => (items) => {
  extra(one(items, kind) as Extract<ChangeNotification, { kind: K }>);
};

/** Expected parse of every notification example in the vectors folder. */
const EXPECTED: Record<string, Check> = {
  'notification-beta-participant-configuremixer-operation-completed.json': op('commsOperation', 'completed', (i) => expect(i.operationId).toBe('0fe0623f-d628-42ed-b4bd-8ac290072cc5')),
  'notification-call-addlargegalleryview-operation-completed.json': op('addLargeGalleryView', 'completed'),
  'notification-call-answer-content-sharing-ended.json': sharing('deleted'),
  'notification-call-answer-content-sharing-started.json': sharing('created'),
  'notification-call-answer-established.json': state('established', (i) => expect(i.etag).toBe('W/"5445"')),
  'notification-call-answer-establishing.json': state('establishing'),
  'notification-call-answer-incoming-app-hosted.json': incoming(false, (i) => expect(i.call.requestedModalities).toEqual(['audio'])),
  'notification-call-answer-incoming-policy-based-recording.json': incoming(true, (i) => {
    expect(i.call.incomingContext?.observedParticipantId).toBe('30fad2ce-8989-41a1-8a66-f6636e629a2a');
    expect(i.call.inviteReasons).toEqual(['PolicyBasedRecording']);
    expect(i.call.targets[0]?.identity?.kind).toBe('applicationInstance');
  }),
  'notification-call-answer-incoming.json': incoming(false, (i) => expect(i.call.source?.identity?.displayName).toBe('Test User')),
  'notification-call-cancelmediaprocessing-recordresponse-canceled.json': op('recordResponse', 'failed', (i) => {
    expect(i.resultInfo).toEqual({ code: 400, subcode: 8508, message: 'Action failed, the operation was cancelled.' });
    expect(i.completionReason).toBe('operationCanceled');
  }),
  'notification-call-changescreensharingrole-roster-updated.json': roster(1, (i) => expect(i.participants[0]?.mediaStreams[0]?.mediaType).toBe('videoBasedScreenSharing')),
  'notification-call-delete-terminated.json': state('terminated', (i) => expect(i.resultInfo).toEqual({ code: 200, subcode: 5001, message: 'The conversation has ended.' })),
  'notification-call-delete-terminating.json': state('terminating'),
  'notification-call-mute-roster-updated-participant-muted.json': roster(1, (i) => expect(i.participants[0]?.isMuted).toBe(true)),
  'notification-call-playprompt-operation-completed.json': op('playPrompt', 'completed', (i) => {
    expect(i.operationId).toBe('0FE0623FD62842EDB4BD8AC290072CC5');
    expect(i.clientContext).toBe('d45324c1-fcb5-430a-902c-f20af696537c');
  }),
  'notification-call-recordresponse-operation-completed.json': op('recordResponse', 'completed', (i) => {
    expect(i.recording).toEqual({ location: 'https://file.location/17e3b46c-f61d-4f4d-9635-c626ef18e6ad', accessToken: '<access-token>' });
    expect(i.resultInfo?.subcode).toBe(8515);
  }),
  'notification-call-redirect-incoming.json': incoming(false, (i) => expect(i.call.callbackUri).toMatch(/^https:\/\/bot\.contoso\.com\//)),
  'notification-call-redirect-pstn-incoming.json': incoming(false, (i) => expect(i.call.targets[0]?.identity?.kind).toBe('applicationInstance')),
  'notification-call-redirect-pstn-terminated.json': state('terminated'),
  'notification-call-redirect-simulring-incoming.json': incoming(false),
  'notification-call-redirect-simulring-terminated.json': state('terminated'),
  'notification-call-redirect-terminated.json': state('terminated'),
  'notification-call-reject-deleted.json': state('terminated', (i) => expect(i.changeType).toBe('deleted')),
  'notification-call-reject-incoming.json': incoming(false, (i) => expect(i.call.requestedModalities).toEqual(['audio', 'video'])),
  'notification-call-senddtmftones-operation-completed.json': op('sendDtmfTones', 'completed', (i) => expect(i.completionReason).toBe('completedSuccessfully')),
  'notification-call-senddtmftones-operation-error-1.json': op('sendDtmfTones', 'completed', (i) => expect(i.completionReason).toBe('mediaOperationCanceled')),
  'notification-call-senddtmftones-operation-error-2.json': op('sendDtmfTones', 'completed', (i) => expect(i.completionReason).toBe('unknown')),
  'notification-call-subscribetotone-tone.json': (items) => {
    const i = one(items, 'tone');
    expect(i).toMatchObject({ tone: 'tone1', sequenceId: 1, state: 'established' });
  },
  'notification-call-transfer-consultative-completed.json': state('terminated', (i) => {
    expect(i.terminationReason).toBe('AppTransferred');
    expect(i.transfer).toBe('transferCompleted');
  }),
  'notification-call-transfer-consultative-failed.json': state('established', (i) => {
    expect(i.transfer).toBe('transferFailed');
    expect(i.resultInfo?.subcode).toBe(7700);
  }),
  'notification-call-transfer-consultative-pstn-failed.json': state('established', (i) => expect(i.transfer).toBe('transferFailed')),
  'notification-call-transfer-transfer-accepted.json': state('transferAccepted', (i) => expect(i.transfer).toBe('transferAccepted')),
  'notification-call-transfer-transfer-completed.json': state('terminated', (i) => {
    expect(i.transfer).toBe('transferCompleted');
    expect(i.resultInfo).toMatchObject({ code: 0, subcode: 7015 });
  }),
  'notification-call-transfer-transfer-failed.json': state('established', (i) => {
    expect(i.transfer).toBe('transferFailed');
    expect(i.resultInfo).toMatchObject({ code: 500, subcode: 7000 });
  }),
  'notification-call-transfer-transferring.json': state('transferring', (i) => expect(i.transfer).toBe('transferring')),
  'notification-call-unmute-roster-updated-participant-unmuted.json': roster(1, (i) => expect(i.participants[0]?.isMuted).toBe(false)),
  'notification-changenotification-callrecord-created.json': change('callRecord', (i) => {
    expect(i.callRecordId).toBe('{Call id}');
    expect(i.clientState).toBe('{Secret client state}');
  }),
  'notification-changenotification-generic.json': change('resourceChange', (i) => expect(i.clientState).toBe('secretClientValue')),
  'notification-changenotification-presence-basic.json': change('presence', (i) => {
    expect(i.userId).toBe('{User Id}');
    expect(i.encrypted).toBe(false);
  }),
  // The decrypted payload of a rich notification: a presence resource, not an envelope.
  'notification-changenotification-presence-decrypted.json': () => {},
  'notification-changenotification-presence-with-resource-data.json': change('presence', (i) => expect(i.encrypted).toBe(true)),
  'notification-create-call-content-sharing-ended.json': sharing('deleted'),
  'notification-create-call-content-sharing-started.json': sharing('created'),
  'notification-create-call-content-sharing-updated.json': sharing('updated'),
  'notification-create-call-established.json': state('established'),
  'notification-create-call-establishing.json': state('establishing'),
  'notification-join-meeting-established.json': state('established'),
  'notification-join-meeting-establishing.json': state('establishing'),
  'notification-join-meeting-roster.json': roster(2, (i) => expect(i.participants[0]?.identity?.displayName).toBe('John')),
  'notification-legacy-callback-auth-example.txt.json': state('established', (i) => expect(i.callId).toBe('8A934F51F25B4EE19613D4049491857B')),
  'notification-lifecycle-template.json': change('lifecycle', (i) => expect(i.subscriptionId).toBe('<subscription_guid>')),
  'notification-participant-invite-1-operation-completed.json': op('invite', 'completed', (i) => expect(i.invitedParticipants[0]?.kind).toBe('user')),
  'notification-participant-invite-1-roster-updated.json': roster(1, (i) => expect(i.participants[0]?.id).toBeNull()),
  'notification-participant-invite-existing-operation-completed.json': op('invite', 'completed'),
  'notification-participant-invite-existing-roster-updated.json': roster(1),
  'notification-participant-invite-multiple-operation-completed.json': op('invite', 'completed', (i) => {
    expect(i.operationId).toBeNull();
    expect(i.invitedParticipants).toHaveLength(2);
  }),
  'notification-participant-invite-multiple-roster-updated.json': roster(2),
  'notification-participant-invite-pstn-operation-completed.json': op('invite', 'completed', (i) => expect(i.invitedParticipants[0]).toMatchObject({ kind: 'phone', id: '+12345678901' })),
  'notification-participant-invite-pstn-roster-updated.json': roster(1, (i) => expect(i.participants[0]?.identity?.kind).toBe('phone')),
  'notification-participant-startholdmusic-operation-completed.json': op('startHoldMusic', 'completed', (i) => expect(i.callId).toBe('e141b67c-90fd-455d-858b-b48a40b9cc8d')),
  'notification-participant-stopholdmusic-operation-completed.json': op('stopHoldMusic', 'completed'),
};

describe.skipIf(!HAVE_VECTORS)('notification vectors', () => {
  const names = notificationVectorNames();

  it('has an expectation for every notification example', () => {
    expect(names.length).toBeGreaterThan(50);
    expect(names.filter((n) => !(n in EXPECTED))).toEqual([]);
  });

  for (const name of names) {
    it(`parses ${name}`, () => {
      const body = loadVector(name);
      if (name === 'notification-changenotification-presence-decrypted.json') {
        expect(() => parseNotificationBody(body)).toThrow(MediabotError);
        return;
      }
      const items = parseNotificationBody(body);
      expect(items.every((i) => i.kind !== 'unknown')).toBe(true);
      EXPECTED[name]!(items);
    });
  }
});

describe('parser robustness', () => {
  it('turns unknown item shapes into typed unknown items', () => {
    const items = parseCallNotifications({
      value: [
        null,
        42,
        { changeType: 'updated', resourceUrl: '/communications/somethingElse/1' },
        { changeType: 'exploded', resourceUrl: '/communications/calls/abc' },
        { changeType: 'updated', resourceUrl: '/communications/calls/abc', resourceData: { foo: 1 } },
        { changeType: 'updated', resourceUrl: '/communications/calls/abc/audioRoutingGroups/x', resourceData: {} },
        { changeType: 'deleted', resourceUrl: '/communications/calls/abc/operations/1', resourceData: { status: 'weird' } },
      ],
    });
    expect(items.map((i) => i.kind)).toEqual(['unknown', 'unknown', 'unknown', 'unknown', 'unknown', 'unknown', 'unknown']);
  });

  it('rejects a body that is not an envelope with MEDIABOT_NOTIFICATION_INVALID', () => {
    for (const body of [null, 'x', [], {}, { value: 'nope' }]) {
      try {
        parseCallNotifications(body);
        expect.unreachable();
      } catch (err) {
        expect((err as MediabotError).code).toBe('MEDIABOT_NOTIFICATION_INVALID');
      }
      expect(() => parseChangeNotifications(body)).toThrow(MediabotError);
    }
  });

  it('reads a single-participant notification as a roster of one', () => {
    const i = parseCallItem({ changeType: 'deleted', resourceUrl: '/communications/calls/c1/participants/p9', resourceData: { '@odata.type': '#microsoft.graph.participant', isMuted: true } });
    expect(i).toMatchObject({ kind: 'roster', changeType: 'deleted', participants: [{ id: 'p9', isMuted: true }] });
  });

  it('reads absolute resource URLs and the legacy /app/calls path', () => {
    const a = parseCallItem({ changeType: 'updated', resourceUrl: 'https://graph.microsoft.com/v1.0/communications/calls/X1', resourceData: { state: 'established' } });
    const b = parseCallItem({ changeType: 'updated', resource: '/app/calls/X2', resourceData: { state: 'Hold' } });
    expect(a).toMatchObject({ kind: 'callState', callId: 'X1', state: 'established' });
    expect(b).toMatchObject({ kind: 'callState', callId: 'X2', state: 'hold' });
  });
});
