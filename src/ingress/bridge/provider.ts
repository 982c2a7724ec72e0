/**
 * Media sessions for Graph's appHostedMediaConfig, made by a connected sidecar: the requests
 * mediabot has sent (createMediaSession) and waits on, each answered by mediaSessionCreated or
 * error, or failed by a timeout or the sidecar's disconnect; and the MediaSessionProvider over them.
 */
import { randomUUID } from 'node:crypto';
import { MediabotError } from '../../errors.js';
import type { IngressMetrics } from '../common/metrics.js';
import type { ErrorMessage, MediaSessionCreatedMessage } from './messages.js';
import type { BridgeSession } from './session.js';

interface PendingCreate {
  callId: string;
  session: BridgeSession;
  resolve: (v: { blob: string }) => void;
  reject: (e: unknown) => void;
  timer: NodeJS.Timeout;
}

const failed = (message: string): MediabotError => new MediabotError('MEDIABOT_INGRESS_SESSION_FAILED', message);

export class PendingCreates {
  private readonly pending = new Map<string, PendingCreate>();

  constructor(
    private readonly metrics: IngressMetrics,
    private readonly timeoutMs: number,
  ) {}

  /** Asks the session's sidecar for a media session; resolves with its blob. */
  request(session: BridgeSession, callId: string): Promise<{ blob: string }> {
    const conn = session.conn;
    if (!conn) return Promise.reject(failed(`sidecar ${session.sidecarId} is disconnected`));
    const requestId = randomUUID();
    return new Promise<{ blob: string }>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        this.metrics.fault('bridge', 'MEDIABOT_INGRESS_SESSION_FAILED');
        reject(failed(`sidecar ${session.sidecarId} did not create a media session for ${callId} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(requestId, { callId, session, resolve, reject, timer });
      conn.sendControl({ type: 'createMediaSession', requestId, callId });
    });
  }

  private take(requestId: string): PendingCreate | undefined {
    const p = this.pending.get(requestId);
    if (!p) return undefined;
    this.pending.delete(requestId);
    clearTimeout(p.timer);
    return p;
  }

  /** The sidecar's answer. Throws MEDIABOT_INGRESS_BAD_MESSAGE for a request it was never sent. */
  created(msg: MediaSessionCreatedMessage): void {
    const p = this.take(msg.requestId);
    if (!p) throw new MediabotError('MEDIABOT_INGRESS_BAD_MESSAGE', `mediaSessionCreated for unknown request ${msg.requestId}`);
    if (p.callId !== msg.callId) {
      p.reject(failed(`sidecar answered request for ${p.callId} with call ${msg.callId}`));
      return;
    }
    this.metrics.inc('bridge', 'mediaSessionsCreated');
    p.resolve({ blob: msg.blob });
  }

  /** An error from the sidecar; true when it answered one of the requests (which then fails). */
  refused(msg: ErrorMessage): boolean {
    const p = msg.requestId === undefined ? undefined : this.take(msg.requestId);
    if (!p) return false;
    this.metrics.fault('bridge', 'MEDIABOT_INGRESS_SESSION_FAILED');
    p.reject(failed(`sidecar could not create a media session for ${p.callId}: ${msg.code}: ${msg.message}`));
    return true;
  }

  /** Fails every request waiting on `session` (its connection dropped). */
  dropSession(session: BridgeSession): void {
    for (const [id, p] of this.pending) {
      if (p.session !== session) continue;
      this.take(id);
      p.reject(failed(`sidecar ${session.sidecarId} disconnected before creating the media session`));
    }
  }

  /** Fails every request (shutdown). */
  close(): void {
    for (const id of [...this.pending.keys()]) this.take(id)?.reject(failed('the media bridge is shutting down'));
  }
}

/**
 * The MediaSessionProvider of src/graph/media-config.ts, over the connected sidecar:
 * `createMediaSession(callId) → {blob}` for appHostedMediaConfig. (Structurally typed:
 * ingress code never imports graph code.)
 */
export class BridgeMediaSessionProvider {
  constructor(private readonly ingress: { createMediaSession(callId: string): Promise<{ blob: string }> }) {}

  createMediaSession(callId: string): Promise<{ blob: string }> {
    return this.ingress.createMediaSession(callId);
  }
}
