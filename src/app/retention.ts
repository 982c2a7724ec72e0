/**
 * Wiring of data deletion and retention for the composition root (src/app/mediabot.ts): the
 * deleter over the SQLite stores, the data folders, the call service and object storage; the
 * deletion log; the sweep of MEDIABOT_RETENTION_DAYS; and the `data.deleted` live event and webhook.
 */
import type { MediabotConfig } from '../config/config.js';
import type { CallService } from '../calls/service.js';
import type { Logger } from '../logger.js';
import { CallDataDeleter, type CallRowsStore, type RemoteCallStore } from '../retention/call-data.js';
import { DeletionLog } from '../retention/deletion-log.js';
import { RetentionSweeper } from '../retention/schedule.js';
import type { Database } from '../store/db.js';
import type { SpeechStore } from '../store/speech-store.js';
import { WebhookOutbox } from '../store/webhook-outbox.js';
import type { MediabotEvents } from './events-api.js';
import type { PerCallSettings, Webhooks } from './webhooks.js';

export interface Retention {
  deleter: CallDataDeleter;
  sweeper: RetentionSweeper;
  /** Starts the sweep (at once, then hourly) when MEDIABOT_RETENTION_DAYS is set. */
  start(): void;
  stop(): Promise<void>;
}

export function composeRetention(o: {
  cfg: MediabotConfig;
  db: Database;
  speech: SpeechStore;
  perCall: PerCallSettings;
  service: CallService;
  events: MediabotEvents;
  webhooks: Webhooks;
  remote: RemoteCallStore | undefined;
  /** Other features' tables with rows of calls. */
  moreRows?: readonly CallRowsStore[];
  logger: Logger;
}): Retention {
  const log = o.logger.child({ component: 'retention' });
  const deleter = new CallDataDeleter({
    dataDir: o.cfg.dataDir,
    db: o.db,
    speech: o.speech,
    settings: o.perCall.store,
    // The table exists whether or not webhooks are on (a call's messages are deleted with it).
    outbox: new WebhookOutbox(o.db),
    log: new DeletionLog(o.db),
    calls: {
      activity: (id) => o.service.dataActivity(id),
      mediaIds: (id) => o.service.mediaIdsOf(id),
      forget: (id) => o.service.forgetCall(id),
    },
    ...(o.remote !== undefined ? { remote: o.remote } : {}),
    ...(o.moreRows !== undefined ? { moreRows: o.moreRows } : {}),
    onDeleted: (record, call) => {
      // Cached settings and metadata of the call are gone with its rows.
      o.perCall.changed(record.callId);
      if (!record.complete) return;
      const data = { deletionId: record.id, reason: record.reason, deleted: record.deleted, at: record.at };
      o.events.emit({ type: 'data.deleted', callId: record.callId, ...data });
      // To the global URL and the call's own one; its metadata was deleted, so none is sent.
      o.webhooks.publishWith(record.callId, 'data.deleted', data, { ...(call.webhookUrl !== null ? { url: call.webhookUrl } : {}), metadata: null });
    },
    logger: log,
  });
  const sweeper = new RetentionSweeper({ days: o.cfg.retention.days, deleter, logger: log });
  return {
    deleter,
    sweeper,
    start: () => sweeper.start(),
    stop: () => sweeper.stop(),
  };
}
