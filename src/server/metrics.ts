import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';

/** The process's Prometheus metrics. Other modules register more metrics on `registry`. */
export interface Metrics {
  registry: Registry;
  notificationsReceived: Counter<'route' | 'kind'>;
  notificationsDiscarded: Counter<'reason'>;
  authFailures: Counter<'endpoint' | 'reason'>;
  httpErrors: Counter<'code'>;
  callStateChanges: Counter<'state'>;
  callsActive: Gauge;
  callbackRejected: Counter<'reason'>;
}

export function createMetrics(opts: { defaultMetrics?: boolean; prefix?: string } = {}): Metrics {
  const registry = new Registry();
  const prefix = opts.prefix ?? 'mediabot_';
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix });
  const registers = [registry];
  return {
    registry,
    notificationsReceived: new Counter({
      name: `${prefix}notifications_received_total`,
      help: 'Notification items received, by route and parsed kind',
      labelNames: ['route', 'kind'] as const,
      registers,
    }),
    notificationsDiscarded: new Counter({
      name: `${prefix}notifications_discarded_total`,
      help: 'Change-notification items dropped (wrong clientState, unknown shape)',
      labelNames: ['reason'] as const,
      registers,
    }),
    authFailures: new Counter({
      name: `${prefix}auth_failures_total`,
      help: 'Rejected requests, by endpoint (callback, api) and reason',
      labelNames: ['endpoint', 'reason'] as const,
      registers,
    }),
    httpErrors: new Counter({
      name: `${prefix}http_errors_total`,
      help: 'HTTP error responses, by MEDIABOT_* code',
      labelNames: ['code'] as const,
      registers,
    }),
    callStateChanges: new Counter({
      name: `${prefix}call_state_changes_total`,
      help: 'Accepted call state transitions, by new state',
      labelNames: ['state'] as const,
      registers,
    }),
    callbackRejected: new Counter({
      name: `${prefix}callback_rejected_total`,
      help: 'Authenticated call callbacks refused or dropped: tenant mismatch, replayed token+notification, terminated not confirmed by Graph',
      labelNames: ['reason'] as const,
      registers,
    }),
    callsActive: new Gauge({ name: `${prefix}calls_active`, help: 'Calls known and not terminated', registers }),
  };
}
