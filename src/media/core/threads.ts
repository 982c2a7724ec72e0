import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { MediabotError } from '../../errors.js';
import type { MediaEvent } from '../hooks/types.js';
import type { CallSpec } from './call-spec.js';
import type { CallMediaStats, CreatedCall, FromMediaThread, ToMediaThread } from './thread-protocol.js';

export type { CallMediaStats, CreatedCall } from './thread-protocol.js';

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

interface MediaThread {
  worker: Worker;
  calls: Set<string>;
  pending: Map<number, Pending>;
  failed: Error | null;
}

/** The worker script, compiled (.js) or, under the test runner, TypeScript through tsx. */
function workerEntry(): { url: URL; execArgv: string[] } {
  const js = new URL('./media-thread.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return { url: js, execArgv: [] };
  return { url: new URL('./media-thread.ts', import.meta.url), execArgv: ['--import', 'tsx'] };
}

/**
 * Media threads: one per core by default. Each call is pinned to one thread
 * (the least loaded when it is created); signaling and HTTP stay on the main
 * thread, which only exchanges control messages and events with them.
 */
export class MediaThreadPool {
  private readonly threads: MediaThread[] = [];
  private readonly callThread = new Map<string, MediaThread>();
  private readonly listeners = new Set<(e: MediaEvent) => void>();
  private nextId = 1;

  constructor(readonly size: number = availableParallelism()) {
    if (!Number.isInteger(size) || size < 1) throw new MediabotError('MEDIABOT_CONFIG_INVALID', `media threads must be >= 1 (got ${size})`);
    const entry = workerEntry();
    for (let i = 0; i < size; i++) {
      const worker = new Worker(entry.url, { execArgv: entry.execArgv, name: `media-${i}` });
      const t: MediaThread = { worker, calls: new Set(), pending: new Map(), failed: null };
      worker.on('message', (m: FromMediaThread) => this.onMessage(t, m));
      worker.on('error', (err) => this.fail(t, err));
      worker.on('exit', (code) => {
        if (code !== 0) this.fail(t, new Error(`media thread exited with code ${code}`));
      });
      this.threads.push(t);
    }
  }

  onEvent(listener: (e: MediaEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private onMessage(t: MediaThread, m: FromMediaThread): void {
    if ('type' in m) {
      for (const e of m.events) for (const l of this.listeners) l(e);
      return;
    }
    const p = t.pending.get(m.id);
    if (!p) return;
    t.pending.delete(m.id);
    if (m.ok) p.resolve(m.result);
    else p.reject(new MediabotError(m.error.code as `MEDIABOT_${string}`, m.error.message));
  }

  private fail(t: MediaThread, err: Error): void {
    t.failed = err;
    for (const p of t.pending.values()) p.reject(new MediabotError('MEDIABOT_MEDIA_THREAD_FAILED', err.message));
    t.pending.clear();
  }

  private request<T>(t: MediaThread, msg: ToMediaThread extends infer M ? (M extends unknown ? Omit<M, 'id'> : never) : never): Promise<T> {
    if (t.failed) return Promise.reject(new MediabotError('MEDIABOT_MEDIA_THREAD_FAILED', t.failed.message));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      t.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      t.worker.postMessage({ ...msg, id });
    });
  }

  /** Creates a call on the least loaded media thread. */
  async createCall(spec: CallSpec): Promise<CreatedCall> {
    if (this.callThread.has(spec.callId)) throw new MediabotError('MEDIABOT_BAD_REQUEST', `call ${spec.callId} already exists`);
    const t = this.threads.filter((x) => !x.failed).sort((a, b) => a.calls.size - b.calls.size)[0];
    if (!t) throw new MediabotError('MEDIABOT_MEDIA_THREAD_FAILED', 'no healthy media thread');
    this.callThread.set(spec.callId, t);
    t.calls.add(spec.callId);
    try {
      return await this.request<CreatedCall>(t, { type: 'create', spec });
    } catch (err) {
      this.callThread.delete(spec.callId);
      t.calls.delete(spec.callId);
      throw err;
    }
  }

  private threadOf(callId: string): MediaThread {
    const t = this.callThread.get(callId);
    if (!t) throw new MediabotError('MEDIABOT_CALL_NOT_FOUND', `no media for call ${callId}`);
    return t;
  }

  async callStats(callId: string): Promise<CallMediaStats> {
    return this.request<CallMediaStats>(this.threadOf(callId), { type: 'stats', callId });
  }

  /** Ends the call's media, flushing its hooks; returns its final stats. */
  async endCall(callId: string): Promise<CallMediaStats> {
    const t = this.threadOf(callId);
    try {
      return await this.request<CallMediaStats>(t, { type: 'end', callId });
    } finally {
      this.callThread.delete(callId);
      t.calls.delete(callId);
    }
  }

  hasCall(callId: string): boolean {
    return this.callThread.has(callId);
  }

  async close(): Promise<void> {
    await Promise.all(
      this.threads.map(async (t) => {
        if (!t.failed) await this.request(t, { type: 'shutdown' }).catch(() => undefined);
        await t.worker.terminate();
      }),
    );
  }
}
