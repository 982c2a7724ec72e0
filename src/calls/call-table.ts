/** The service's table of calls' media state, keyed case-insensitively by Graph call id. */
import { MediabotError } from '../errors.js';
import type { CallRegistry, CallView } from '../signaling/registry.js';
import type { CallMedia } from './types.js';

/** A call or media id made safe as one path segment. */
export const SAFE = (id: string): string => id.replace(/[^A-Za-z0-9_.-]/g, '_');

export function badRequest(message: string): MediabotError {
  return new MediabotError('MEDIABOT_BAD_REQUEST', message);
}

const key = (id: string): string => id.toLowerCase();

export class CallTable {
  private readonly calls = new Map<string, CallMedia>();

  constructor(private readonly registry: CallRegistry) {}

  /** The call's media state, created (service-hosted, nothing known yet) on first use. */
  state(callId: string): CallMedia {
    const k = key(callId);
    let m = this.calls.get(k);
    if (!m) {
      m = { callId, mediaId: null, mode: 'service', speakers: new Map(), promptSources: new Set(), transcript: [], dominant: null, lastMediaTimeMs: 0, finalizing: null, artifacts: null, ingressOnly: false, rtpMedia: false, sourceMap: new Map() };
      this.calls.set(k, m);
    }
    return m;
  }

  find(callId: string): CallMedia | undefined {
    return this.calls.get(key(callId));
  }

  all(): IterableIterator<CallMedia> {
    return this.calls.values();
  }

  /** Drops the state of ended calls the registry no longer lists; returns what was dropped. */
  pruneForgotten(): CallMedia[] {
    const dropped: CallMedia[] = [];
    for (const [k, m] of this.calls) {
      if (m.artifacts === null || this.registry.get(m.callId) !== undefined) continue;
      this.calls.delete(k);
      dropped.push(m);
    }
    return dropped;
  }

  /** Drops one call's media state (its data was deleted); returns what was dropped. */
  forget(callId: string): CallMedia | undefined {
    const m = this.calls.get(key(callId));
    this.calls.delete(key(callId));
    return m;
  }

  requireCall(callId: string): CallView {
    if (typeof callId !== 'string' || callId.length === 0 || callId.length > 200) throw new MediabotError('MEDIABOT_CALL_NOT_FOUND', 'no such call');
    const call = this.registry.get(callId);
    if (!call) throw new MediabotError('MEDIABOT_CALL_NOT_FOUND', `no call with id ${callId}`);
    return call;
  }

  requireActive(callId: string): CallView {
    const call = this.requireCall(callId);
    if (call.state === 'terminated' || call.state === 'terminating') throw new MediabotError('MEDIABOT_CALL_TERMINATED', `call ${callId} has ended`);
    return call;
  }
}
