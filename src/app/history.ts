/**
 * The call history's parts, composed: the `call_endings` table (written when a call's artifacts are
 * written: its end reason, times and speaker map), the history queries over the stores, and the
 * signed file links the dashboard's <audio> element and download links use.
 */
import { join } from 'node:path';
import type { MediabotConfig } from '../config/config.js';
import type { Logger } from '../logger.js';
import type { CallService } from '../calls/service.js';
import { CallHistory } from '../calls/history.js';
import type { SpeakerRef } from '../events/live.js';
import type { CallRegistry } from '../signaling/registry.js';
import type { Database } from '../store/db.js';
import { CallEndingStore } from '../store/call-endings.js';
import type { SpeechStore } from '../store/speech-store.js';
import { FileLinks } from '../server/file-links.js';
import type { MediabotWebhooks } from '../webhooks/api.js';

export interface HistoryParts {
  history: CallHistory;
  endings: CallEndingStore;
  links: FileLinks;
}

/**
 * Stores each call's ending (end reason, times, speaker map) when its artifacts are written.
 * Subscribe it before anything else listens to the call service's events, so a listener of
 * `call.artifacts` already finds the call in the history.
 */
export function recordEndings(o: { db: Database; speech: SpeechStore; service: CallService; registry: CallRegistry; logger: Logger }): CallEndingStore {
  const endings = new CallEndingStore(o.db);
  // Synchronous, inside the artifacts writer's event: the call's speaker map is still known here.
  o.service.onWorkerEvent((e) => {
    if (e.type !== 'call.artifacts') return;
    try {
      const view = o.registry.get(e.callId);
      let speakers: SpeakerRef[] = [];
      try {
        speakers = o.service.speakers(e.callId).map((s) => ({ sourceId: s.sourceId, participantId: s.participantId, displayName: s.displayName, prompt: s.prompt }));
      } catch {
        // A call the service no longer knows: no speaker map.
      }
      o.speech.flush();
      endings.record({ callId: view?.id ?? e.callId, mediaMode: o.service.mediaMode(e.callId), createdAt: view?.createdAt ?? null, endedAt: view?.updatedAt ?? e.at, termination: view?.termination ?? null, speakers });
    } catch (err) {
      o.logger.warn({ err, callId: e.callId }, 'storing how the call ended failed');
    }
  });
  return endings;
}

export function composeHistory(o: { cfg: MediabotConfig; db: Database; speech: SpeechStore; endings: CallEndingStore; registry: CallRegistry; webhooks: MediabotWebhooks }): HistoryParts {
  const links = new FileLinks(o.cfg.apiToken);
  const history = new CallHistory({
    db: o.db,
    speech: o.speech,
    endings: o.endings,
    dataDir: o.cfg.dataDir,
    recordDir: o.cfg.record ? join(o.cfg.dataDir, 'recordings') : undefined,
    deliveries: (callId) => o.webhooks.deliveries({ callId, limit: 1000 }),
    isLive: (callId) => {
      const v = o.registry.get(callId);
      return v !== undefined && v.state !== 'terminated';
    },
    sign: (path) => links.sign(path),
  });
  return { history, endings: o.endings, links };
}
