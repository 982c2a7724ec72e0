/**
 * Per-call settings given in POST /v1/calls (or `Mediabot.calls.join/place`): transcription engine
 * and language, recording on or off and which files, webhook URL, partial transcripts in webhooks,
 * and free-form metadata. This module checks what the worker can honour (a setting it cannot is
 * refused with MEDIABOT_BAD_REQUEST, never accepted and ignored) and turns the media settings into
 * the call's hook list.
 */
import type { MediabotConfig, TranscriberName } from '../config/config.js';
import { TRANSCRIBER_NAMES } from '../config/config.js';
import type { HookSpec } from '../media/session/spec.js';
import { badRequest } from './call-table.js';
import { CONSENT_TEXT_MAX, type ConsentAnnouncement } from '../config/consent-settings.js';

export const RECORDING_FILES = ['mix', 'speakers'] as const;
export type RecordingFile = (typeof RECORDING_FILES)[number];

/** Largest `metadata`, as compact JSON. */
export const METADATA_MAX_BYTES = 4096;

export interface CallSettings {
  transcription?: { engine?: TranscriberName; language?: string; partials?: boolean };
  recording?: { enabled?: boolean; files?: RecordingFile[]; format?: 'ogg' | 'wav' | 'both' };
  /** Where this call's webhooks go, besides MEDIABOT_WEBHOOK_URL. */
  webhookUrl?: string;
  /** Echoed in every webhook of the call and in GET /v1/calls/:id. */
  metadata?: Record<string, unknown>;
  /** After the meeting, fetch Teams' attendance report and transcript (default MEDIABOT_FETCH_MEETING_ARTIFACTS). */
  fetchMeetingArtifacts?: boolean;
  /** The consent announcement of this call: a text to speak, or `off` (default MEDIABOT_CONSENT_ANNOUNCEMENT; docs/consent.md). */
  consent?: { announcement?: string };
}

/** The settings JSON schema (fastify/ajv), shared by POST /v1/calls and the OpenAPI document. */
export const callSettingsSchemaProperties = {
  transcription: {
    type: 'object',
    description: 'Speech-to-text for this call (default: MEDIABOT_TRANSCRIBER)',
    properties: {
      engine: { type: 'string', enum: [...TRANSCRIBER_NAMES], description: 'none turns transcription off for this call; azure and ws need their MEDIABOT_* settings' },
      language: { type: 'string', pattern: '^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}$', description: 'BCP-47 tag, e.g. en-US (azure: any it supports; pocketsphinx: en-US only; ws: not settable)' },
      partials: { type: 'boolean', description: 'also send transcript.partial webhooks (default false: final lines only)' },
    },
  },
  recording: {
    type: 'object',
    description: 'The recorder for this call (default: MEDIABOT_RECORD, the mix and every speaker, Ogg Opus and WAV)',
    properties: {
      enabled: { type: 'boolean' },
      files: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', enum: [...RECORDING_FILES] }, description: 'mix: the mixed call; speakers: one file per speaker' },
      format: { type: 'string', enum: ['ogg', 'wav', 'both'] },
    },
  },
  webhookUrl: { type: 'string', minLength: 1, maxLength: 2048, format: 'uri', description: 'an http(s) URL that receives this call\'s signed webhooks (needs MEDIABOT_WEBHOOK_SECRET)' },
  metadata: { type: 'object', description: `free-form JSON echoed in every webhook of the call (at most ${METADATA_MAX_BYTES} bytes as JSON)` },
  consent: {
    type: 'object',
    description: 'The consent announcement played when media starts and when people join (default MEDIABOT_CONSENT_ANNOUNCEMENT; docs/consent.md)',
    properties: {
      announcement: { type: 'string', minLength: 1, maxLength: CONSENT_TEXT_MAX, description: 'the text spoken into the call, or off for none' },
    },
  },
  fetchMeetingArtifacts: { type: 'boolean', description: 'after the meeting, fetch Teams\' attendance report and transcript into the call\'s folder (default MEDIABOT_FETCH_MEETING_ARTIFACTS; needs a long joinWebUrl)' },
} as const;

export interface CallSettingsPolicyOptions {
  config: Pick<MediabotConfig, 'transcriber' | 'transcriberWsUrl' | 'azureSpeech' | 'record' | 'webhooks'>;
  /** Checks a webhook URL against the outbound-address rule; throws when refused. */
  checkWebhookUrl?: (url: string) => void;
}

/** Validates settings against what this worker can do, and builds a call's hooks from them. */
export class CallSettingsPolicy {
  constructor(private readonly o: CallSettingsPolicyOptions) {}

