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
