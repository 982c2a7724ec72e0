/**
 * The fleet's call registry in Redis: which instance owns which call (with the call's public view),
 * and each instance's load, refreshed by heartbeats and expiring when they stop.
 *
 *   <prefix>instance:<id>   hash {id, internalUrl, calls, capacity, draining, startedAt}; expires after ttlMs
 *   <prefix>instances       hash id -> internalUrl of every instance that registered (one without its
 *                           instance:<id> hash and not deregistered is lost)
 *   <prefix>calls           hash callId -> FleetCall JSON
 *   <prefix>lost-lock:<id>  SET NX PX: the one survivor that cleans up after a lost instance
 */
import type { Redis } from 'ioredis';
import type { CallJson } from '../server/routes/v1-calls.js';

export interface InstanceLoad {
  calls: number;
  capacity: number;
  draining: boolean;
}

export interface InstanceInfo extends InstanceLoad {
  id: string;
  internalUrl: string;
  startedAt: string;
}

export interface FleetCall {
  id: string;
  /** The instance that owns the call (receives its callbacks, runs its media). */
  owner: string;
  state: string;
  updatedAt: string;
  call: CallJson;
}

export interface FleetRegistryOptions {
  redis: Redis;
  instanceId: string;
  internalUrl: string;
  /** Heartbeat expiry (default 10 s). */
  ttlMs?: number;
  prefix?: string;
}

export const DEFAULT_TTL_MS = 10_000;
export const DEFAULT_PREFIX = 'mediabot:';

export class FleetRegistry {
  readonly instanceId: string;
  readonly ttlMs: number;
  private readonly redis: Redis;
  private readonly internalUrl: string;
  private readonly prefix: string;
  private readonly startedAt = new Date().toISOString();

  constructor(o: FleetRegistryOptions) {
    this.redis = o.redis;
    this.instanceId = o.instanceId;
    this.internalUrl = o.internalUrl;
    this.ttlMs = o.ttlMs ?? DEFAULT_TTL_MS;
    this.prefix = o.prefix ?? DEFAULT_PREFIX;
  }

  private instanceKey(id: string): string {
    return `${this.prefix}instance:${id}`;
  }

  private get instancesKey(): string {
    return `${this.prefix}instances`;
  }

  private get callsKey(): string {
    return `${this.prefix}calls`;
  }

  /** Registers (or refreshes) this instance with its load; the entry expires unless refreshed within ttlMs. */
  async heartbeat(load: InstanceLoad): Promise<void> {
    const key = this.instanceKey(this.instanceId);
    await this.redis
      .multi()
      .hset(key, { id: this.instanceId, internalUrl: this.internalUrl, calls: String(load.calls), capacity: String(load.capacity), draining: load.draining ? '1' : '0', startedAt: this.startedAt })
      .pexpire(key, this.ttlMs)
      .hset(this.instancesKey, this.instanceId, this.internalUrl)
      .exec()
      .then(throwOnPipelineError);
  }

  /** Removes this instance (a clean shutdown): it is not reported lost. */
  async deregister(): Promise<void> {
    await this.redis.multi().del(this.instanceKey(this.instanceId)).hdel(this.instancesKey, this.instanceId).exec().then(throwOnPipelineError);
  }

  /** Every instance whose heartbeat has not expired. */
  async instances(): Promise<InstanceInfo[]> {
    const ids = await this.redis.hkeys(this.instancesKey);
    if (ids.length === 0) return [];
    const p = this.redis.pipeline();
    for (const id of ids) p.hgetall(this.instanceKey(id));
    const rows = (await p.exec()) ?? [];
    const out: InstanceInfo[] = [];
    rows.forEach(([err, h], i) => {
      const r = h as Record<string, string> | null;
      if (err || !r || r['id'] === undefined) return;
      out.push({ id: ids[i]!, internalUrl: r['internalUrl'] ?? '', calls: Number(r['calls'] ?? 0), capacity: Number(r['capacity'] ?? 0), draining: r['draining'] === '1', startedAt: r['startedAt'] ?? '' });
    });
    return out;
  }

