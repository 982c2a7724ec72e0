import type { Logger } from '../../src/logger.js';
import type { EmulatorBridgeSidecar } from './bridge-sidecar.js';
import type { CallbackSigner } from './callback-signer.js';
import type { Notifier } from './notifier.js';
import type { SpeechBank } from './speech.js';

/** Delays of the simulated world; tests shorten them, the defaults feel like a real service. */
export interface EmulatorTiming {
  /** establishing -> established for meeting joins and answered calls. */
  establishMs: number;
  /** How long a called target rings before answering. */
  answerMs: number;
  /** A prompt whose duration cannot be read from a WAV at its URI lasts this long. */
  defaultPromptMs: number;
  /** Per DTMF tone sent with sendDtmfTones (on top of delayBetweenTonesMs). */
  toneMs: number;
  /** From call end to its callRecord being available (Graph takes minutes). */
  callRecordDelayMs: number;
  /** From the last simulated participant leaving to the call ending. */
  emptyGraceMs: number;
  /** A call with no keepAlive for this long is ended with 408/8537 (Graph: 45 minutes). */
  keepAliveTimeoutMs: number;
  /** An incoming call nobody answers ends after this long. */
  ringTimeoutMs: number;
  /** Delay between simulated participants joining. */
  joinStaggerMs: number;
  /** How long a simulated participant stays after their last sentence. */
  stayAfterScriptMs: number;
  /** Silence between the last simulated join and the first sentence. */
  speechLeadInMs: number;
  /** Silence before every other turn (the turns that do not overlap). */
  turnGapMs: number;
  /** How far every other turn overlaps the previous one (negative: a silence that long instead). */
  turnOverlapMs: number;
}

export const DEFAULT_TIMING: EmulatorTiming = {
  establishMs: 150,
  answerMs: 400,
  defaultPromptMs: 1000,
  toneMs: 100,
  callRecordDelayMs: 300,
  emptyGraceMs: 1500,
  keepAliveTimeoutMs: 45 * 60_000,
  ringTimeoutMs: 60_000,
  joinStaggerMs: 400,
  stayAfterScriptMs: 8_000,
  speechLeadInMs: 500,
  turnGapMs: 250,
  turnOverlapMs: 600,
};

/** What every emulator module shares. */
export interface EmulatorContext {
  baseUrl: string;
  /** Graph base without version, e.g. https://127.0.0.1:PORT (the client appends /v1.0). */
  graphUrl: string;
  tenantId: string;
  /** Every tenant that consented to the app (tenantId first): calls may name only these. */
  tenants: string[];
  clientId: string;
  botDisplayName: string;
  logger: Logger;
  timing: EmulatorTiming;
  notifier: Notifier;
  signer: CallbackSigner;
  speech: SpeechBank;
  /** Resolves when the default script's speech is rendered; rejects if espeak-ng/sox failed. */
  speechReady: Promise<void>;
  /** Bridge-sidecar mode: the sidecar connected to the bot, whose blobs route a call's media through it. */
  bridgeSidecar?: EmulatorBridgeSidecar | null;
}
