/**
 * Wiring of per-call settings and signed webhooks for the composition root (src/app/mediabot.ts):
 * the stores in SQLite, the settings port the call service uses, the dispatcher and publisher, and
 * the call requests (dedupKey, joinAt).
 */
import type { Registry } from 'prom-client';
import type { MediabotConfig } from '../config/config.js';
import type { LiveEvent } from '../events/live.js';
import type { Logger } from '../logger.js';
import type { HookSpec } from '../media/session/spec.js';
import { parseJoinUrl } from '../graph/join-url.js';
import { MediabotError, isMediabotError } from '../errors.js';
import { CallHookOverrides, CallSettingsPolicy, callSettingsPort, type CallSettings, type CallSettingsPort } from '../calls/call-settings.js';
import { CallRequests, type CallRequestInput } from '../calls/call-requests.js';
import type { CallService } from '../calls/service.js';
import { checkMeetingArtifactsSetting } from '../calls/meeting-artifacts.js';
import type { CallRegistry } from '../signaling/registry.js';
import type { Database } from '../store/db.js';
import { CallSettingsStore } from '../store/call-settings.js';
import { WebhookOutbox } from '../store/webhook-outbox.js';
import { webhooksApi, type MediabotWebhooks } from '../webhooks/api.js';
import { WebhookDispatcher } from '../webhooks/dispatcher.js';
import { checkWebhookUrl } from '../webhooks/post.js';
import { WebhookPublisher, type WebhookEventType } from '../webhooks/publisher.js';

export interface PerCallSettings {
  store: CallSettingsStore;
  policy: CallSettingsPolicy;
  port: CallSettingsPort;
  /** For RtpMediaSessions and WorkerIngress. */
  hooksFor: (mediaId: string, base: HookSpec[]) => HookSpec[];
  /** Called with a call's id when its settings were stored (the publisher forgets its cache). */
  onSaved: (listener: (callId: string) => void) => void;
  /** Tells the onSaved listeners a call's settings changed outside `save` (they were deleted). */
  changed: (callId: string) => void;
}

export function composeCallSettings(cfg: MediabotConfig, db: Database, baseHooks: readonly HookSpec[]): PerCallSettings {
  const store = new CallSettingsStore(db);
  const overrides = new CallHookOverrides();
  const policy = new CallSettingsPolicy({ config: cfg, checkWebhookUrl: (url) => checkWebhookUrl(url, cfg.fetchAllowlist) });
  const listeners: Array<(callId: string) => void> = [];
  const save = (callId: string, s: CallSettings): void => {
    if (s.webhookUrl === undefined && s.metadata === undefined && s.transcription?.partials !== true) return;
    store.saveSettings({ callId, webhookUrl: s.webhookUrl ?? null, metadata: s.metadata ?? null, partialTranscripts: s.transcription?.partials === true });
    for (const l of listeners) l(callId);
  };
  return {
    store,
    policy,
    port: callSettingsPort({ policy, overrides, baseHooks, save }),
    hooksFor: (mediaId, base) => overrides.hooksFor(mediaId, base),
    onSaved: (l) => listeners.push(l),
    changed: (callId) => {
      for (const l of listeners) l(callId);
    },
  };
}

export interface Webhooks {
  api: MediabotWebhooks;
  requests: CallRequests;
  /** Publishes one message with an extra target URL and metadata of the caller's choosing (a deleted call's notice); 0 when webhooks are off. */
  publishWith: (callId: string | null, type: WebhookEventType, data: Record<string, unknown>, extra: { url?: string; metadata?: Record<string, unknown> | null }) => number;
  /** Adds the call's metadata to a live event of a call that has some (the events WebSocket). */
  withMetadata: (e: LiveEvent) => LiveEvent;
  start(): void;
  stop(): Promise<void>;
}

export function composeWebhooks(o: {
  cfg: MediabotConfig;
  db: Database;
  perCall: PerCallSettings;
  service: CallService;
  registry: CallRegistry;
  metrics: Registry;
  subscribe: (listener: (e: LiveEvent) => void) => () => void;
  logger: Logger;
  /** Files go to an object storage: it publishes recording.ready once they are uploaded. */
  recordingReadyAfterUpload?: boolean;
}): Webhooks {
  const log = o.logger.child({ component: 'webhooks' });
  const secret = o.cfg.webhooks.secret;
  const dispatcher = secret === undefined ? null : new WebhookDispatcher({ outbox: new WebhookOutbox(o.db), secret, allowlist: o.cfg.fetchAllowlist, logger: log, registry: o.metrics });
  const publisher =
    dispatcher === null
      ? null
      : new WebhookPublisher({
          dispatcher,
          globalUrl: o.cfg.webhooks.url,
          settings: (callId) => o.perCall.store.settings(callId),
          speakerName: (callId, sourceId) => o.service.speakers(callId).find((s) => s.sourceId === sourceId)?.displayName ?? null,
          recordings: (callId) => o.service.artifacts(callId)?.recordings ?? [],
          recordingReadyAfterUpload: o.recordingReadyAfterUpload === true,
          logger: log,
        });
  if (publisher) {
    o.perCall.onSaved((callId) => publisher.settingsChanged(callId));
    o.subscribe((e) => publisher.onEvent(e));
  }
  const requests = new CallRequests({
    join: (input) => o.service.join(input),
    place: (input) => o.service.place(input),
    check: (input: CallRequestInput) => {
      if (input.joinWebUrl !== undefined) {
        try {
          parseJoinUrl(input.joinWebUrl);
        } catch (err) {
          throw new MediabotError('MEDIABOT_JOIN_URL_INVALID', isMediabotError(err) ? err.message : 'invalid join URL', { httpStatus: 400 });
        }
      }
      if (input.settings !== undefined) o.perCall.port.validate(input.settings, input.media ?? 'app');
      checkMeetingArtifactsSetting(input);
    },
    store: o.perCall.store,
    registry: o.registry,
    logger: log,
    onScheduledFailed: (row) => publisher?.publish(null, 'call.join_failed', { requestId: row.id, joinAt: row.joinAt, error: row.error }, { ...(scheduledUrl(o.perCall, row.id) !== undefined ? { url: scheduledUrl(o.perCall, row.id)! } : {}), metadata: row.metadata }),
  });
  const metadataCache = new Map<string, Record<string, unknown> | null>();
  o.perCall.onSaved((callId) => metadataCache.delete(callId.toLowerCase()));
  const withMetadata = (e: LiveEvent): LiveEvent => {
    if (!('callId' in e) || typeof e.callId !== 'string') return e;
    const k = e.callId.toLowerCase();
    let m = metadataCache.get(k);
    if (m === undefined) {
      m = o.perCall.store.settings(e.callId)?.metadata ?? null;
      if (metadataCache.size > 10_000) metadataCache.clear();
      metadataCache.set(k, m);
    }
    return m === null ? e : (Object.assign({}, e, { metadata: m }) as LiveEvent);
  };
  return {
    api: webhooksApi(dispatcher, publisher),
    publishWith: (callId, type, data, extra) => publisher?.publish(callId, type, data, extra) ?? 0,
    requests,
    withMetadata,
    start: () => {
      dispatcher?.start();
      requests.start();
    },
    stop: async () => {
      requests.stop();
      await dispatcher?.stop();
    },
  };
}

function scheduledUrl(perCall: PerCallSettings, requestId: string): string | undefined {
  const settings = perCall.store.request(requestId)?.request['settings'] as CallSettings | undefined;
  return settings?.webhookUrl;
}
