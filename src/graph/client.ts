import { tenantRequester, type GraphRequester } from './http.js';
import { createCallsApi, type CallsApi } from './calls.js';
import { createParticipantsApi, type ParticipantsApi } from './participants.js';
import { createMeetingsApi, type MeetingsApi } from './meetings.js';
import { createMeetingArtifactsApi, type MeetingArtifactsApi } from './meeting-artifacts.js';
import { createPresenceApi, type PresenceApi } from './presence.js';
import { createCallRecordsApi, type CallRecordsApi } from './call-records.js';
import { createSubscriptionsApi, type SubscriptionsApi } from './subscriptions.js';

export interface GraphClient {
  /** The requester the operations use (a GraphHttp, possibly wrapped: tenant routing). */
  http: GraphRequester;
  calls: CallsApi;
  participants: ParticipantsApi;
  meetings: MeetingsApi;
  /** Attendance reports, transcripts and recordings of meetings. */
  artifacts: MeetingArtifactsApi;
  presence: PresenceApi;
  callRecords: CallRecordsApi;
  subscriptions: SubscriptionsApi;
  /** The same operations with the tokens of another tenant (a call's, a meeting's): `graph.forTenant(tid).calls.get(id)`. */
  forTenant(tenantId: string): GraphClient;
}

/** Groups the per-resource operations over one HTTP client: `graph.calls.playPrompt(callId, body)`. */
export function createGraphClient(http: GraphRequester): GraphClient {
  return {
    http,
    calls: createCallsApi(http),
    participants: createParticipantsApi(http),
    meetings: createMeetingsApi(http),
    artifacts: createMeetingArtifactsApi(http),
    presence: createPresenceApi(http),
    callRecords: createCallRecordsApi(http),
    subscriptions: createSubscriptionsApi(http),
    forTenant: (tenantId: string) => createGraphClient(tenantRequester(http, tenantId)),
  };
}
