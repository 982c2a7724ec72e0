/**
 * A mediabot instance's part in a fleet (MEDIABOT_REDIS_URL set): it registers itself and its calls
 * in Redis with heartbeats, appends its events to the fleet's stream, routes the operator API to
 * the owner of each call, and hangs up the calls of instances that died.
 *
 * Redis is never on the path of a call: callbacks, media and the local database work without it.
 * While it is away, the instance serves its own calls, /readyz answers 503 (check `redis`),
 * `mediabot_redis_up` is 0, and its own events still reach its own clients. When Redis is back the
 * instance registers again with every call it holds and appends the events it kept meanwhile.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { preHandlerAsyncHookHandler } from 'fastify';
import { Redis } from 'ioredis';
import { Counter, Gauge } from 'prom-client';
import type { EventBus } from '../events/bus.js';
import type { LiveEvent } from '../events/live.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../server/metrics.js';
import type { Readiness } from '../server/readiness.js';
import { callJson, type CallJson } from '../server/routes/v1-calls.js';
import type { CallRegistry, CallView } from '../signaling/registry.js';
import { FleetEventStream, type FleetListener } from './event-stream.js';
import { DEFAULT_PREFIX, DEFAULT_TTL_MS, FleetRegistry, type FleetCall } from './registry.js';
import { fleetPreHandler } from './routing.js';
import type { ClusterSettings } from './settings.js';

export const DEFAULT_HEARTBEAT_MS = 2000;
/** Ended calls stay in the fleet list this long (an instance's own list keeps its last 500). */
const KEEP_TERMINATED_MS = 3600_000;

export const WORKER_LOST = {
  code: 'MEDIABOT_WORKER_LOST',
  explanation: 'The mediabot instance that owned this call stopped (no heartbeat) without hanging up; another instance hung the call up so the bot does not stay in the meeting unattended.',
  hint: "Look at why that instance stopped (its logs, the pod's events). Recordings and transcripts written before it stopped are on its data volume.",
} as const;

export interface FleetDeps {
  settings: ClusterSettings;
  apiToken: string | undefined;
  /** This instance's call registry (signaling). */
  registry: CallRegistry;
  /** Signaling events: call state and roster changes update the fleet registry. */
  bus: EventBus;
  /** This instance's live events, appended to the fleet stream. */
  events: { on(listener: (e: LiveEvent) => void): () => void };
  readiness: Readiness;
  metrics: Metrics;
  /** Hangs up a call through Graph (DELETE /communications/calls/{id}). */
  hangUp: (callId: string) => Promise<void>;
  logger: Logger;
  heartbeatMs?: number;
  ttlMs?: number;
  prefix?: string;
}

export class Fleet {
  readonly registry: FleetRegistry;
  readonly stream: FleetEventStream;
  readonly preHandler: preHandlerAsyncHookHandler;
  private readonly cmd: Redis;
  private readonly reader: Redis;
  private readonly heartbeatMs: number;
  private readonly ttlMs: number;
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;
  private ticks = 0;
  /** When Redis last became reachable and this instance registered again; null while it is away. */
  private syncedAt: number | null = null;
  private remote: CallJson[] = [];
  private readonly offs: Array<() => void> = [];
  private readonly log: Logger;
  private readonly lostCalls: Counter;
  private lastErrorLog = 0;

