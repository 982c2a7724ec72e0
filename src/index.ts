/**
 * mediabot's public API (`import … from 'mediabot'`).
 *
 *   const bot = await createMediabot(loadConfig());   // composes everything, listens nowhere yet
 *   bot.events.on('transcript.final', (e) => …);      // typed live events
 *   await bot.listen();                               // Graph callbacks, /v1, /v1/events, dashboard
 *   const call = await bot.calls.join({ joinWebUrl });
 *   …
 *   await bot.close();
 *
 * Hooks are in `mediabot/hooks`; the Graph emulator and test helpers in `mediabot/testing`.
 */
import { createMediabot as compose, type MediabotOptions } from './app/mediabot.js';
import type { Mediabot } from './app/api.js';
import type { MediabotConfig } from './config/config.js';

/**
 * Creates a mediabot from a validated config (`loadConfig()`): Graph client, signaling, media
 * threads, store and the fastify app, all wired and started except the HTTP port, which
 * `listen()` opens. Without Graph credentials in the config it runs against the embedded Graph
 * emulator (`bot.emulator`). Rejects with a MediabotError (MEDIABOT_CONFIG_INVALID,
 * MEDIABOT_HOOK_MODULE_INVALID …) and leaves nothing running when a setting is wrong.
 */
export const createMediabot: (config: MediabotConfig, options?: MediabotOptions) => Promise<Mediabot> = compose;

export type { Mediabot, DrainResult } from './app/api.js';
export type { MediabotOptions } from './app/mediabot.js';
export type { CallInfo, CallStateFilter, JoinInput, MediabotCalls, ParticipantInfo, PlaceInput, PlayResult, PromptInput, Transcript } from './app/calls-api.js';
export type { CallSummaryView, DeliveryInfo, EndedCall, HistoryDeliveries, HistoryFile, HistoryOverlap, HistoryPage, HistoryQuery, HistoryRecording, HistorySpeaker, SignedLink } from './calls/history.js';
export type { MediabotEvents, LiveEventOf, LiveEventType } from './app/events-api.js';
export type { MediabotWebhooks, WebhookDelivery, WebhookEventType } from './webhooks/api.js';
export type { CallSettings } from './calls/call-settings.js';
export type { MediabotStorage, StorageUpload, StoredRecording, SignedUrl, UploadKind, UploadStatus } from './storage/api.js';
export type { StorageSettings, StorageTarget } from './config/storage.js';
export type { DeletionResult, RemoteCallStore } from './retention/call-data.js';
export type { DeletionFilter, DeletionRecord } from './retention/deletion-log.js';

// The fastify app on its own (it never listens), e.g. to mount mediabot's routes in tests with inject().
export { buildApp, type AppDeps } from './server/app.js';
export type { CallJson } from './server/routes/v1-calls.js';

export { loadConfig, CONFIG_DEFAULTS, type MediabotConfig, type TranscriberName } from './config/config.js';
export { MediabotError, isMediabotError, ERROR_CODES, type MediabotErrorCode } from './errors.js';
export { createLogger, silentLogger, type Logger } from './logger.js';

// Events.
export type { LiveEvent, SpeakerRef, WorkerEvent as CallServiceEvent, DataDeletedEvent, DeletedCounts, DeletionReason } from './events/live.js';
export type { CallArtifacts, MediaMode, RecordingEntry, SpeakerInfo, TargetInput } from './calls/service.js';
export type { MediabotEvent, SignalingEvent } from './events/bus.js';
export type { MediaEvent, MediaEventType } from './media/hooks/api.js';
export type { HookSpec } from './media/session/spec.js';

// The Graph client on its own (calls, participants, meetings and their artifacts, presence, call
// records, subscriptions), for what the operator API does not cover.
export { createGraphFromConfig, mediaPrompt, serviceHostedMediaConfig, parseJoinUrl, GraphError, isGraphError, type GraphClient } from './graph/index.js';
