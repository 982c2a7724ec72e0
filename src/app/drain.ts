/**
 * Draining: how an instance stops without dropping meetings. It turns unready and takes no new
 * calls at once (Admission, Readiness), lets the live calls go on until they end, hangs up what is
 * still live when the drain timeout passes (or when `hurry()` is called: a second signal), waits
 * for every call's artifacts to be written and (with object storage) uploaded, bounded, and only
 * then closes. Uploads not done by then resume at the next start from the data folder.
 */
import type { Logger } from '../logger.js';
import type { Admission } from './admission.js';
import { MEDIA_END_WAIT_MS } from '../calls/ingress.js';

/** How long the artifacts of a call that ended may take: its media's end (hooks flushing) plus a margin for writing them. */
export const FINALIZE_WAIT_MS = MEDIA_END_WAIT_MS + 15_000;
const POLL_MS = 500;
/** How long a drain waits for object storage uploads once every call's artifacts are written. */
export const UPLOAD_WAIT_MS = 120_000;

export interface DrainDeps {
  admission: Admission;
  /** Marks /readyz not ready. */
  startDraining(): void;
  /** Ids of the calls not terminated yet. */
  liveCallIds(): string[];
  /** Calls whose artifacts are not written yet. */
  unfinalizedCallIds(): string[];
  hangUp(callId: string): Promise<void>;
  whenFinalized(callId: string, timeoutMs: number): Promise<unknown>;
  /** Resolves once no upload to object storage is pending, or after `timeoutMs` (false then). */
  whenUploaded?(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
  logger: Logger;
  finalizeWaitMs?: number;
  /** How long to wait for the uploads after the artifacts (default UPLOAD_WAIT_MS). */
  uploadWaitMs?: number;
}

export interface DrainResult {
  /** Calls live when the drain began (or admitted during it) that ended on their own. */
  endedOnTheirOwn: number;
  /** Calls hung up because the drain timed out or was hurried. */
  hungUp: number;
  /** True when the wait was cut short (timeout or hurry). */
  cutShort: boolean;
}

export class Drainer {
  private running: Promise<DrainResult> | null = null;
  private cut: (() => void) | null = null;
  private hurried = false;
  private deadline = Infinity;

  constructor(private readonly d: DrainDeps) {}

  get draining(): boolean {
    return this.running !== null;
  }

  /**
   * Starts draining (once; a later call with a sooner deadline shortens the wait) and resolves once
   * every call ended, its artifacts were written and everything closed.
   */
  drain(timeoutMs: number): Promise<DrainResult> {
    const deadline = Date.now() + Math.max(0, timeoutMs);
    if (deadline < this.deadline) this.deadline = deadline;
    if (this.running) {
      if (this.deadline <= Date.now()) this.hurry();
      return this.running;
    }
    this.running = this.run();
    return this.running;
  }

  /** Stops waiting for live calls: they are hung up now (their artifacts are still written). */
  hurry(): void {
    this.hurried = true;
    this.cut?.();
  }

  private async run(): Promise<DrainResult> {
    const log = this.d.logger;
    this.d.admission.startDraining();
    this.d.startDraining();
    const initial = this.d.liveCallIds();
    log.info({ liveCalls: initial.length, timeoutS: Number.isFinite(this.deadline) ? Math.round((this.deadline - Date.now()) / 1000) : null }, 'draining: taking no new calls; waiting for the live ones to end');
    const cutShort = await this.waitForCalls();
    const left = this.d.liveCallIds();
    if (left.length > 0) log.warn({ calls: left, reason: this.hurried ? 'signal' : 'timeout' }, 'draining: hanging up the calls still live');
    await Promise.all(left.map((id) => this.d.hangUp(id).catch((err: unknown) => log.warn({ err, callId: id }, 'draining: hang-up failed'))));
    const wait = this.d.finalizeWaitMs ?? FINALIZE_WAIT_MS;
    await Promise.all(this.d.unfinalizedCallIds().map((id) => this.d.whenFinalized(id, wait).catch((err: unknown) => log.warn({ err, callId: id }, 'draining: the call\'s artifacts were not written in time'))));
    if (this.d.whenUploaded && !this.hurried && !(await this.d.whenUploaded(this.d.uploadWaitMs ?? UPLOAD_WAIT_MS))) log.warn('draining: uploads to object storage still pending; they resume at the next start');
    const result: DrainResult = { endedOnTheirOwn: Math.max(0, initial.length - left.length), hungUp: left.length, cutShort };
    log.info(result, 'drained; closing');
    await this.d.close();
    return result;
  }

  /** Resolves false once no call is live (or being placed), true when cut short first. */
  private waitForCalls(): Promise<boolean> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (cut: boolean): void => {
        clearTimeout(timer);
        this.cut = null;
        resolve(cut);
      };
      this.cut = () => finish(true);
      const check = (): void => {
        if (this.hurried || Date.now() >= this.deadline) return finish(true);
        if (this.d.admission.load() === 0) return finish(false);
        timer = setTimeout(check, Math.min(POLL_MS, Math.max(0, this.deadline - Date.now())));
      };
      check();
    });
  }
}
