/**
 * Teams meeting join URLs -> the chatInfo/meetingInfo a Graph "join meeting" call needs.
 *
 * Long form (what Graph's onlineMeeting.joinWebUrl holds):
 *   https://teams.microsoft.com/l/meetup-join/19%3ameeting_XXX%40thread.v2/0?context=%7b%22Tid%22%3a%22<tenant>%22%2c%22Oid%22%3a%22<organizer>%22%7d
 *   -> chatInfo {threadId: '19:meeting_XXX@thread.v2', messageId: '0', replyChainMessageId?: context.MessageId}
 *      meetingInfo organizerMeetingInfo {organizer: {user: {id: Oid, tenantId: Tid}}}, tenantId: Tid
 * Short form: https://teams.microsoft.com/meet/<joinMeetingId>?p=<passcode>
 *   -> joinMeetingIdMeetingInfo {joinMeetingId, passcode}; the tenant is not in the URL.
 */
import { MediabotError } from '../errors.js';

export interface ChatInfoWire {
  '@odata.type': '#microsoft.graph.chatInfo';
  threadId: string;
  messageId: string;
  replyChainMessageId?: string;
}

export interface OrganizerMeetingInfoWire {
  '@odata.type': '#microsoft.graph.organizerMeetingInfo';
  organizer: {
    '@odata.type': '#microsoft.graph.identitySet';
    user: { '@odata.type': '#microsoft.graph.identity'; id: string; tenantId: string; displayName?: string };
  };
  allowConversationWithoutHost?: boolean;
}

export interface JoinMeetingIdMeetingInfoWire {
  '@odata.type': '#microsoft.graph.joinMeetingIdMeetingInfo';
  joinMeetingId: string;
  passcode: string | null;
}

export type ParsedJoinUrl =
  | { kind: 'organizer'; joinWebUrl: string; chatInfo: ChatInfoWire; meetingInfo: OrganizerMeetingInfoWire; tenantId: string }
  | { kind: 'joinMeetingId'; joinWebUrl: string; meetingInfo: JoinMeetingIdMeetingInfoWire; tenantId: undefined };

/** Hosts that serve Teams join links: commercial, consumer, GCC High, DoD, and the new unified domain. */
export const TEAMS_HOSTS: readonly string[] = [
  'teams.microsoft.com',
  'teams.live.com',
  'gov.teams.microsoft.us',
  'dod.teams.microsoft.us',
  'teams.cloud.microsoft',
];

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_URL_LENGTH = 4096;

function bad(message: string): MediabotError {
  return new MediabotError('MEDIABOT_JOIN_URL_INVALID', `invalid Teams join URL: ${message}`);
}

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw bad(`${what} is not valid percent-encoding`);
  }
}

export function parseJoinUrl(input: unknown): ParsedJoinUrl {
  if (typeof input !== 'string' || input.trim() === '') throw bad('expected a non-empty string');
  const raw = input.trim();
  if (raw.length > MAX_URL_LENGTH) throw bad(`longer than ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw bad('not an absolute URL');
  }
  if (url.protocol !== 'https:') throw bad(`scheme must be https, got ${url.protocol.replace(':', '')}`);
  const host = url.hostname.toLowerCase();
  if (!TEAMS_HOSTS.includes(host)) throw bad(`host ${host} is not a Teams host (${TEAMS_HOSTS.join(', ')})`);

  const segments = url.pathname.split('/').filter((s) => s.length > 0);
  if (segments[0] === 'l' && segments[1] === 'meetup-join') return parseMeetupJoin(raw, url, segments);
  if (segments[0] === 'meet') return parseShortForm(raw, url, segments);
  throw bad(`path ${url.pathname} is neither /l/meetup-join/<thread>/<message> nor /meet/<id>`);
}

function parseMeetupJoin(raw: string, url: URL, segments: string[]): ParsedJoinUrl {
  if (segments.length < 4) throw bad('meetup-join path needs /l/meetup-join/<threadId>/<messageId>');
  const threadId = decode(segments[2]!, 'thread id');
  const messageId = decode(segments[3]!, 'message id');
  if (!/^19:.+@thread\.(v2|skype|tacv2)$/.test(threadId)) throw bad(`thread id ${JSON.stringify(threadId)} is not a Teams thread id (19:...@thread.v2)`);
  if (!/^\d+$/.test(messageId)) throw bad(`message id ${JSON.stringify(messageId)} is not numeric`);

  const contextRaw = url.searchParams.get('context');
  if (contextRaw === null || contextRaw === '') throw bad('missing the context query parameter (with Tid and Oid)');
  let context: unknown;
  try {
    context = JSON.parse(contextRaw);
  } catch {
    throw bad('context query parameter is not JSON');
  }
  if (typeof context !== 'object' || context === null || Array.isArray(context)) throw bad('context query parameter is not a JSON object');
  const ctx = context as Record<string, unknown>;
  const tid = ctx.Tid;
  const oid = ctx.Oid;
  if (typeof tid !== 'string' || !GUID.test(tid)) throw bad('context.Tid (tenant id) is missing or not a GUID');
  if (typeof oid !== 'string' || !GUID.test(oid)) throw bad('context.Oid (organizer id) is missing or not a GUID');

  const chatInfo: ChatInfoWire = { '@odata.type': '#microsoft.graph.chatInfo', threadId, messageId };
  const reply = ctx.MessageId;
  if (typeof reply === 'string' && /^\d+$/.test(reply)) chatInfo.replyChainMessageId = reply;
  else if (typeof reply === 'number' && Number.isSafeInteger(reply)) chatInfo.replyChainMessageId = String(reply);

  return {
    kind: 'organizer',
    joinWebUrl: raw,
    chatInfo,
    meetingInfo: {
      '@odata.type': '#microsoft.graph.organizerMeetingInfo',
      organizer: {
        '@odata.type': '#microsoft.graph.identitySet',
        user: { '@odata.type': '#microsoft.graph.identity', id: oid, tenantId: tid },
      },
    },
    tenantId: tid,
  };
}

function parseShortForm(raw: string, url: URL, segments: string[]): ParsedJoinUrl {
  if (segments.length !== 2) throw bad('short form is /meet/<joinMeetingId>?p=<passcode>');
  const id = decode(segments[1]!, 'meeting id').replace(/\s+/g, '');
  if (!/^\d{5,20}$/.test(id)) throw bad(`meeting id ${JSON.stringify(id)} is not 5-20 digits`);
  const p = url.searchParams.get('p');
  if (p !== null && !/^[A-Za-z0-9]{1,64}$/.test(p)) throw bad('passcode (p) must be 1-64 letters or digits');
  return {
    kind: 'joinMeetingId',
    joinWebUrl: raw,
    meetingInfo: { '@odata.type': '#microsoft.graph.joinMeetingIdMeetingInfo', joinMeetingId: id, passcode: p },
    tenantId: undefined,
  };
}

/** Builds the long-form join URL for a thread/organizer (inverse of parseJoinUrl, used by the emulator and tests). */
export function buildJoinWebUrl(o: { threadId: string; messageId?: string; tenantId: string; organizerId: string; host?: string }): string {
  const ctx = JSON.stringify({ Tid: o.tenantId, Oid: o.organizerId });
  return `https://${o.host ?? 'teams.microsoft.com'}/l/meetup-join/${encodeURIComponent(o.threadId)}/${o.messageId ?? '0'}?context=${encodeURIComponent(ctx)}`;
}