  /** One live instance, or null when its heartbeat expired (or it never registered). */
  async instance(id: string): Promise<InstanceInfo | null> {
    const r = await this.redis.hgetall(this.instanceKey(id));
    if (r['id'] === undefined) return null;
    return { id, internalUrl: r['internalUrl'] ?? '', calls: Number(r['calls'] ?? 0), capacity: Number(r['capacity'] ?? 0), draining: r['draining'] === '1', startedAt: r['startedAt'] ?? '' };
  }

  /** Instances that registered and whose heartbeat expired without a clean deregistration. */
  async lostInstances(): Promise<Array<{ id: string; internalUrl: string }>> {
    const all = await this.redis.hgetall(this.instancesKey);
    const ids = Object.keys(all);
    if (ids.length === 0) return [];
    const p = this.redis.pipeline();
    for (const id of ids) p.exists(this.instanceKey(id));
    const rows = (await p.exec()) ?? [];
    return ids
      .filter((_, i) => {
        const [err, n] = rows[i] ?? [null, 1];
        return !err && n === 0;
      })
      .map((id) => ({ id, internalUrl: all[id] ?? '' }));
  }

  /**
   * The instance a new call goes to: the live, non-draining one with the most free capacity
   * (this instance on a tie), or null when every one is full.
   */
  async placement(self?: InstanceLoad): Promise<InstanceInfo | null> {
    const all = await this.instances();
    if (self === undefined) return choosePlacement(all, this.instanceId);
    // This instance's own load is fresher than its last heartbeat (and counts before its first).
    const own: InstanceInfo = { id: this.instanceId, internalUrl: this.internalUrl, startedAt: this.startedAt, ...self };
    return choosePlacement([own, ...all.filter((i) => i.id !== this.instanceId)], this.instanceId);
  }

  async putCall(call: FleetCall): Promise<void> {
    await this.redis.hset(this.callsKey, call.id, JSON.stringify(call));
  }

  async putCalls(calls: readonly FleetCall[]): Promise<void> {
    if (calls.length === 0) return;
    await this.redis.hset(this.callsKey, Object.fromEntries(calls.map((c) => [c.id, JSON.stringify(c)])));
  }

  async call(id: string): Promise<FleetCall | null> {
    const raw = await this.redis.hget(this.callsKey, id);
    return raw === null ? null : parseCall(raw);
  }

  async calls(): Promise<FleetCall[]> {
    const all = await this.redis.hvals(this.callsKey);
    return all.map(parseCall).filter((c): c is FleetCall => c !== null);
  }

  /** Forgets calls terminated before `before` (the fleet list keeps ended calls for a while, like an instance's own list). */
  async pruneTerminated(before: Date): Promise<number> {
    const stale = (await this.calls()).filter((c) => c.state === 'terminated' && Date.parse(c.updatedAt) < before.getTime()).map((c) => c.id);
    if (stale.length > 0) await this.redis.hdel(this.callsKey, ...stale);
    return stale.length;
  }

  /** Takes the clean-up lock for a lost instance: true for exactly one caller within `ms`. */
  async claimLost(id: string, ms: number): Promise<boolean> {
    return (await this.redis.set(`${this.prefix}lost-lock:${id}`, this.instanceId, 'PX', ms, 'NX')) === 'OK';
  }

  /** The lost instance is cleaned up: it leaves the instance list (unless it came back meanwhile). */
  async forgetLost(id: string): Promise<void> {
    if ((await this.redis.exists(this.instanceKey(id))) === 0) await this.redis.hdel(this.instancesKey, id);
  }
}

/** The live, non-draining instance with the most free capacity (`prefer` on a tie); null when all are full. */
export function choosePlacement(instances: readonly InstanceInfo[], prefer: string): InstanceInfo | null {
  let best: InstanceInfo | null = null;
  let bestFree = 0;
  for (const i of instances) {
    if (i.draining) continue;
    const free = i.capacity - i.calls;
    if (free <= 0) continue;
    if (best === null || free > bestFree || (free === bestFree && i.id === prefer)) {
      best = i;
      bestFree = free;
    }
  }
  return best;
}

function parseCall(raw: string): FleetCall | null {
  try {
    const c = JSON.parse(raw) as FleetCall;
    return typeof c.id === 'string' && typeof c.owner === 'string' ? c : null;
  } catch {
    return null;
  }
}

function throwOnPipelineError(rows: Array<[Error | null, unknown]> | null): void {
  for (const [err] of rows ?? []) if (err) throw err;
}
