/**
 * One event stream over the fleet, on a Redis Stream: every instance appends its live events
 * (XADD with MAXLEN ~, the retention window) and reads everyone's (XREAD BLOCK). Each event gets
 * the stream's id, so a client that reconnects with the last id it saw is sent what it missed
 * (XRANGE from that id), then the live events. Pub/sub could not do that: it keeps nothing.
 *
 * While Redis is unreachable an instance's own events still reach its own clients at once
 * (without an id); they are appended to the stream, marked late, when Redis is back, so the other
 * instances and later replays get them too.
 */
import type { Redis } from 'ioredis';
import type { LiveEvent } from '../events/live.js';
import type { Logger } from '../logger.js';

/** What a client of the fleet stream receives: the event, the instance it came from, and its stream id. */
export type FleetEvent = LiveEvent & { instance: string; id?: string };

/** Sent first on a replay that asked for events older than the retention window kept. */
export interface ReplayGap {
  type: 'events.gap';
  since: string;
  oldest: string | null;
}

export type FleetListener = (e: FleetEvent | ReplayGap) => void;

export interface FleetEventStreamOptions {
  /** Appends; should fail fast while disconnected (enableOfflineQueue: false). */
  redis: Redis;
  /** A dedicated connection for the blocking reads. */
  reader: Redis;
  instanceId: string;
  key: string;
  /** About how many events the stream keeps (default 20000). */
  maxLen?: number;
  /** Level meters are appended at most this often per call (default 500 ms). */
  levelIntervalMs?: number;
  /** Own events kept for a late append while Redis is away (default 20000; the oldest are dropped). */
  maxPending?: number;
  logger: Logger;
}

const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

export function isStreamId(s: string): boolean {
  return STREAM_ID.test(s);
}

/** Compares two stream ids (ms-seq) numerically. */
export function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bm, bs] = b.split('-').map(BigInt) as [bigint, bigint];
  return am === bm ? (as === bs ? 0 : as < bs ? -1 : 1) : am < bm ? -1 : 1;
}

interface Subscriber {
  fn: FleetListener;
  /** Live events held back while a replay is being sent. */
  held: Array<FleetEvent & { id: string }> | null;
  /** The last id sent: the replay may read ahead of this instance's reader, which then skips what was sent. */
  last: string | null;
}

export class FleetEventStream {
  private readonly subscribers = new Set<Subscriber>();
  private readonly pending: string[] = [];
  private readonly lastLevel = new Map<string, number>();
  private running = false;
  private loop: Promise<void> | null = null;
  private lastId: string | null = null;
  private readonly maxLen: number;
  private readonly levelEvery: number;
  private readonly maxPending: number;

  constructor(private readonly o: FleetEventStreamOptions) {
    this.maxLen = o.maxLen ?? 20_000;
    this.levelEvery = o.levelIntervalMs ?? 500;
    this.maxPending = o.maxPending ?? 20_000;
    o.redis.on('ready', () => void this.flushPending());
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.readLoop();
  }

  async close(): Promise<void> {
    this.running = false;
    this.o.reader.disconnect();
    await this.loop?.catch(() => undefined);
  }

  /** Own events waiting for Redis. */
  get pendingCount(): number {
    return this.pending.length;
  }

  /** Appends one of this instance's events; delivered to every client from the stream. */
  publish(e: LiveEvent): void {
    if (e.type === 'level') {
      const now = Date.now();
      if (now - (this.lastLevel.get(e.callId) ?? 0) < this.levelEvery) return;
      this.lastLevel.set(e.callId, now);
    } else if (e.type === 'call.state' && e.state === 'terminated') {
      this.lastLevel.delete(e.callId);
    }
    const json = JSON.stringify(e);
    if (this.o.redis.status !== 'ready') {
      this.holdForLater(e, json);
      return;
    }
    this.o.redis.xadd(this.o.key, 'MAXLEN', '~', String(this.maxLen), '*', 'i', this.o.instanceId, 'e', json).catch(() => this.holdForLater(e, json));
  }

  /** Appends an event on behalf of the fleet (e.g. a lost instance's calls), from this instance. */
  async append(e: LiveEvent): Promise<void> {
    await this.o.redis.xadd(this.o.key, 'MAXLEN', '~', String(this.maxLen), '*', 'i', this.o.instanceId, 'e', JSON.stringify(e));
  }

