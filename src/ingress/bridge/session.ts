/**
 * Sidecar sessions: a session outlives its connection. It is created by a hello, carries the
 * sidecar's calls, and after a dropped connection waits `resumeWindowMs` for a hello that names
 * its token (then the same calls go on), else it expires and its calls end.
 */
import { randomBytes } from 'node:crypto';
import { INGRESS_CLOSE } from '../common/close-codes.js';
import type { IngressMetrics } from '../common/metrics.js';
import type { BridgeCall } from './call.js';
import type { BridgeConnection } from './connection.js';

export interface BridgeSession {
  token: string;
  sidecarId: string;
  conn: BridgeConnection | null;
  calls: Map<string, BridgeCall>;
  byIndex: Map<number, BridgeCall>;
  expiry: NodeJS.Timeout | null;
}

export class BridgeSessions {
  private readonly byToken = new Map<string, BridgeSession>();

  constructor(
    private readonly metrics: IngressMetrics,
    private readonly resumeWindowMs: number,
  ) {}

  /** The session a hello asks for: the one it resumes (same token and sidecar id), else a new one. */
  open(conn: BridgeConnection, sidecarId: string, resumeToken: string | undefined): { session: BridgeSession; resumed: boolean } {
    const old = resumeToken === undefined ? undefined : this.byToken.get(resumeToken);
    let session: BridgeSession;
    let resumed = false;
    if (old && old.sidecarId === sidecarId) {
      session = old;
      resumed = true;
      if (old.expiry) clearTimeout(old.expiry);
      old.expiry = null;
      if (old.conn) {
        // The old connection is half-dead (the sidecar already reconnected): it loses the session.
        const prev = old.conn;
        old.conn = null;
        prev.session = null;
        prev.ws.close(INGRESS_CLOSE.replaced, 'session resumed on another connection');
      }
      this.metrics.inc('bridge', 'resumes');
    } else {
      if (resumeToken !== undefined) this.metrics.inc('bridge', 'resumeRejected');
      session = { token: randomBytes(24).toString('base64url'), sidecarId, conn: null, calls: new Map(), byIndex: new Map(), expiry: null };
      this.byToken.set(session.token, session);
    }
    session.conn = conn;
    conn.attach(session);
    return { session, resumed };
  }

  /**
   * The session's connection closed: a session without calls goes; one with calls waits for a
   * resume and calls `expired` when the window passes. Returns whether it waits.
   */
  detach(s: BridgeSession, keep: boolean, expired: () => void): boolean {
    s.conn = null;
    if (s.calls.size === 0 || !keep) {
      this.byToken.delete(s.token);
      return false;
    }
    s.expiry = setTimeout(() => {
      this.byToken.delete(s.token);
      this.metrics.inc('bridge', 'sessionsExpired');
      expired();
    }, this.resumeWindowMs);
    return true;
  }

  /** The connected session with the fewest calls, or null. */
  leastLoaded(): BridgeSession | null {
    let best: BridgeSession | null = null;
    for (const s of this.byToken.values()) if (s.conn && (!best || s.calls.size < best.calls.size)) best = s;
    return best;
  }

  findCall(callId: string): BridgeCall | undefined {
    for (const s of this.byToken.values()) {
      const c = s.calls.get(callId);
      if (c) return c;
    }
    return undefined;
  }

  *allCalls(): Iterable<BridgeCall> {
    for (const s of this.byToken.values()) yield* s.calls.values();
  }

  counts(): { sidecars: number; connected: number; calls: number } {
    let connected = 0;
    let calls = 0;
    for (const s of this.byToken.values()) {
      if (s.conn) connected++;
      calls += s.calls.size;
    }
    return { sidecars: this.byToken.size, connected, calls };
  }

  /** Stops every expiry timer and forgets every session (shutdown); returns their calls. */
  clear(): BridgeCall[] {
    const calls: BridgeCall[] = [];
    for (const s of this.byToken.values()) {
      if (s.expiry) clearTimeout(s.expiry);
      calls.push(...s.calls.values());
    }
    this.byToken.clear();
    return calls;
  }
}