  constructor(private readonly d: FleetDeps) {
    this.log = d.logger;
    this.heartbeatMs = d.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.ttlMs = d.ttlMs ?? DEFAULT_TTL_MS;
    const prefix = d.prefix ?? DEFAULT_PREFIX;
    const connectionName = `mediabot:${d.settings.instanceId}`;
    const retryStrategy = (attempt: number): number => Math.min(200 * attempt, 2000);
    // Commands fail at once while Redis is away (nothing here may wait on it); the reader waits.
    this.cmd = new Redis(d.settings.redisUrl, { lazyConnect: true, connectionName, retryStrategy, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    this.reader = new Redis(d.settings.redisUrl, { lazyConnect: true, connectionName, retryStrategy, maxRetriesPerRequest: null });
    for (const r of [this.cmd, this.reader]) r.on('error', (err: Error) => this.logRedisError(err));
    this.cmd.on('close', () => {
      if (this.syncedAt !== null) this.log.warn('fleet: Redis connection lost; serving own calls only until it is back');
      this.syncedAt = null;
    });
    this.registry = new FleetRegistry({ redis: this.cmd, instanceId: d.settings.instanceId, internalUrl: d.settings.internalUrl, ttlMs: this.ttlMs, prefix });
    this.stream = new FleetEventStream({ redis: this.cmd, reader: this.reader, instanceId: d.settings.instanceId, key: `${prefix}events`, logger: this.log });
    this.preHandler = fleetPreHandler({
      selfId: d.settings.instanceId,
      apiToken: d.apiToken,
      registry: this.registry,
      redisUp: () => this.redisUp,
      localCalls: () => d.registry.list().map(callJson),
      isLocalCall: (id) => d.registry.get(id) !== undefined,
      load: () => this.load(),
    });

    const redisUp = new Gauge({ name: 'mediabot_redis_up', help: '1 while the fleet registry (Redis) answers, else 0', registers: [d.metrics.registry] });
    redisUp.set(0);
    this.cmd.on('ready', () => {
      redisUp.set(1);
      // Register at once rather than at the next beat.
      if (this.timer) void this.tick();
    });
    this.cmd.on('close', () => redisUp.set(0));
    const instances = new Gauge({ name: 'mediabot_fleet_instances', help: 'Live instances in the fleet registry, as last seen', registers: [d.metrics.registry] });
    this.instancesGauge = instances;
    this.lostCalls = new Counter({ name: 'mediabot_fleet_lost_calls_total', help: 'Calls of stopped instances this instance hung up (MEDIABOT_WORKER_LOST)', registers: [d.metrics.registry] });
    d.readiness.setCheck('redis', () => this.redisUp);
  }

  private readonly instancesGauge: Gauge;

  get instanceId(): string {
    return this.d.settings.instanceId;
  }

  get redisUp(): boolean {
    return this.cmd.status === 'ready';
  }

  /** Connects (in the background: an instance starts and serves its calls without Redis) and starts the heartbeats. */
  start(): void {
    if (this.timer) return;
    this.offs.push(this.d.events.on((e) => this.stream.publish(e)));
    this.offs.push(
      this.d.bus.on((e) => {
        if ((e.type === 'call.state' || e.type === 'call.roster' || e.type === 'call.contentSharing') && this.syncedAt !== null) {
          const view = this.d.registry.get(e.callId);
          if (view) this.registry.putCall(this.toFleetCall(view)).catch(() => this.lostSync());
        }
      }),
    );
    this.cmd.connect().catch(() => undefined);
    this.reader.connect().catch(() => undefined);
    this.stream.start();
    this.timer = setInterval(() => void this.tick(), this.heartbeatMs);
    this.timer.unref();
    void this.tick();
  }

  /** Other instances' calls as last read from Redis (refreshed every heartbeat). */
  remoteCalls(): CallJson[] {
    return this.remote;
  }

  /** Every event of the fleet; with `since` (a stream id) the retained ones after it first. */
  subscribe(listener: FleetListener, since?: string): () => void {
    return this.stream.subscribe(listener, since);
  }

  /** Stops heartbeats and leaves the fleet cleanly (not reported lost). */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const off of this.offs.splice(0)) off();
    await this.stream.close();
    if (this.redisUp) {
      const views = this.d.registry.list();
      await this.registry.putCalls(views.map((v) => this.toFleetCall(v))).catch(() => undefined);
      await this.registry.deregister().catch(() => undefined);
    }
    this.cmd.disconnect();
  }

  private toFleetCall(v: CallView): FleetCall {
    return { id: v.id, owner: this.instanceId, state: v.state, updatedAt: v.updatedAt, call: callJson(v) };
  }

  private lostSync(): void {
    this.syncedAt = null;
  }

  private load(): { calls: number; capacity: number; draining: boolean } {
    return { calls: this.d.registry.list().filter((c) => c.state !== 'terminated').length, capacity: this.d.settings.maxCalls, draining: this.d.readiness.isDraining };
  }

