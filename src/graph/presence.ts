/** Presence: read (me, a user, many), set/clear session presence, preferred presence, status message. */
import type { Presence } from '@microsoft/microsoft-graph-types';
import type { GraphRequester } from './http.js';
import { invalidArgument, segment } from './errors.js';
import { action, entity, rejectingApi, type ActionResult } from './result.js';

export interface SetPresenceBody {
  sessionId: string;
  availability: string;
  activity: string;
  /** ISO 8601 duration, e.g. PT1H. */
  expirationDuration?: string;
}

export interface SetUserPreferredPresenceBody {
  availability: string;
  activity: string;
  expirationDuration?: string;
}

export interface SetStatusMessageBody {
  statusMessage: {
    message: { content: string; contentType: 'text' | 'html' };
    expiryDateTime?: { dateTime: string; timeZone: string };
  };
}

const userPresence = (userId: string): string => `/users/${segment('userId', userId)}/presence`;

export function createPresenceApi(http: GraphRequester) {
  return rejectingApi({
    /** GET /me/presence (delegated) or /users/{id}/presence. */
    get: (userId?: string): Promise<Presence> => entity<Presence>(http, 'GET', userId === undefined ? '/me/presence' : userPresence(userId)),
    /** GET /communications/presences/{id}. */
    getById: (presenceId: string): Promise<Presence> => entity<Presence>(http, 'GET', `/communications/presences/${segment('presenceId', presenceId)}`),
    /** POST /communications/getPresencesByUserId (up to 650 ids). */
    getPresencesByUserId: async (ids: string[]): Promise<Presence[]> => {
      if (!Array.isArray(ids) || ids.length === 0 || ids.length > 650 || ids.some((i) => typeof i !== 'string' || i.length === 0)) {
        throw invalidArgument('ids must be 1-650 non-empty strings');
      }
      const body = await entity<{ value?: Presence[] }>(http, 'POST', '/communications/getPresencesByUserId', { ids });
      return Array.isArray(body.value) ? body.value : [];
    },
    setPresence: (userId: string, body: SetPresenceBody): Promise<ActionResult<undefined>> => {
      if (typeof body?.sessionId !== 'string' || body.sessionId.length === 0) throw invalidArgument('setPresence needs sessionId (the app id)');
      return action<undefined>(http, 'POST', `${userPresence(userId)}/setPresence`, body);
    },
    clearPresence: (userId: string, body: { sessionId: string }): Promise<ActionResult<undefined>> => {
      if (typeof body?.sessionId !== 'string' || body.sessionId.length === 0) throw invalidArgument('clearPresence needs sessionId');
      return action<undefined>(http, 'POST', `${userPresence(userId)}/clearPresence`, body);
    },
    setUserPreferredPresence: (userId: string, body: SetUserPreferredPresenceBody): Promise<ActionResult<undefined>> =>
      action<undefined>(http, 'POST', `${userPresence(userId)}/setUserPreferredPresence`, body),
    clearUserPreferredPresence: (userId: string): Promise<ActionResult<undefined>> =>
      action<undefined>(http, 'POST', `${userPresence(userId)}/clearUserPreferredPresence`, undefined),
    setStatusMessage: (userId: string, body: SetStatusMessageBody): Promise<ActionResult<undefined>> => {
      if (typeof body?.statusMessage?.message?.content !== 'string') throw invalidArgument('statusMessage.message.content is required');
      return action<undefined>(http, 'POST', `${userPresence(userId)}/setStatusMessage`, body);
    },
  });
}

export type PresenceApi = ReturnType<typeof createPresenceApi>;
