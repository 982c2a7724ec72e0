/**
 * Ingress counters: frames, bytes, faults (one per MEDIABOT_INGRESS_* code), per adapter.
 * A plain object first (tests, benchmarks, stats endpoints); `register` exposes it on a
 * prom-client registry as `mediabot_ingress_events_total{adapter,event}`.
 */
import { Counter, type Registry } from 'prom-client';

export type IngressAdapter = 'acs' | 'bridge';

export class IngressMetrics {
  /** adapter → event → count (no key strings built per increment: this runs per frame). */
  private readonly values = new Map<IngressAdapter, Map<string, number>>([
    ['acs', new Map()],
    ['bridge', new Map()],
  ]);

  inc(adapter: IngressAdapter, event: string, by = 1): void {
    const m = this.values.get(adapter)!;
    m.set(event, (m.get(event) ?? 0) + by);
  }

  /** Counts a fault by its error code (event name = the code). */
  fault(adapter: IngressAdapter, code: string): void {
    this.inc(adapter, code);
  }

  get(adapter: IngressAdapter, event: string): number {
    return this.values.get(adapter)?.get(event) ?? 0;
  }

  /** `{ acs: { frames: 10, ... }, bridge: { ... } }` */
  snapshot(): Record<IngressAdapter, Record<string, number>> {
    return { acs: Object.fromEntries(this.values.get('acs')!), bridge: Object.fromEntries(this.values.get('bridge')!) };
  }

  /** Exposes the counters on a Prometheus registry (read at scrape time). */
  register(registry: Registry, prefix = 'mediabot_'): void {
    const values = this.values;
    new Counter({
      name: `${prefix}ingress_events_total`,
      help: 'Media ingress events by adapter (acs, bridge): frames, bytes, connections and MEDIABOT_INGRESS_* faults',
      labelNames: ['adapter', 'event'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [adapter, events] of values) for (const [event, v] of events) this.inc({ adapter, event }, v);
      },
    });
  }
}
