/**
 * The outbound Graph operations signaling needs, as small interfaces.
 * The CLI wires them to the real Graph client (src/graph); signaling never imports it.
 */

/** What Graph returns when an operation is started (200/202 body and/or Location header). */
export interface OperationHandle {
  /** Operation id from the response body, if any. */
  id?: string | null;
  /** `notStarted` | `running` | `completed` | `failed`, if the response said. */
  status?: string | null;
  /** The Location header (…/calls/{id}/operations/{opId}), if any. */
  location?: string | null;
  resultInfo?: { code?: number | string | null; subcode?: number | string | null; message?: string | null } | null;
}

export type MediaConfigBody =
  | { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig'; preFetchMedia?: unknown[] }
  | { '@odata.type': '#microsoft.graph.appHostedMediaConfig'; blob: string };

export interface AnswerBody {
  callbackUri: string;
  acceptedModalities: string[];
  mediaConfig: MediaConfigBody;
  callOptions?: Record<string, unknown>;
  participantCapacity?: number;
}

export interface RejectBody {
  reason: 'busy' | 'forbidden' | 'none';
  callbackUri?: string;
}

export interface RedirectBody {
  targets: unknown[];
  callbackUri?: string;
  timeout?: number;
}

export interface CallOperationsPort {
  answer(callId: string, body: AnswerBody): Promise<void>;
  reject(callId: string, body: RejectBody): Promise<void>;
  redirect(callId: string, body: RedirectBody): Promise<void>;
  /** POST /communications/calls/{id}/keepAlive: must be sent at least every 15 minutes. */
  keepAlive(callId: string): Promise<void>;
  hangUp(callId: string): Promise<void>;
  /** GET the call: its state, or null when Graph answers 404. Used to confirm a `terminated` callback before tearing down media. */
  getCall?(callId: string): Promise<{ state: string | null } | null>;
  updateRecordingStatus(callId: string, body: { clientContext: string; status: 'recording' | 'notRecording' | 'failed' }): Promise<OperationHandle>;
  playPrompt(callId: string, body: { clientContext: string; prompts: unknown[] }): Promise<OperationHandle>;
  recordResponse(callId: string, body: Record<string, unknown> & { clientContext: string }): Promise<OperationHandle>;
  sendDtmfTones(callId: string, body: { clientContext: string; tones: string[]; delayBetweenTonesMs?: number }): Promise<OperationHandle>;
  subscribeToTone(callId: string, body: { clientContext: string }): Promise<OperationHandle>;
  cancelMediaProcessing(callId: string, body: { clientContext: string }): Promise<OperationHandle>;
}

export interface SubscriptionInfo {
  id: string;
  resource: string;
  expirationDateTime: string;
}

export interface CreateSubscriptionBody {
  changeType: string;
  notificationUrl: string;
  lifecycleNotificationUrl?: string;
  resource: string;
  expirationDateTime: string;
  clientState: string;
}

export interface SubscriptionsPort {
  create(body: CreateSubscriptionBody): Promise<SubscriptionInfo>;
  /** PATCH /subscriptions/{id} with a new expirationDateTime (also reauthorizes). */
  renew(id: string, expirationDateTime: string): Promise<SubscriptionInfo>;
  delete(id: string): Promise<void>;
}

export interface CallRecordsPort {
  /** GET /communications/callRecords/{id}?$expand=… */
  get(id: string, expand?: string): Promise<unknown>;
  /** Optional: list records started at or after `since` (used to resync after `missed`). */
  listSince?(since: Date): Promise<Array<{ id: string }>>;
}
