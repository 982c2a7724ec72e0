import type { EventBus } from '../events/bus.js';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { IncomingCallHandler, type IncomingCall, type IncomingCallPolicy } from './incoming.js';
import type { CallNotification } from './notifications.js';
import { confirmTerminations } from './callback-guard.js';
import { AwaitableCallOperations, KeepAliveScheduler, OperationTracker } from './operations.js';
import type { CallOperationsPort } from './ports.js';
import { CallRegistry } from './registry.js';

export interface SignalingOptions {
  calls: CallOperationsPort;
  /** The public callback URL for calls (…/api/calling). */
  callbackUri: string;
  bus?: EventBus;
  logger?: Logger;
  policy?: IncomingCallPolicy;
  /** False while this instance takes no calls (draining, at capacity): incoming calls are rejected before the policy runs. */
  acceptsIncoming?: () => boolean;
  appMediaConfig?: (call: IncomingCall) => Promise<{ blob: string }>;
  /** keepAlive period for established calls (default 10 min, at most 15). */
  keepAliveIntervalMs?: number;
  /** Default timeout of awaited operations (default 5 min). */
  operationTimeoutMs?: number;
  replayWindowMs?: number;
  /** Calls stuck before `established` this long are ended (default 10 min). */
  unestablishedTimeoutMs?: number;
  /** A `terminated` callback Graph did not confirm (the call is still alive there): dropped, reported here. */
  onTerminationUnconfirmed?: (callId: string) => void;
  /** How reporting `recording` for a policy-based (compliance) recording call went. */
  onRecordingStatus?: (callId: string, outcome: { ok: true } | { ok: false; error: unknown }) => void;
  /** Waits between asking Graph again about a `terminated` callback (default 1 s, 3 s). */
  confirmRetryDelaysMs?: readonly number[];
}

/** The inbound signaling core, wired together: registry, operations, keep-alive and incoming calls. */
export interface Signaling {
  registry: CallRegistry;
  tracker: OperationTracker;
  operations: AwaitableCallOperations;
  keepAlive: KeepAliveScheduler;
  incoming: IncomingCallHandler;
  /** Queues parsed call notifications (ordered per call); resolves when they were handled. */
  dispatch(items: CallNotification[]): Promise<void>;
  close(): void;
}

export function createSignaling(o: SignalingOptions): Signaling {
  const log = o.logger ?? silentLogger;
  const registry = new CallRegistry({
    ...(o.bus ? { bus: o.bus } : {}),
    logger: log,
    ...(o.replayWindowMs !== undefined ? { replayWindowMs: o.replayWindowMs } : {}),
  });
  const tracker = new OperationTracker({ ...(o.bus ? { bus: o.bus } : {}), logger: log });
  const operations = new AwaitableCallOperations(o.calls, tracker, {
    registry,
    ...(o.operationTimeoutMs !== undefined ? { defaultTimeoutMs: o.operationTimeoutMs } : {}),
  });
  const keepAlive = new KeepAliveScheduler(o.calls, {
    logger: log,
    ...(o.keepAliveIntervalMs !== undefined ? { intervalMs: o.keepAliveIntervalMs } : {}),
    // The call vanished from Graph without a terminated notification reaching us: end it here.
    onCallGone: (callId) =>
      void registry.enqueue([
        { kind: 'callState', callId, changeType: 'deleted', state: 'terminated', resultInfo: null, terminationReason: 'KeepAliveNotFound', transfer: null, etag: null },
      ]),
  });
  const detachKeepAlive = keepAlive.attach(registry);
  const incoming = new IncomingCallHandler({
    port: o.calls,
    registry,
    callbackUri: o.callbackUri,
    operations,
    logger: log,
    ...(o.policy ? { policy: o.policy } : {}),
    ...(o.acceptsIncoming ? { acceptsIncoming: o.acceptsIncoming } : {}),
    ...(o.appMediaConfig ? { appMediaConfig: o.appMediaConfig } : {}),
    ...(o.bus ? { bus: o.bus } : {}),
    ...(o.onRecordingStatus ? { onRecordingStatus: o.onRecordingStatus } : {}),
  });

  registry.use(async (item, _call, changed) => {
    if (item.kind === 'operation') tracker.handle(item);
    else if (item.kind === 'incomingCall' && changed) await incoming.handle(item.call);
  });
  const unestablishedMs = o.unestablishedTimeoutMs ?? 10 * 60_000;
  const sweeper = setInterval(() => registry.expireUnestablished(unestablishedMs), Math.max(10, Math.min(60_000, Math.floor(unestablishedMs / 2))));
  sweeper.unref();
  const detachEnd = registry.onStateChange((call) => {
    if (call.state === 'terminated') tracker.failCall(call.id, 'the call ended');
  });

  return {
    registry,
    tracker,
    operations,
    keepAlive,
    incoming,
    // A `terminated` callback for a live call is confirmed with Graph (GET the call) first, when the
    // port can: a captured token with a forged body must not tear down media.
    dispatch: async (items) => {
      const getCall = o.calls.getCall?.bind(o.calls);
      const kept = getCall
        ? await confirmTerminations(items, {
            lookup: getCall,
            isLive: (callId) => {
              const c = registry.get(callId);
              return c !== undefined && c.state !== 'terminated';
            },
            ...(o.confirmRetryDelaysMs ? { retryDelaysMs: o.confirmRetryDelaysMs } : {}),
            onUnconfirmed: (callId) => {
              log.warn({ callId }, 'dropped a terminated callback that Graph does not confirm');
              o.onTerminationUnconfirmed?.(callId);
            },
            onLookupFailed: (callId, err) => log.warn({ callId, err }, 'could not confirm a terminated callback with Graph; applying it'),
          })
        : items;
      return registry.enqueue(kept);
    },
    close() {
      clearInterval(sweeper);
      detachKeepAlive();
      detachEnd();
      keepAlive.stopAll();
    },
  };
}
