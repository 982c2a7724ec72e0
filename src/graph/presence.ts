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

/** Why an app-only call needs a user id. */
export const APP_ONLY_ME = 'a user id is required: app-only tokens have no signed-in user, and Graph refuses /me with them ("/me request is only valid with delegated authentication flow")';

export function createPresenceApi(http: GraphRequester) {
  return rejectingApi({
    /**
     * GET /users/{id}/presence. The user id is required: mediabot's tokens are app-only, and Graph
     * refuses /me without a signed-in user (400 "/me request is only valid with delegated authentication flow").
     */
    get: (userId: string): Promise<Presence> => {
      if (userId === undefined) throw invalidArgument(APP_ONLY_ME);
      return entity<Presence>(http, 'GET', userPresence(userId));
    },
    /** GET /me/presence: only with a delegated (signed-in user) token. */
    getMine: (): Promise<Presence> => entity<Presence>(http, 'GET', '/me/presence'),
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
