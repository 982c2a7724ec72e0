import { randomUUID } from 'node:crypto';
import { MediabotError } from '../../src/errors.js';

/** One injected failure rule: the next `count` matching requests fail with `status`. */
export interface FaultRule {
  /** 429 (throttling) or a 5xx status. */
  status: number;
  /** How many matching requests fail before the rule is spent. */
  count: number;
  /** Seconds sent in Retry-After (429 and 503); default 1. */
  retryAfterSeconds?: number;
  /** Only requests whose path contains this string match (Graph or identity endpoints); default: every Graph request. */
  pathContains?: string;
  /** Only this HTTP method matches (upper case); default: any. */
  method?: string;
}

export interface ActiveFault extends Required<Omit<FaultRule, 'pathContains' | 'method'>> {
  id: string;
  pathContains: string | undefined;
  method: string | undefined;
  remaining: number;
}

const ALLOWED_STATUS = new Set([429, 500, 502, 503, 504]);

/** Validates an untrusted rule (from POST /_emulator/faults or options) into a FaultRule. */
export function parseFaultRule(input: unknown): FaultRule {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new MediabotError('MEDIABOT_EMULATOR_BAD_FAULT', 'a fault rule must be a JSON object');
  }
  const r = input as Record<string, unknown>;
  const status = r['status'];
  if (typeof status !== 'number' || !ALLOWED_STATUS.has(status)) {
    throw new MediabotError('MEDIABOT_EMULATOR_BAD_FAULT', 'status must be one of 429, 500, 502, 503, 504');
  }
  const count = r['count'] ?? 1;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 100_000) {
    throw new MediabotError('MEDIABOT_EMULATOR_BAD_FAULT', 'count must be an integer 1..100000');
  }
  const retry = r['retryAfterSeconds'] ?? 1;
  if (typeof retry !== 'number' || !Number.isFinite(retry) || retry < 0 || retry > 3600) {
    throw new MediabotError('MEDIABOT_EMULATOR_BAD_FAULT', 'retryAfterSeconds must be a number 0..3600');
  }
  const rule: FaultRule = { status, count, retryAfterSeconds: retry };
  const path = r['pathContains'];
  if (path !== undefined) {
    if (typeof path !== 'string' || path.length === 0) throw new MediabotError('MEDIABOT_EMULATOR_BAD_FAULT', 'pathContains must be a non-empty string');
    rule.pathContains = path;
  }
  const method = r['method'];
  if (method !== undefined) {
    if (typeof method !== 'string' || !/^[A-Za-z]+$/.test(method)) throw new MediabotError('MEDIABOT_EMULATOR_BAD_FAULT', 'method must be an HTTP method name');
    rule.method = method.toUpperCase();
  }
  return rule;
}

/** The set of armed faults; `take` consumes one hit of the first rule matching a request. */
export class FaultInjector {
  private readonly rules: ActiveFault[] = [];

  add(rule: FaultRule): ActiveFault {
    const active: ActiveFault = {
      id: randomUUID(),
      status: rule.status,
      count: rule.count,
      retryAfterSeconds: rule.retryAfterSeconds ?? 1,
      pathContains: rule.pathContains,
      method: rule.method,
      remaining: rule.count,
    };
    this.rules.push(active);
    return active;
  }

  clear(): void {
    this.rules.length = 0;
  }

  list(): ActiveFault[] {
    return this.rules.map((r) => ({ ...r }));
  }

  /**
   * Consumes one hit of the first rule matching the request. A rule without pathContains matches
   * Graph requests only (`graph`); identity endpoints fail only when a rule names their path.
   */
  take(method: string, path: string, graph = true): ActiveFault | undefined {
    const idx = this.rules.findIndex(
      (r) =>
        r.remaining > 0 &&
        (r.method === undefined || r.method === method) &&
        (r.pathContains === undefined ? graph : path.includes(r.pathContains)),
    );
    if (idx < 0) return undefined;
    const rule = this.rules[idx]!;
    rule.remaining -= 1;
    if (rule.remaining === 0) this.rules.splice(idx, 1);
    return { ...rule };
  }
}

/** Graph's error code for each injectable status. */
export function faultErrorCode(status: number): string {
  switch (status) {
    case 429:
      return 'TooManyRequests';
    case 503:
      return 'serviceNotAvailable';
    case 504:
      return 'timeout';
    case 502:
      return 'badGateway';
    default:
      return 'generalException';
  }
}