  /** Throws MEDIABOT_BAD_REQUEST (or MEDIABOT_URL_REFUSED for a refused webhook URL) naming the setting. */
  validate(s: CallSettings): void {
    const cfg = this.o.config;
    const t = s.transcription;
    if (t !== undefined) {
      if (t.engine !== undefined && !(TRANSCRIBER_NAMES as readonly string[]).includes(t.engine)) throw badRequest(`transcription.engine must be one of ${TRANSCRIBER_NAMES.join(', ')}`);
      const engine = t.engine ?? cfg.transcriber;
      if (engine === 'azure' && cfg.azureSpeech === undefined) throw badRequest('transcription.engine "azure" needs MEDIABOT_AZURE_SPEECH_KEY on this worker');
      if (engine === 'ws' && cfg.transcriberWsUrl === undefined) throw badRequest('transcription.engine "ws" needs MEDIABOT_TRANSCRIBER_WS_URL on this worker');
      if (t.language !== undefined) {
        if (engine === 'none') throw badRequest('transcription.language needs a transcription engine (it is none for this call)');
        if (engine === 'ws') throw badRequest('transcription.language cannot be set for the ws engine (the STT server chooses it)');
        if (engine === 'pocketsphinx' && t.language.toLowerCase() !== 'en-us') throw badRequest('transcription.language: pocketsphinx has only the en-US model');
      }
      if (t.partials === true && engine === 'none') throw badRequest('transcription.partials needs a transcription engine (it is none for this call)');
    }
    const r = s.recording;
    if (r !== undefined) {
      const enabled = r.enabled ?? cfg.record;
      if (enabled && !cfg.record) throw badRequest('recording cannot be turned on for a call: this worker records nothing (MEDIABOT_RECORD=off)');
      if (!enabled && (r.files !== undefined || r.format !== undefined)) throw badRequest('recording.files and recording.format need recording enabled');
      if (r.files !== undefined && (r.files.length === 0 || r.files.some((f) => !(RECORDING_FILES as readonly string[]).includes(f)))) throw badRequest(`recording.files must list some of ${RECORDING_FILES.join(', ')}`);
    }
    if (s.webhookUrl !== undefined) {
      let u: URL;
      try {
        u = new URL(s.webhookUrl);
      } catch {
        throw badRequest('webhookUrl must be an http(s) URL');
      }
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw badRequest('webhookUrl must be an http(s) URL');
      if (cfg.webhooks.secret === undefined) throw badRequest('webhookUrl needs MEDIABOT_WEBHOOK_SECRET on this worker (webhooks are always signed)');
      this.o.checkWebhookUrl?.(s.webhookUrl);
    }
    if (s.consent !== undefined) consentOverride(s.consent);
    if (s.fetchMeetingArtifacts !== undefined && typeof s.fetchMeetingArtifacts !== 'boolean') throw badRequest('fetchMeetingArtifacts must be true or false');
    if (s.metadata !== undefined) {
      if (s.metadata === null || typeof s.metadata !== 'object' || Array.isArray(s.metadata)) throw badRequest('metadata must be a JSON object');
      const bytes = Buffer.byteLength(JSON.stringify(s.metadata), 'utf8');
      if (bytes > METADATA_MAX_BYTES) throw badRequest(`metadata is ${bytes} bytes as JSON; at most ${METADATA_MAX_BYTES}`);
    }
  }

  /** Whether the settings change the media hooks at all. */
  changesMedia(s: CallSettings): boolean {
    return s.transcription?.engine !== undefined || s.transcription?.language !== undefined || s.recording !== undefined;
  }

  /** The hooks of a call with these settings, from the worker's hooks (validated settings only). */
  hooks(base: readonly HookSpec[], s: CallSettings): HookSpec[] {
    const cfg = this.o.config;
    let out = [...base];
    const t = s.transcription;
    if (t?.engine !== undefined || t?.language !== undefined) {
      const engine = t.engine ?? cfg.transcriber;
      out = out.filter((h) => !('builtin' in h && h.builtin === 'transcribe'));
      if (engine !== 'none') {
        const options: Record<string, unknown> = { engine };
        if (engine === 'ws' && cfg.transcriberWsUrl !== undefined) options.url = cfg.transcriberWsUrl;
        if (engine === 'azure' && cfg.azureSpeech !== undefined) options.azure = { ...cfg.azureSpeech, ...(t.language !== undefined ? { language: t.language } : {}) };
        out.push({ builtin: 'transcribe', options });
      }
    }
    const r = s.recording;
    if (r !== undefined) {
      const enabled = r.enabled ?? cfg.record;
      const recorder = out.findIndex((h) => 'builtin' in h && h.builtin === 'recorder');
      if (!enabled && recorder >= 0) out.splice(recorder, 1);
      else if (enabled && recorder >= 0) {
        const spec = out[recorder] as { builtin: string; options?: Record<string, unknown> };
        const files = r.files;
        out[recorder] = {
          builtin: 'recorder',
          options: { ...spec.options, ...(r.format !== undefined ? { format: r.format } : {}), ...(files !== undefined ? { mix: files.includes('mix'), perSource: files.includes('speakers') } : {}) },
        };
      }
    }
    return out;
  }
}

