import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** A named readiness check: true when that dependency is fine. */
export type ReadinessCheck = () => boolean | Promise<boolean>;

export interface ReadinessReport {
  ready: boolean;
  draining: boolean;
  checks: Record<string, boolean>;
}

/**
 * What /readyz reports. Not ready while draining or when any named check fails
 * (capacity, Graph reachable, authority reachable, callback keys …). A check that
 * throws or takes longer than `checkTimeoutMs` counts as failed.
 */
export class Readiness {
  private draining = false;
  private readonly checks = new Map<string, ReadinessCheck>();

  constructor(private readonly checkTimeoutMs = 2000) {}

  setCheck(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  removeCheck(name: string): void {
    this.checks.delete(name);
  }

  startDraining(): void {
    this.draining = true;
  }

  stopDraining(): void {
    this.draining = false;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  async evaluate(): Promise<ReadinessReport> {
    const entries = await Promise.all(
      [...this.checks].map(async ([name, check]) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          const timeout = new Promise<boolean>((resolve) => {
            timer = setTimeout(() => resolve(false), this.checkTimeoutMs);
            timer.unref();
          });
          return [name, (await Promise.race([Promise.resolve().then(check), timeout])) === true] as const;
        } catch {
          return [name, false] as const;
        } finally {
          if (timer) clearTimeout(timer);
        }
      }),
    );
    const checks = Object.fromEntries(entries);
    return { ready: !this.draining && entries.every(([, ok]) => ok), draining: this.draining, checks };
  }
}

/**
 * A readiness check that a URL answers at all (any HTTP status counts: Graph and
 * the authority answer 401/404 to a bare GET). The result is cached for
 * `cacheMs` so /readyz polling does not hammer the dependency.
 */
export function reachabilityCheck(url: string, opts: { timeoutMs?: number; cacheMs?: number; caPem?: string } = {}): ReadinessCheck {
  const timeoutMs = opts.timeoutMs ?? 1500;
  const cacheMs = opts.cacheMs ?? 10_000;
  let last: { at: number; ok: boolean } | null = null;
  let inflight: Promise<boolean> | null = null;
  const probe = async (): Promise<boolean> => {
    const request = url.startsWith('https:') ? httpsRequest : httpRequest;
    return new Promise<boolean>((resolve) => {
      const req = request(url, { method: 'GET', timeout: timeoutMs, ...(opts.caPem ? { ca: opts.caPem } : {}) }, (res) => {
        res.resume();
        resolve(true);
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => resolve(false));
      req.end();
    });
  };
  return async () => {
    if (last && Date.now() - last.at < cacheMs) return last.ok;
    inflight ??= probe().then((ok) => {
      last = { at: Date.now(), ok };
      inflight = null;
      return ok;
    });
    return inflight;
  };
}