  private async tick(): Promise<void> {
    if (this.ticking || !this.redisUp) return;
    this.ticking = true;
    try {
      await this.registry.heartbeat(this.load());
      if (this.syncedAt === null) await this.resync();
      const instances = await this.registry.instances();
      this.instancesGauge.set(instances.length);
      this.remote = (await this.registry.calls()).filter((c) => c.owner !== this.instanceId).map((c) => ({ ...c.call, instance: c.owner }) as CallJson);
      // Only once every instance has had time to register again after an outage is a missing heartbeat a loss.
      if (this.syncedAt !== null && Date.now() - this.syncedAt >= this.ttlMs + 2 * this.heartbeatMs) await this.reapLost();
      if (++this.ticks % 30 === 0) await this.registry.pruneTerminated(new Date(Date.now() - KEEP_TERMINATED_MS));
    } catch (err) {
      this.logRedisError(err as Error);
      this.lostSync();
    } finally {
      this.ticking = false;
    }
  }

  /** Registers every call this instance holds (Redis may have lost them); hangs up the ones a previous run of this instance left. */
  private async resync(): Promise<void> {
    const views = this.d.registry.list();
    await this.registry.putCalls(views.map((v) => this.toFleetCall(v)));
    const mine = new Set(views.map((v) => v.id));
    const orphans = (await this.registry.calls()).filter((c) => c.owner === this.instanceId && c.state !== 'terminated' && !mine.has(c.id));
    if (orphans.length > 0) {
      this.log.warn({ calls: orphans.map((c) => c.id) }, 'fleet: calls of a previous run of this instance are still registered; hanging them up');
      await this.endLostCalls(this.instanceId, orphans);
    }
    this.syncedAt = Date.now();
    this.log.info({ instance: this.instanceId, calls: views.length }, 'fleet: registered in Redis');
  }

  private async reapLost(): Promise<void> {
    for (const lost of await this.registry.lostInstances()) {
      if (lost.id === this.instanceId) continue;
      if (!(await this.registry.claimLost(lost.id, 60_000))) continue;
      // No heartbeat, but it may only be cut off from Redis: an instance that still answers keeps its calls.
      if (lost.internalUrl !== '' && (await answers(`${lost.internalUrl}/healthz`))) {
        this.log.warn({ instance: lost.id }, 'fleet: an instance has no heartbeat in Redis but still answers; leaving its calls alone');
        continue;
      }
      const calls = (await this.registry.calls()).filter((c) => c.owner === lost.id && c.state !== 'terminated');
      this.log.warn({ instance: lost.id, calls: calls.map((c) => c.id) }, 'fleet: an instance stopped; hanging up its calls');
      await this.endLostCalls(lost.id, calls);
      await this.registry.forgetLost(lost.id);
    }
  }

  /** Hangs up each call through Graph, records it terminated with MEDIABOT_WORKER_LOST and emits the events. */
  private async endLostCalls(owner: string, calls: FleetCall[]): Promise<void> {
    for (const c of calls) {
      try {
        await this.d.hangUp(c.id);
      } catch (err) {
        // Already gone at Graph (404) is the outcome wanted; anything else is logged and the record still closed.
        this.log.warn({ err, callId: c.id }, 'fleet: hanging up a lost instance\'s call failed');
      }
      const at = new Date().toISOString();
      const termination = { code: null, subcode: null, message: WORKER_LOST.code, terminationReason: WORKER_LOST.code, explanation: WORKER_LOST.explanation, hint: WORKER_LOST.hint, reasonCode: WORKER_LOST.code };
      const ended: FleetCall = { ...c, state: 'terminated', updatedAt: at, call: { ...c.call, state: 'terminated', previousState: c.call.state, updatedAt: at, termination } };
      await this.registry.putCall(ended);
      this.lostCalls.inc();
      const event = {
        type: 'call.state',
        callId: c.id,
        state: 'terminated',
        previous: c.state,
        reason: { code: null, subcode: null, message: WORKER_LOST.code, explanation: WORKER_LOST.explanation, hint: WORKER_LOST.hint, reasonCode: WORKER_LOST.code },
        errorCode: WORKER_LOST.code,
        owner,
        at,
      } as LiveEvent;
      await this.stream.append(event).catch((err: unknown) => this.log.warn({ err }, 'fleet: could not append the lost call\'s event'));
    }
  }

  private logRedisError(err: Error): void {
    const now = Date.now();
    if (now - this.lastErrorLog < 10_000) return;
    this.lastErrorLog = now;
    this.log.warn({ err: err.message }, 'fleet: Redis error');
  }
}

/** True when a GET of `url` gets any HTTP answer within 1.5 s. */
function answers(url: string): Promise<boolean> {
  const send = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = send(url, { method: 'GET', timeout: 1500 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
    req.end();
  });
}