/** Hooks per media id for calls with their own settings; RTP sessions and ingress calls read it. */
export class CallHookOverrides {
  private readonly byMedia = new Map<string, HookSpec[]>();
  /** Kept at most (oldest dropped): an entry is needed only until the call's media starts. */
  private static readonly MAX = 10_000;

  set(mediaId: string, hooks: HookSpec[]): void {
    this.byMedia.set(mediaId, hooks);
    if (this.byMedia.size > CallHookOverrides.MAX) this.byMedia.delete(this.byMedia.keys().next().value!);
  }

  /** The call's own hooks, or `base`. */
  hooksFor(mediaId: string, base: HookSpec[]): HookSpec[] {
    return this.byMedia.get(mediaId) ?? base;
  }

  delete(mediaId: string): void {
    this.byMedia.delete(mediaId);
  }
}

/** What the call service asks of per-call settings (CallServiceOptions.callSettings). */
export interface CallSettingsPort {
  /** Throws MEDIABOT_BAD_REQUEST for settings this worker cannot honour; `mode` is the call's media. */
  validate(s: CallSettings, mode: 'app' | 'service'): void;
  /** Before the call's media session is created (its hooks follow the settings). */
  beforeMedia(mediaId: string, s: CallSettings): void;
  /** Once Graph gave the call its id: the settings are stored with it. */
  created(callId: string, s: CallSettings): void;
}

/** The settings port over the policy, the hook overrides and the store. */
export function callSettingsPort(o: {
  policy: CallSettingsPolicy;
  overrides: CallHookOverrides;
  baseHooks: readonly HookSpec[];
  save: (callId: string, s: CallSettings) => void;
}): CallSettingsPort {
  return {
    validate: (s, mode) => {
      o.policy.validate(s);
      if (mode === 'service' && o.policy.changesMedia(s)) throw badRequest('transcription and recording settings need app-hosted media (media "app")');
      if (mode === 'service' && s.consent !== undefined) throw badRequest('consent needs app-hosted media (media "app"): with service-hosted media mediabot records nothing');
    },
    beforeMedia: (mediaId, s) => {
      if (o.policy.changesMedia(s)) o.overrides.set(mediaId, o.policy.hooks(o.baseHooks, s));
    },
    created: (callId, s) => o.save(callId, s),
  };
}

/**
 * Refuses keys a settings object does not know (the route's schema lists them), so a setting this
 * worker does not have is a 400 with its name, never silently dropped.
 */
export function refuseUnknownKeys(value: unknown, known: readonly string[], where: string): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
  for (const k of Object.keys(value)) {
    if (!known.includes(k)) throw badRequest(`${where}${k} is not a known setting (known: ${known.join(', ')})`);
  }
}

/** refuseUnknownKeys for a settings object and its nested transcription and recording objects. */
export function refuseUnknownSettings(s: Record<string, unknown>): void {
  refuseUnknownKeys(s['transcription'], Object.keys(callSettingsSchemaProperties.transcription.properties), 'transcription.');
  refuseUnknownKeys(s['recording'], Object.keys(callSettingsSchemaProperties.recording.properties), 'recording.');
  refuseUnknownKeys(s['consent'], Object.keys(callSettingsSchemaProperties.consent.properties), 'consent.');
}

/**
 * A call's own consent announcement from its settings: null when it has none (the worker's
 * applies), `off`, or a text. Throws MEDIABOT_BAD_REQUEST for anything else.
 */
export function consentOverride(consent: unknown): ConsentAnnouncement | null {
  if (consent === undefined) return null;
  if (consent === null || typeof consent !== 'object' || Array.isArray(consent)) throw badRequest('consent must be an object such as {"announcement": "off"}');
  const a = (consent as { announcement?: unknown }).announcement;
  if (a === undefined) return null;
  if (typeof a !== 'string' || a.trim() === '' || a.length > CONSENT_TEXT_MAX) throw badRequest(`consent.announcement must be "off" or a text of 1-${CONSENT_TEXT_MAX} characters`);
  return a.trim() === 'off' ? { kind: 'off' } : { kind: 'text', text: a.trim() };
}
