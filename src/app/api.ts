/** The public shape of a composed mediabot (`createMediabot`'s result, narrowed by src/index.ts). */
import type { FastifyInstance } from 'fastify';
import type { MediabotConfig } from '../config/config.js';
import type { Emulator } from '../../testing/emulator/index.js';
import type { MediabotCalls } from './calls-api.js';
import type { MediabotEvents } from './events-api.js';
import type { DrainResult } from './drain.js';

export type { DrainResult } from './drain.js';
import type { MediabotWebhooks } from '../webhooks/api.js';
import type { MediabotStorage } from '../storage/api.js';

export interface Mediabot {
  /** The effective config (with the emulator's URLs and credentials when emulated, and the chosen port). */
  readonly config: MediabotConfig;
  /** The fastify app (callbacks, /v1 operator API, /v1/events, /metrics, health, dashboard). Built, not listening until `listen()`. */
  readonly app: FastifyInstance;
  /** The base URL it listens on once `listen()` resolved, e.g. http://127.0.0.1:3978. */
  readonly url: string;
  /** The callback URL given to Graph (`<MEDIABOT_PUBLIC_URL or url>/api/calling`). */
  readonly callbackUri: string;
  /** Calls: join, place, hang up, play, mute, participants, transcript, recordings, analytics. */
  readonly calls: MediabotCalls;
  /** Every live event, typed: call state and roster, talk, dominant speaker, transcripts, hooks' own events, artifacts. */
  readonly events: MediabotEvents;
  /** Signed webhook deliveries: list, replay, wait until none is pending, publish (src/webhooks/api.ts). */
  readonly webhooks: MediabotWebhooks;
  /** Where call artifacts go after the call (MEDIABOT_STORAGE_URL): uploads, waiting for them, signed download URLs, deleting a call's objects. */
  readonly storage: MediabotStorage;
  /** The embedded Graph emulator when the config has no Graph credentials, else null. */
  readonly emulator: Emulator | null;
  /** The token media sidecars present on /media/bridge (a random one when none is configured). */
  readonly bridgeToken: string;
  /** Opens the HTTP port (once; later calls return the same promise) and resolves with `url`. */
  listen(): Promise<string>;
  /** Stops everything it started, listening or not. Calls still up are left to Graph (hang them up first to keep their artifacts), or use `drain()`. */
  close(): Promise<void>;
  /**
   * Stops without dropping meetings (what `mediabot start` does on SIGTERM): /readyz answers 503 and
   * new calls are refused (MEDIABOT_DRAINING; incoming ones rejected through Graph) at once; live
   * calls go on until they end, or until `timeoutMs` (default MEDIABOT_DRAIN_TIMEOUT_S) passes, then
   * they are hung up; resolves once every call's artifacts are written and everything is closed.
   * Called again while draining, a sooner deadline shortens the wait (`{ timeoutMs: 0 }`: hang up now).
   */
  drain(options?: { timeoutMs?: number }): Promise<DrainResult>;
  /** True once `drain()` was called. */
  readonly draining: boolean;
}
