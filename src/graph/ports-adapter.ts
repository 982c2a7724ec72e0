/**
 * Adapts the GraphClient to the small outbound interfaces signaling declares (src/signaling/ports.ts:
 * CallOperationsPort, SubscriptionsPort, CallRecordsPort). Shapes are matched structurally, so
 * neither side imports the other; the app's composition passes these objects to signaling.
 */
import type { GraphClient } from './client.js';
import type { GraphRequester } from './http.js';
import type { AnswerBody, RecordResponseBody, RedirectBody, SendDtmfTonesBody, PlayPromptBody } from './calls.js';
import type { CreateSubscriptionBody } from './subscriptions.js';
import { page, type ActionResult } from './result.js';

export interface OperationHandleShape {
  id?: string | null;
  status?: string | null;
  location?: string | null;
  resultInfo?: { code?: number | string | null; subcode?: number | string | null; message?: string | null } | null;
}

/** ActionResult -> the operation handle signaling awaits (id, status, Location, resultInfo). */
export function toOperationHandle(r: ActionResult<unknown>): OperationHandleShape {
  const op = (r.operation ?? {}) as { status?: unknown; resultInfo?: unknown };
  const handle: OperationHandleShape = { id: r.operationId ?? null, location: r.location ?? null };
  if (typeof op.status === 'string') handle.status = op.status;
  if (op.resultInfo !== null && typeof op.resultInfo === 'object') handle.resultInfo = op.resultInfo as NonNullable<OperationHandleShape['resultInfo']>;
  return handle;
}

export function createCallOperationsPort(graph: GraphClient) {
  return {
    async answer(callId: string, body: { callbackUri: string; acceptedModalities: string[]; mediaConfig: unknown; callOptions?: Record<string, unknown>; participantCapacity?: number }): Promise<void> {
      await graph.calls.answer(callId, body as unknown as AnswerBody);
    },
    async reject(callId: string, body: { reason: 'busy' | 'forbidden' | 'none'; callbackUri?: string }): Promise<void> {
      await graph.calls.reject(callId, body);
    },
    async redirect(callId: string, body: { targets: unknown[]; callbackUri?: string; timeout?: number }): Promise<void> {
      await graph.calls.redirect(callId, body as unknown as RedirectBody);
    },
    async keepAlive(callId: string): Promise<void> {
      await graph.calls.keepAlive(callId);
    },
    async hangUp(callId: string): Promise<void> {
      await graph.calls.delete(callId);
    },
    /** The call's state as Graph has it, or null when Graph no longer knows the call (404). */
    async getCall(callId: string): Promise<{ state: string | null } | null> {
      try {
        const call = await graph.calls.get(callId);
        return { state: typeof call.state === 'string' ? call.state : null };
      } catch (err) {
        if ((err as { status?: number }).status === 404) return null;
        throw err;
      }
    },
    async updateRecordingStatus(callId: string, body: { clientContext: string; status: 'recording' | 'notRecording' | 'failed' }): Promise<OperationHandleShape> {
      return toOperationHandle(await graph.calls.updateRecordingStatus(callId, body));
    },
    async playPrompt(callId: string, body: { clientContext: string; prompts: unknown[] }): Promise<OperationHandleShape> {
      return toOperationHandle(await graph.calls.playPrompt(callId, body as unknown as PlayPromptBody));
    },
    async recordResponse(callId: string, body: Record<string, unknown> & { clientContext: string }): Promise<OperationHandleShape> {
      return toOperationHandle(await graph.calls.recordResponse(callId, body as unknown as RecordResponseBody));
    },
    async sendDtmfTones(callId: string, body: { clientContext: string; tones: string[]; delayBetweenTonesMs?: number }): Promise<OperationHandleShape> {
      return toOperationHandle(await graph.calls.sendDtmfTones(callId, body as unknown as SendDtmfTonesBody));
    },
    async subscribeToTone(callId: string, body: { clientContext: string }): Promise<OperationHandleShape> {
      return toOperationHandle(await graph.calls.subscribeToTone(callId, body));
    },
    async cancelMediaProcessing(callId: string, body: { clientContext: string }): Promise<OperationHandleShape> {
      return toOperationHandle(await graph.calls.cancelMediaProcessing(callId, body));
    },
  };
}

export interface SubscriptionInfoShape {
  id: string;
  resource: string;
  expirationDateTime: string;
}

function subscriptionInfo(s: { id?: string | null; resource?: string | null; expirationDateTime?: string | null }): SubscriptionInfoShape {
  return { id: s.id ?? '', resource: s.resource ?? '', expirationDateTime: s.expirationDateTime ?? '' };
}

export function createSubscriptionsPort(graph: GraphClient) {
  return {
    async create(body: CreateSubscriptionBody): Promise<SubscriptionInfoShape> {
      return subscriptionInfo(await graph.subscriptions.create(body));
    },
    async renew(id: string, expirationDateTime: string): Promise<SubscriptionInfoShape> {
      return subscriptionInfo(await graph.subscriptions.renew(id, expirationDateTime));
    },
    async delete(id: string): Promise<void> {
      await graph.subscriptions.delete(id);
    },
  };
}

/** Pages followed per collection at most (call records and sessions come 60 a page). */
const MAX_PAGES = 100;

/**
 * A nextLink as a request URL. The Graph docs print the links of expanded collections with the
 * context prefix (`…/v1.0/$metadata#communications/callRecords('id')/sessions?$skiptoken=…`); the
 * resource path is what follows `$metadata#`.
 */
function nextLinkUrl(link: string): string {
  return link.replace('/$metadata#', '/');
}

/**
 * Completes the collections a `$expand` brought in paged (`sessions@odata.nextLink`,
 * `participants_v2@odata.nextLink`): follows each link and appends its items, then drops the link.
 */
async function completeExpandedCollections(http: GraphRequester, record: unknown): Promise<unknown> {
  if (record === null || typeof record !== 'object') return record;
  const entity = record as Record<string, unknown>;
  for (const k of Object.keys(entity)) {
    const prop = /^(.+)@odata\.nextLink$/.exec(k)?.[1];
    const items = prop === undefined ? undefined : entity[prop];
    if (!Array.isArray(items)) continue;
    let next = typeof entity[k] === 'string' ? nextLinkUrl(entity[k]) : undefined;
    for (let i = 0; next !== undefined && i < MAX_PAGES; i++) {
      const p = await page<unknown>(http, next);
      items.push(...p.value);
      next = p['@odata.nextLink'] !== undefined ? nextLinkUrl(p['@odata.nextLink']) : undefined;
    }
    delete entity[k];
  }
  return entity;
}

export function createCallRecordsPort(graph: GraphClient) {
  return {
    /** GET …/callRecords/{id} with `$expand` exactly as given (none when absent), paged expansions completed. */
    async get(id: string, expand?: string): Promise<unknown> {
      return completeExpandedCollections(graph.http, await graph.callRecords.get(id, expand !== undefined ? { expand } : {}));
    },
    /** Every record started at or after `since`, following @odata.nextLink. */
    async listSince(since: Date): Promise<Array<{ id: string }>> {
      const all = await graph.callRecords.listAll({ filter: `startDateTime ge ${since.toISOString()}`, maxPages: MAX_PAGES });
      return all.filter((r): r is typeof r & { id: string } => typeof r.id === 'string');
    },
  };
}
