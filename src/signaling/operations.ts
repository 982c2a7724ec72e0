import { randomUUID } from 'node:crypto';
import type { EventBus } from '../events/bus.js';
import { isMediabotError, MediabotError } from '../errors.js';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import type { CallNotification, OperationType, ResultInfo } from './notifications.js';
import { parseResultInfo } from './notifications.js';
import type { CallOperationsPort, OperationHandle } from './ports.js';
import type { CallRegistry } from './registry.js';

type OperationItem = Extract<CallNotification, { kind: 'operation' }>;

export interface OperationResult {
  callId: string;
  operationId: string | null;
  operationType: OperationType;
  status: 'completed';
  resultInfo: ResultInfo | null;
  completionReason: string | null;
  clientContext: string | null;
  /** recordResponse: where Graph stored the recording and the token to fetch it. */
  recording: { location: string; accessToken: string } | null;
}

/** Operation ids appear as `0FE0623FD62842EDB4BD8AC290072CC5` and `0fe0623f-d628-…`: compare them normalised. */
export function normaliseOperationId(id: string): string {
  return id.toLowerCase().replace(/-/g, '');
}

/** The operation id from a handle: its `id`, else the last segment of its Location. */
export function operationIdOf(handle: OperationHandle | null | undefined): string | null {
  if (!handle) return null;
  if (typeof handle.id === 'string' && handle.id !== '') return handle.id;
  if (typeof handle.location === 'string') {
    const m = /\/operations\/([^/?#]+)/i.exec(handle.location);
    if (m) return decodeURIComponent(m[1]!);
  }
  return null;
}

/** Completion reasons that mean the operation did not do its job even though status is `completed`. */
function failedCompletion(type: OperationType, reason: string | null): boolean {
  if (reason === null) return false;
  if (type === 'sendDtmfTones') return reason !== 'completedSuccessfully';
  return reason === 'operationCanceled' || reason === 'unspecifiedError' || reason === 'playPromptFailed' || reason === 'playBeepFailed';
}

interface Pending {
  callId: string;
  type: OperationType;
  operationKey: string | null;
  clientContext: string;
  resolve: (r: OperationResult) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export interface OperationTrackerOptions {
  bus?: EventBus;
  logger?: Logger;
  /** How long a completion that arrived before anyone waited for it is kept (default 60 s). */
  earlyResultTtlMs?: number;
}

/**
 * Matches operation notifications to awaited operations, by operation id or by
 * the unique clientContext mediabot puts on each request. A notification may
 * arrive before the HTTP response that names the operation; it is kept briefly.
 */
export class OperationTracker {
  private readonly pending = new Set<Pending>();
  private readonly early = new Map<string, { item: OperationItem; at: number }>();
  private readonly bus: EventBus | undefined;
  private readonly log: Logger;
  private readonly earlyTtlMs: number;

  constructor(opts: OperationTrackerOptions = {}) {
    this.bus = opts.bus;
    this.log = opts.logger ?? silentLogger;
    this.earlyTtlMs = opts.earlyResultTtlMs ?? 60_000;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Waits for the operation's final notification. */
  wait(callId: string, type: OperationType, operationId: string | null, clientContext: string, timeoutMs: number): Promise<OperationResult> {
    return new Promise<OperationResult>((resolve, reject) => {
      const p: Pending = {
        callId,
        type,
        operationKey: operationId === null ? null : normaliseOperationId(operationId),
        clientContext,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.pending.delete(p);
          reject(new MediabotError('MEDIABOT_OPERATION_TIMEOUT', `${type} on call ${callId} did not complete within ${timeoutMs} ms`, { callId, operationId, type }));
        }, timeoutMs),
      };
      p.timer.unref();
      this.pending.add(p);
      const early = this.takeEarly(p);
      if (early) this.settle(p, early);
    });
  }

  /** Feeds an operation notification. Returns true when it settled a waiter. */
  handle(item: OperationItem): boolean {
    this.bus?.emit({
      type: 'call.operation',
      callId: item.callId,
      operationId: item.operationId ?? item.clientContext ?? '',
      kind: item.operationType,
      status: item.status === 'failed' || (item.status === 'completed' && failedCompletion(item.operationType, item.completionReason)) ? 'failed' : item.status === 'completed' ? 'completed' : 'running',
      at: new Date().toISOString(),
      ...(item.status === 'failed' && item.resultInfo?.message ? { error: item.resultInfo.message } : {}),
    });
    if (item.status !== 'completed' && item.status !== 'failed') return false;
    for (const p of this.pending) {
      if (this.matches(p, item)) {
        this.settle(p, item);
        return true;
      }
    }
    this.pruneEarly();
    const key = item.operationId !== null ? `op:${normaliseOperationId(item.operationId)}` : item.clientContext !== null ? `cc:${item.clientContext}` : null;
    if (key !== null) this.early.set(key, { item, at: Date.now() });
    if (item.clientContext !== null && item.operationId !== null) this.early.set(`cc:${item.clientContext}`, { item, at: Date.now() });
    return false;
  }

  /** Rejects every waiter of a call (it ended). */
  failCall(callId: string, why: string): void {
    for (const p of this.pending) {
      if (p.callId.toLowerCase() === callId.toLowerCase()) {
        this.pending.delete(p);
        clearTimeout(p.timer);
        p.reject(new MediabotError('MEDIABOT_CALL_TERMINATED', `${p.type} on call ${callId} was abandoned: ${why}`, { callId, type: p.type }));
      }
    }
  }

  private matches(p: Pending, item: OperationItem): boolean {
    if (p.callId.toLowerCase() !== item.callId.toLowerCase()) return false;
    if (item.clientContext !== null && item.clientContext === p.clientContext) return true;
    return p.operationKey !== null && item.operationId !== null && p.operationKey === normaliseOperationId(item.operationId);
  }

  private takeEarly(p: Pending): OperationItem | null {
    this.pruneEarly();
    for (const key of [`cc:${p.clientContext}`, p.operationKey !== null ? `op:${p.operationKey}` : null]) {
      if (key === null) continue;
      const e = this.early.get(key);
      if (e && e.item.callId.toLowerCase() === p.callId.toLowerCase()) {
        this.early.delete(key);
        return e.item;
      }
    }
    return null;
  }

  private pruneEarly(): void {
    const cutoff = Date.now() - this.earlyTtlMs;
    for (const [k, v] of this.early) if (v.at < cutoff) this.early.delete(k);
  }

  private settle(p: Pending, item: OperationItem): void {
    this.pending.delete(p);
    clearTimeout(p.timer);
    if (item.status === 'failed' || failedCompletion(item.operationType, item.completionReason)) {
      const ri = item.resultInfo;
      const detail = ri ? ` (${ri.code ?? '?'}/${ri.subcode ?? '?'} ${ri.message ?? ''})` : item.completionReason ? ` (${item.completionReason})` : '';
      p.reject(
        new MediabotError('MEDIABOT_OPERATION_FAILED', `${p.type} on call ${p.callId} failed${detail}`.trim(), {
          callId: p.callId,
          operationId: item.operationId,
          resultInfo: ri,
          completionReason: item.completionReason,
        }),
      );
      return;
    }
    this.log.debug({ callId: p.callId, type: p.type, operationId: item.operationId }, 'operation completed');
    p.resolve({
      callId: item.callId,
      operationId: item.operationId,
      operationType: item.operationType,
      status: 'completed',
      resultInfo: item.resultInfo,
      completionReason: item.completionReason,
      clientContext: item.clientContext,
      recording: item.recording,
    });
  }
}

export interface OperationOptions {
  /** Default 5 min for prompts and recordings, which can run long. */
  timeoutMs?: number;
  clientContext?: string;
}

/**
 * Call operations that return when Graph reports them finished:
 * `await ops.playPrompt(callId, prompts)` resolves on the completion notification,
 * rejects with MEDIABOT_OPERATION_FAILED on a failed one and MEDIABOT_OPERATION_TIMEOUT
 * when none arrives in time.
 */
export class AwaitableCallOperations {
  constructor(
    private readonly port: CallOperationsPort,
    private readonly tracker: OperationTracker,
    private readonly opts: { defaultTimeoutMs?: number; registry?: CallRegistry } = {},
  ) {}

  playPrompt(callId: string, prompts: unknown[], o: OperationOptions = {}): Promise<OperationResult> {
    return this.run(callId, 'playPrompt', o, (clientContext) => this.port.playPrompt(callId, { clientContext, prompts }));
  }

  recordResponse(callId: string, body: Record<string, unknown>, o: OperationOptions = {}): Promise<OperationResult> {
    return this.run(callId, 'recordResponse', o, (clientContext) => this.port.recordResponse(callId, { ...body, clientContext }));
  }

  sendDtmfTones(callId: string, tones: string[], o: OperationOptions & { delayBetweenTonesMs?: number } = {}): Promise<OperationResult> {
    return this.run(callId, 'sendDtmfTones', o, (clientContext) =>
      this.port.sendDtmfTones(callId, { clientContext, tones, ...(o.delayBetweenTonesMs !== undefined ? { delayBetweenTonesMs: o.delayBetweenTonesMs } : {}) }),
    );
  }

  subscribeToTone(callId: string, o: OperationOptions = {}): Promise<OperationResult> {
    return this.run(callId, 'subscribeToTone', o, (clientContext) => this.port.subscribeToTone(callId, { clientContext }));
  }

  cancelMediaProcessing(callId: string, o: OperationOptions = {}): Promise<OperationResult> {
    return this.run(callId, 'cancelMediaProcessing', o, (clientContext) => this.port.cancelMediaProcessing(callId, { clientContext }));
  }

  updateRecordingStatus(callId: string, status: 'recording' | 'notRecording' | 'failed', o: OperationOptions = {}): Promise<OperationResult> {
    return this.run(callId, 'updateRecordingStatus', o, (clientContext) => this.port.updateRecordingStatus(callId, { clientContext, status }));
  }

  private async run(callId: string, type: OperationType, o: OperationOptions, start: (clientContext: string) => Promise<OperationHandle>): Promise<OperationResult> {
    if (this.opts.registry?.isTerminated(callId)) {
      throw new MediabotError('MEDIABOT_CALL_TERMINATED', `call ${callId} has ended`, { callId });
    }
    const clientContext = o.clientContext ?? randomUUID();
    const timeoutMs = o.timeoutMs ?? this.opts.defaultTimeoutMs ?? 5 * 60_000;
    const handle = await start(clientContext);
    const operationId = operationIdOf(handle);
    const status = typeof handle?.status === 'string' ? handle.status : null;
    // Some operations finish in the response itself.
    if (status === 'completed' || status === 'failed') {
      const item: OperationItem = {
        kind: 'operation',
        callId,
        operationId,
        operationType: type,
        status,
        resultInfo: parseResultInfo(handle.resultInfo),
        completionReason: null,
        clientContext,
        recording: null,
        invitedParticipants: [],
      };
      const p = this.tracker.wait(callId, type, operationId, clientContext, timeoutMs);
      this.tracker.handle(item);
      return p;
    }
    return this.tracker.wait(callId, type, operationId, clientContext, timeoutMs);
  }
}

export const KEEPALIVE_MAX_INTERVAL_MS = 15 * 60_000;

/**
 * Sends keepAlive for every established call. Graph ends a call it has not heard
 * from in 45 minutes and asks for one at least every 15; the default is 10.
 */
export class KeepAliveScheduler {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly intervalMs: number;
  private readonly log: Logger;

  private readonly onCallGone: ((callId: string) => void) | undefined;

  constructor(
    private readonly port: Pick<CallOperationsPort, 'keepAlive'>,
    opts: { intervalMs?: number; logger?: Logger; onCallGone?: (callId: string) => void } = {},
  ) {
    const interval = opts.intervalMs ?? 10 * 60_000;
    if (!(interval > 0 && interval <= KEEPALIVE_MAX_INTERVAL_MS)) {
      throw new MediabotError('MEDIABOT_CONFIG_INVALID', `keepAlive interval ${interval} ms must be > 0 and <= 15 minutes`);
    }
    this.intervalMs = interval;
    this.log = opts.logger ?? silentLogger;
    this.onCallGone = opts.onCallGone;
  }

  /** Follows a registry: starts on established, stops on terminating/terminated. */
  attach(registry: CallRegistry): () => void {
    return registry.onStateChange((call) => {
      if (call.state === 'established') this.start(call.id);
      else if (call.state === 'terminating' || call.state === 'terminated') this.stop(call.id);
    });
  }

  get activeCount(): number {
    return this.timers.size;
  }

  start(callId: string): void {
    const k = callId.toLowerCase();
    if (this.timers.has(k)) return;
    const t = setInterval(() => {
      this.port.keepAlive(callId).catch((err: unknown) => {
        // 404: Graph no longer has the call, so its end notification was missed.
        if (isMediabotError(err) && err.details?.['status'] === 404) {
          this.log.warn({ callId }, 'keepAlive: Graph no longer knows this call; ending it');
          this.stop(callId);
          this.onCallGone?.(callId);
          return;
        }
        this.log.warn({ err, callId }, 'keepAlive failed');
      });
    }, this.intervalMs);
    t.unref();
    this.timers.set(k, t);
  }

  stop(callId: string): void {
    const k = callId.toLowerCase();
    const t = this.timers.get(k);
    if (t) clearInterval(t);
    this.timers.delete(k);
  }

  stopAll(): void {
    for (const t of this.timers.values()) clearInterval(t);
    this.timers.clear();
  }
}
