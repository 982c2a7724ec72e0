/**
 * onlineMeetings. With an app token Graph wants /users/{userId}/onlineMeetings (plus an application
 * access policy); /me is only for delegated tokens, so it must be asked for (`{ delegated: true }`):
 * without a user id and without it, the call is refused before anything is sent.
 */
import type { OnlineMeeting } from '@microsoft/microsoft-graph-types';
import type { GraphRequester } from './http.js';
import { invalidArgument, segment } from './errors.js';
import { action, entity, page, rejectingApi, type ActionResult } from './result.js';
import { APP_ONLY_ME } from './presence.js';

export interface OwnerOption {
  /** Organizer user id (required with app tokens). */
  userId?: string;
  /** Use /me: only valid with a delegated (signed-in user) token. */
  delegated?: boolean;
}

export interface CreateOrGetBody extends OnlineMeeting {
  externalId: string;
}

function root(o: OwnerOption | undefined): string {
  if (o?.userId !== undefined) return `/users/${segment('userId', o.userId)}/onlineMeetings`;
  if (o?.delegated === true) return '/me/onlineMeetings';
  throw invalidArgument(`onlineMeetings: ${APP_ONLY_ME}; pass { userId } (or { delegated: true } with a delegated token)`);
}

/** OData string literal: single quotes doubled. */
export function odataString(v: string): string {
  return `'${v.replace(/'/g, "''")}'`;
}

export function createMeetingsApi(http: GraphRequester) {
  return rejectingApi({
    create: (body: OnlineMeeting, o?: OwnerOption): Promise<OnlineMeeting> => entity<OnlineMeeting>(http, 'POST', root(o), body),
    /** 201 when created, 200 when a meeting with this externalId exists. */
    createOrGet: (body: CreateOrGetBody, o?: OwnerOption): Promise<OnlineMeeting> => {
      if (typeof body?.externalId !== 'string' || body.externalId.length === 0) throw invalidArgument('createOrGet needs externalId');
      return entity<OnlineMeeting>(http, 'POST', `${root(o)}/createOrGet`, body);
    },
    get: (meetingId: string, o?: OwnerOption): Promise<OnlineMeeting> => entity<OnlineMeeting>(http, 'GET', `${root(o)}/${segment('meetingId', meetingId)}`),
    /** PATCH .../onlineMeetings/{id}: the changed properties; Graph answers 200 with the meeting. */
    update: (meetingId: string, changes: Partial<OnlineMeeting>, o?: OwnerOption): Promise<OnlineMeeting> => {
      if (typeof changes !== 'object' || changes === null || Object.keys(changes).length === 0) throw invalidArgument('update needs at least one property to change');
      return entity<OnlineMeeting>(http, 'PATCH', `${root(o)}/${segment('meetingId', meetingId)}`, changes);
    },
    /** DELETE .../onlineMeetings/{id} (204). */
    delete: (meetingId: string, o?: OwnerOption): Promise<ActionResult<undefined>> => action<undefined>(http, 'DELETE', `${root(o)}/${segment('meetingId', meetingId)}`),
    /** GET ...?$filter=JoinWebUrl eq '<url>'; the first (only) match or undefined. */
    getByJoinWebUrl: async (joinWebUrl: string, o?: OwnerOption): Promise<OnlineMeeting | undefined> => {
      if (typeof joinWebUrl !== 'string' || !/^https:\/\//.test(joinWebUrl)) throw invalidArgument('joinWebUrl must be an https URL');
      const p = await page<OnlineMeeting>(http, root(o), { query: { $filter: `JoinWebUrl eq ${odataString(joinWebUrl)}` } });
      return p.value[0];
    },
    getByJoinMeetingId: async (joinMeetingId: string, o?: OwnerOption): Promise<OnlineMeeting | undefined> => {
      if (typeof joinMeetingId !== 'string' || !/^\d{5,20}$/.test(joinMeetingId)) throw invalidArgument('joinMeetingId must be 5-20 digits');
      const p = await page<OnlineMeeting>(http, root(o), { query: { $filter: `joinMeetingIdSettings/joinMeetingId eq ${odataString(joinMeetingId)}` } });
      return p.value[0];
    },
    /** GET /communications/onlineMeetings/?$filter=VideoTeleconferenceId eq '<id>' (app token). */
    getByVideoTeleconferenceId: (vtcId: string): Promise<OnlineMeeting> => {
      if (typeof vtcId !== 'string' || vtcId.length === 0) throw invalidArgument('videoTeleconferenceId is required');
      return entity<OnlineMeeting>(http, 'GET', '/communications/onlineMeetings/', undefined, { query: { $filter: `VideoTeleconferenceId eq ${odataString(vtcId)}` } });
    },
  });
}

export type MeetingsApi = ReturnType<typeof createMeetingsApi>;
