/**
 * Adapters from the outbound Graph client (src/graph) to the small ports signaling needs
 * (src/signaling/ports.ts). Signaling never imports graph; this composition layer joins them.
 */
import type { GraphClient } from '../graph/client.js';
import type { ActionResult } from '../graph/result.js';
import type { MediaConfigWire } from '../graph/media-config.js';
import type { CallOperationsPort, CallRecordsPort, OperationHandle, SubscriptionsPort, SubscriptionInfo } from '../signaling/ports.js';

function handleOf(r: ActionResult<unknown>): OperationHandle {
  const op = (r.operation ?? {}) as { id?: unknown; status?: unknown; resultInfo?: unknown };
  return {
    id: r.operationId ?? (typeof op.id === 'string' ? op.id : null),
    status: typeof op.status === 'string' ? op.status : null,
    location: r.location ?? null,
    resultInfo: (op.resultInfo as OperationHandle['resultInfo']) ?? null,
  };
}

export function callOperationsPort(graph: GraphClient): CallOperationsPort {
  return {
    async answer(callId, body) {
      await graph.calls.answer(callId, { ...body, mediaConfig: body.mediaConfig as MediaConfigWire, acceptedModalities: body.acceptedModalities as never });
    },
    async reject(callId, body) {
      await graph.calls.reject(callId, body);
    },
    async redirect(callId, body) {
      await graph.calls.redirect(callId, body as never);
    },
    async keepAlive(callId) {
      await graph.calls.keepAlive(callId);
    },
    async hangUp(callId) {
      await graph.calls.delete(callId);
    },
    async getCall(callId) {
      try {
        const call = await graph.calls.get(callId);
        return { state: typeof call.state === 'string' ? call.state : null };
      } catch (err) {
        if ((err as { status?: number }).status === 404) return null;
        throw err;
      }
    },
    updateRecordingStatus: async (callId, body) => handleOf(await graph.calls.updateRecordingStatus(callId, body)),
    playPrompt: async (callId, body) => handleOf(await graph.calls.playPrompt(callId, body as never)),
    recordResponse: async (callId, body) => handleOf(await graph.calls.recordResponse(callId, body as never)),
    sendDtmfTones: async (callId, body) => handleOf(await graph.calls.sendDtmfTones(callId, body as never)),
    subscribeToTone: async (callId, body) => handleOf(await graph.calls.subscribeToTone(callId, body)),
    cancelMediaProcessing: async (callId, body) => handleOf(await graph.calls.cancelMediaProcessing(callId, body)),
  };
}

function subscriptionInfo(s: { id?: string | null; resource?: string | null; expirationDateTime?: string | null }): SubscriptionInfo {
  return { id: s.id ?? '', resource: s.resource ?? '', expirationDateTime: s.expirationDateTime ?? '' };
}

export function subscriptionsPort(graph: GraphClient): SubscriptionsPort {
  return {
    create: async (body) => subscriptionInfo(await graph.subscriptions.create(body)),
    renew: async (id, expirationDateTime) => subscriptionInfo(await graph.subscriptions.renew(id, expirationDateTime)),
    async delete(id) {
      await graph.subscriptions.delete(id);
    },
  };
}

export function callRecordsPort(graph: GraphClient): CallRecordsPort {
  return {
    get: (id, expand) => graph.callRecords.get(id, { expandSessions: expand === undefined || expand.includes('sessions') }),
    async listSince(since) {
      const all = await graph.callRecords.listAll({ filter: `startDateTime ge ${since.toISOString()}`, maxPages: 20 });
      return all.filter((r): r is typeof r & { id: string } => typeof r.id === 'string');
    },
  };
}
