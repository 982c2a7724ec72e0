/**
 * Every error mediabot raises on purpose carries a stable `MEDIABOT_*` code.
 * The codes are listed in docs/errors.md; add a line there when adding one here.
 */
export const ERROR_CODES = {
  // config
  MEDIABOT_CONFIG_INVALID: 'A configuration variable has an invalid value',
  // RTP / RTCP wire
  MEDIABOT_RTP_TRUNCATED: 'An RTP packet is shorter than its headers say',
  MEDIABOT_RTP_BAD_VERSION: 'An RTP or RTCP packet does not have version 2',
  MEDIABOT_RTP_BAD_PADDING: 'An RTP packet has an impossible padding length',
  MEDIABOT_RTP_BAD_EXTENSION: 'An RTP header extension is malformed',
  MEDIABOT_RTCP_MALFORMED: 'An RTCP packet is malformed or truncated',
  MEDIABOT_RTP_INVALID_FIELD: 'An RTP or RTCP field to be written is out of range',
  MEDIABOT_BUFFER_TOO_SMALL: 'An output buffer is too small for what must be written into it',
  // codec and media core
  MEDIABOT_CODEC_FAILED: 'libopus failed to decode or encode a frame',
  MEDIABOT_MEDIA_THREAD_FAILED: 'A media worker thread failed',
  MEDIABOT_CALL_NOT_FOUND: 'No call with that id',
  MEDIABOT_HOOK_FAILED: 'A hook could not be created: an unknown built-in, a module without a factory, or missing options (a hook that fails while running is reported as a hook.error event)',
  MEDIABOT_TRANSCRIBER_CLOSED: 'Audio was written to a transcription stream after end()',
  MEDIABOT_TRANSCRIBER_BAD_AUDIO: 'Audio for a transcription stream is not 16 kHz int16 in whole 20 ms frames with a valid media time',
  MEDIABOT_TRANSCRIBER_FAILED: 'The transcription engine failed, exited or could not be reached',
  MEDIABOT_HOOK_MODULE_INVALID: 'A hook module (MEDIABOT_HOOKS) could not be loaded or does not export a hook factory',
  MEDIABOT_RECORDING_FAILED: 'A recording file could not be opened or written',
  MEDIABOT_AUDIO_INVALID: 'An audio file (WAV or Ogg Opus) is malformed or not 16-bit mono PCM',
  MEDIABOT_RECORDING_INVALID: 'The recorder was given a malformed packet or option',
  // signaling (inbound callbacks, operations, subscriptions)
  MEDIABOT_CALLBACK_UNAUTHORIZED: 'A Graph callback carried no valid bearer token',
  MEDIABOT_NOTIFICATION_INVALID: 'A notification body is not a recognised notification envelope',
  MEDIABOT_OPERATION_FAILED: 'A Graph call operation finished with a failed status',
  MEDIABOT_OPERATION_TIMEOUT: 'A Graph call operation did not report completion in time',
  MEDIABOT_CALL_TERMINATED: 'The call has already ended',
  MEDIABOT_STORE_FAILED: 'Reading or writing the local database failed',
  MEDIABOT_STORE_BAD_EVENT: 'An event or record given to the speech store is malformed',
  // outbound Graph client
  MEDIABOT_GRAPH_HTTP: 'Graph answered with an error status',
  MEDIABOT_GRAPH_THROTTLED: 'Graph kept answering 429 Too Many Requests after every retry',
  MEDIABOT_GRAPH_UNAVAILABLE: 'Graph kept answering 503/504 after every retry',
  MEDIABOT_GRAPH_UNREACHABLE: 'Graph could not be reached (network error or timeout) after every retry',
  MEDIABOT_GRAPH_AUTH: 'An access token for Graph could not be acquired or was refused',
  MEDIABOT_GRAPH_BAD_RESPONSE: 'Graph answered with a body that is not the expected JSON',
  MEDIABOT_GRAPH_INVALID_ARGUMENT: 'A Graph operation was called with an invalid argument',
  MEDIABOT_JOIN_URL_INVALID: 'A Teams meeting join URL could not be parsed',
  // Graph emulator
  MEDIABOT_EMULATOR_START_FAILED: 'The Graph emulator could not start',
  MEDIABOT_EMULATOR_BAD_FAULT: 'A fault-injection rule for the emulator is invalid',
  MEDIABOT_EMULATOR_SPEECH_FAILED: 'The emulator could not render or read speech (espeak-ng/sox)',
  // media ingress (ACS media streaming, media bridge sidecar)
  MEDIABOT_INGRESS_BAD_MESSAGE: 'An ingress control message is not valid JSON or does not match its schema',
  MEDIABOT_INGRESS_BAD_FRAME: 'An ingress media frame is malformed or has the wrong size',
  MEDIABOT_INGRESS_BAD_VERSION: 'An ingress peer speaks a protocol or frame version this build does not support',
  MEDIABOT_INGRESS_BAD_RATE: 'Ingress PCM has a sample rate other than 16, 24 or 48 kHz',
  MEDIABOT_INGRESS_UNAUTHORIZED: 'An ingress peer presented no valid token',
  MEDIABOT_INGRESS_UNKNOWN_CALL: 'An ingress message names a call or call index that is not active',
  MEDIABOT_INGRESS_RATE_EXCEEDED: 'An ingress source sends audio far faster than real time; frames were dropped',
  MEDIABOT_INGRESS_SLOW_CONSUMER: 'An ingress peer stopped reading; outbound frames were dropped and it was disconnected',
  MEDIABOT_INGRESS_HEARTBEAT: 'An ingress peer missed its heartbeats and was disconnected',
  MEDIABOT_INGRESS_NO_SIDECAR: 'No media bridge sidecar is connected to create a media session',
  MEDIABOT_INGRESS_SESSION_FAILED: 'The media bridge sidecar could not create a media session, or did not answer in time',
  // HTTP
  MEDIABOT_BAD_REQUEST: 'The request is malformed',
  MEDIABOT_BODY_TOO_LARGE: 'The request body is larger than allowed',
  MEDIABOT_UNAUTHORIZED: 'Missing or invalid credentials',
  MEDIABOT_NOT_FOUND: 'No such resource',
  MEDIABOT_INTERNAL: 'An unexpected internal error',
  // worker, operator API, demo
  MEDIABOT_CALL_NOT_ESTABLISHED: 'The call is not established yet, and the action needs an established call',
  MEDIABOT_PROMPT_FAILED: 'A prompt could not be synthesized, fetched or decoded',
  MEDIABOT_URL_REFUSED: 'A caller-given URL was refused (address not public and not allowlisted, too large, too slow, too many redirects) or could not be fetched; one message whatever the reason',
  MEDIABOT_ORIGIN_REFUSED: 'A request carried an Origin or Host header that is not the worker\'s own or an allowed one',
  MEDIABOT_CALLBACK_REPLAYED: 'A Graph callback reused a token already seen for that call, or named a tenant other than the token\'s or the configured ones',
  MEDIABOT_RTP_PORTS_EXHAUSTED: 'No free UDP port is left in MEDIABOT_RTP_PORTS for a call',
  MEDIABOT_DEMO_FAILED: 'A stage of `mediabot demo` failed (the message names the stage)',
  // deployment
  MEDIABOT_DRAINING: 'The instance is shutting down (draining) and takes no new calls; its live calls go on until they end',
  MEDIABOT_AT_CAPACITY: 'The instance already has MEDIABOT_MAX_CALLS live calls',
} as const;

export type MediabotErrorCode = keyof typeof ERROR_CODES | `MEDIABOT_${string}`;

export class MediabotError extends Error {
  readonly code: MediabotErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: MediabotErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'MediabotError';
    this.code = code;
    this.details = details;
  }

  toJSON(): { error: { code: string; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

export function isMediabotError(err: unknown): err is MediabotError {
  return err instanceof MediabotError;
}
