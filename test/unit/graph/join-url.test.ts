import { describe, expect, it } from 'vitest';
import { buildJoinWebUrl, parseJoinUrl } from '../../../src/graph/join-url.js';
import { MediabotError } from '../../../src/errors.js';

const TID = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const OID = '550fae72-d251-43ec-868c-373732c2704f';
const LONG =
  'https://teams.microsoft.com/l/meetup-join/19%3ameeting_NzIyNzhlMGEtM2YyZC00ZmY0LTlhNzUtZmZjNWFmZGNlNzE2%40thread.v2/0?context=%7b%22Tid%22%3a%2272f988bf-86f1-41af-91ab-2d7cd011db47%22%2c%22Oid%22%3a%22550fae72-d251-43ec-868c-373732c2704f%22%7d';

function errorOf(input: unknown): MediabotError {
  try {
    parseJoinUrl(input);
  } catch (e) {
    expect(e).toBeInstanceOf(MediabotError);
    return e as MediabotError;
  }
  throw new Error(`parseJoinUrl accepted ${String(input)}`);
}

describe('parseJoinUrl', () => {
  it('parses the long meetup-join form into chatInfo + organizerMeetingInfo + tenantId', () => {
    const p = parseJoinUrl(LONG);
    expect(p.kind).toBe('organizer');
    if (p.kind !== 'organizer') return;
    expect(p.chatInfo).toEqual({
      '@odata.type': '#microsoft.graph.chatInfo',
      threadId: '19:meeting_NzIyNzhlMGEtM2YyZC00ZmY0LTlhNzUtZmZjNWFmZGNlNzE2@thread.v2',
      messageId: '0',
    });
    expect(p.meetingInfo.organizer.user).toEqual({ '@odata.type': '#microsoft.graph.identity', id: OID, tenantId: TID });
    expect(p.meetingInfo['@odata.type']).toBe('#microsoft.graph.organizerMeetingInfo');
    expect(p.tenantId).toBe(TID);
  });

  it('takes context.MessageId as replyChainMessageId (channel meetings)', () => {
    const url = `https://teams.microsoft.com/l/meetup-join/19%3a1234abcd%40thread.tacv2/1589999999999?context=${encodeURIComponent(
      JSON.stringify({ Tid: TID, Oid: OID, MessageId: '1589999999998' }),
    )}`;
    const p = parseJoinUrl(url);
    expect(p.kind === 'organizer' && p.chatInfo).toMatchObject({ threadId: '19:1234abcd@thread.tacv2', messageId: '1589999999999', replyChainMessageId: '1589999999998' });
  });

  it('parses the short /meet/<id>?p=<passcode> form', () => {
    const p = parseJoinUrl('https://teams.microsoft.com/meet/31245678901234?p=aB3dE6');
    expect(p).toMatchObject({
      kind: 'joinMeetingId',
      tenantId: undefined,
      meetingInfo: { '@odata.type': '#microsoft.graph.joinMeetingIdMeetingInfo', joinMeetingId: '31245678901234', passcode: 'aB3dE6' },
    });
    expect(parseJoinUrl('https://teams.live.com/meet/9876543210').meetingInfo).toMatchObject({ joinMeetingId: '9876543210', passcode: null });
  });

  it('accepts gov and consumer hosts and round-trips buildJoinWebUrl', () => {
    const url = buildJoinWebUrl({ threadId: '19:meeting_abc@thread.v2', tenantId: TID, organizerId: OID, host: 'gov.teams.microsoft.us' });
    const p = parseJoinUrl(url);
    expect(p.kind === 'organizer' && [p.chatInfo.threadId, p.tenantId, p.meetingInfo.organizer.user.id]).toEqual(['19:meeting_abc@thread.v2', TID, OID]);
    expect(parseJoinUrl(LONG.replace('teams.microsoft.com', 'teams.live.com')).kind).toBe('organizer');
  });

  it.each([
    [42, 'non-empty string'],
    ['', 'non-empty string'],
    ['not a url', 'not an absolute URL'],
    ['http://teams.microsoft.com/meet/1234567', 'scheme must be https'],
    ['https://teams.evil.com/meet/1234567', 'not a Teams host'],
    ['https://teams.microsoft.com/l/channel/19%3ax%40thread.v2/0', 'neither'],
    ['https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2', 'needs /l/meetup-join'],
    ['https://teams.microsoft.com/l/meetup-join/notathread/0?context=%7b%7d', 'not a Teams thread id'],
    ['https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/abc?context=%7b%7d', 'not numeric'],
    ['https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0', 'missing the context'],
    ['https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0?context=%7bnope', 'not JSON'],
    ['https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0?context=%5b%5d', 'not a JSON object'],
    [`https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0?context=${encodeURIComponent(JSON.stringify({ Oid: OID }))}`, 'Tid'],
    [`https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0?context=${encodeURIComponent(JSON.stringify({ Tid: TID, Oid: 'bob' }))}`, 'Oid'],
    ['https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%E0%A4%A%40thread.v2/0', 'percent-encoding'],
    ['https://teams.microsoft.com/meet/12ab?p=x', 'not 5-20 digits'],
    ['https://teams.microsoft.com/meet/1234567?p=bad%20pass', 'passcode'],
    [`https://teams.microsoft.com/meet/${'1'.repeat(5000)}`, 'longer than'],
  ])('rejects %s with MEDIABOT_JOIN_URL_INVALID saying %s', (input, words) => {
    const err = errorOf(input);
    expect(err.code).toBe('MEDIABOT_JOIN_URL_INVALID');
    expect(err.message).toContain(words);
  });
});