  /**
   * Every event from now on; with `since` (a stream id), first the retained events after it. A
   * `since` older than what is kept first yields an `events.gap`.
   */
  subscribe(fn: FleetListener, since?: string): () => void {
    const sub: Subscriber = { fn, held: since !== undefined ? [] : null, last: null };
    this.subscribers.add(sub);
    if (since !== undefined) void this.replay(sub, since);
    return () => {
      this.subscribers.delete(sub);
    };
  }

  private async replay(sub: Subscriber, since: string): Promise<void> {
    let last = since;
    try {
      // The client's last event is no longer kept and older ones are: events after it may have been trimmed.
      const [own, first] = await Promise.all([this.o.redis.xrange(this.o.key, since, since), this.o.redis.xrange(this.o.key, '-', '+', 'COUNT', 1)]);
      const oldest = first[0]?.[0] ?? null;
      if (own.length === 0 && oldest !== null && compareIds(oldest, since) > 0) sub.fn({ type: 'events.gap', since, oldest });
      for (;;) {
        const rows = await this.o.redis.xrange(this.o.key, `(${last}`, '+', 'COUNT', 1000);
        for (const [id, fields] of rows) {
          const e = this.decode(id, fields);
          if (e && this.subscribers.has(sub)) sub.fn(e);
          last = id;
          sub.last = id;
        }
        if (rows.length < 1000) break;
      }
    } catch (err) {
      this.o.logger.warn({ err }, 'fleet events: replay failed; live events continue');
    } finally {
      const held = sub.held ?? [];
      sub.held = null;
      for (const e of held) {
        if (compareIds(e.id, last) > 0 && this.subscribers.has(sub)) {
          sub.fn(e);
          sub.last = e.id;
        }
      }
    }
  }

  private decode(id: string, fields: string[]): (FleetEvent & { id: string }) | null {
    let instance = '';
    let json: string | undefined;
    let late = false;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i] === 'i') instance = fields[i + 1]!;
      else if (fields[i] === 'e') json = fields[i + 1];
      else if (fields[i] === 'late') late = true;
    }
    if (json === undefined) return null;
    try {
      const e = JSON.parse(json) as LiveEvent;
      return { ...e, instance, id, ...(late ? { late: true } : {}) } as FleetEvent & { id: string };
    } catch {
      return null;
    }
  }

  private deliver(e: FleetEvent & { id?: string }): void {
    for (const s of this.subscribers) {
      try {
        if (e.id !== undefined && s.held) s.held.push(e as FleetEvent & { id: string });
        else if (e.id !== undefined && s.last !== null && compareIds(e.id, s.last) <= 0) continue;
        else {
          s.fn(e);
          if (e.id !== undefined) s.last = e.id;
        }
      } catch (err) {
        this.o.logger.warn({ err }, 'fleet events: listener failed');
      }
    }
  }

  private holdForLater(e: LiveEvent, json: string): void {
    this.deliver({ ...e, instance: this.o.instanceId });
    this.pending.push(json);
    if (this.pending.length > this.maxPending) this.pending.shift();
  }

  private async flushPending(): Promise<void> {
    while (this.pending.length > 0 && this.o.redis.status === 'ready') {
      const json = this.pending[0]!;
      try {
        await this.o.redis.xadd(this.o.key, 'MAXLEN', '~', String(this.maxLen), '*', 'i', this.o.instanceId, 'late', '1', 'e', json);
        this.pending.shift();
      } catch {
        return;
      }
    }
  }

  private async readLoop(): Promise<void> {
    const r = this.o.reader;
    while (this.running) {
      try {
        if (this.lastId === null) {
          const newest = await r.xrevrange(this.o.key, '+', '-', 'COUNT', 1);
          this.lastId = newest[0]?.[0] ?? '0-0';
        }
        const res = (await r.xread('COUNT', 500, 'BLOCK', 2000, 'STREAMS', this.o.key, this.lastId)) as Array<[string, Array<[string, string[]]>]> | null;
        for (const [, entries] of res ?? []) {
          for (const [id, fields] of entries) {
            this.lastId = id;
            const e = this.decode(id, fields);
            // Own events appended late were delivered to own clients when they happened.
            if (e && !(e.instance === this.o.instanceId && (e as { late?: boolean }).late)) this.deliver(e);
          }
        }
      } catch (err) {
        if (!this.running) break;
        this.o.logger.debug({ err }, 'fleet events: read failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, 500).unref());
      }
    }
  }
}
