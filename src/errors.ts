/**
 * Every error mediabot raises on purpose carries a stable `MEDIABOT_*` code. This table is the one
 * source of the codes: per code, the HTTP status the server answers with when the error reaches a
 * route (none: not normally answered over HTTP, then 500) and the line docs/errors.md shows.
 * `MediabotErrorCode` is exactly its keys, so a mistyped code does not compile.
 * Add a row to docs/errors.md when adding one here (a unit test compares them).
 */
export interface ErrorCodeInfo {
  /** HTTP status when the error reaches a route; absent: 500 (the error is normally logged, not answered). */
  readonly http?: number;
  /** What the code means (the docs line). */
  readonly doc: string;
}

export const ERROR_CODES = {
  // config
  MEDIABOT_CONFIG_INVALID: { doc: 'A configuration variable has an invalid value' },
  // RTP / RTCP wire
  MEDIABOT_RTP_TRUNCATED: { doc: 'An RTP packet is shorter than its headers say' },
  MEDIABOT_RTP_BAD_VERSION: { doc: 'An RTP or RTCP packet does not have version 2' },
  MEDIABOT_RTP_BAD_PADDING: { doc: 'An RTP packet has an impossible padding length' },
  MEDIABOT_RTP_BAD_EXTENSION: { doc: 'An RTP header extension is malformed' },
  MEDIABOT_RTCP_MALFORMED: { doc: 'An RTCP packet is malformed or truncated' },
  MEDIABOT_RTP_INVALID_FIELD: { doc: 'An RTP or RTCP field to be written is out of range' },
  MEDIABOT_BUFFER_TOO_SMALL: { doc: 'An output buffer is too small for what must be written into it' },
  // codec and media core
  MEDIABOT_CODEC_FAILED: { doc: 'libopus failed to decode or encode a frame' },
  MEDIABOT_MEDIA_THREAD_FAILED: { doc: 'A media worker thread failed' },
  MEDIABOT_CALL_NOT_FOUND: { http: 404, doc: 'No call with that id' },
  MEDIABOT_HOOK_FAILED: { doc: 'A hook could not be created: an unknown built-in, a module without a factory, or missing options (a hook that fails while running is reported as a hook.error event)' },
  MEDIABOT_TRANSCRIBER_CLOSED: { doc: 'Audio was written to a transcription stream after end()' },
  MEDIABOT_TRANSCRIBER_BAD_AUDIO: { doc: 'Audio for a transcription stream is not 16 kHz int16 in whole 20 ms frames with a valid media time' },
  MEDIABOT_TRANSCRIBER_FAILED: { doc: 'The transcription engine failed, exited or could not be reached' },
  MEDIABOT_HOOK_MODULE_INVALID: { doc: 'A hook module (MEDIABOT_HOOKS) could not be loaded or does not export a hook factory' },
  MEDIABOT_RECORDING_FAILED: { doc: 'A recording file could not be opened or written' },
  MEDIABOT_AUDIO_INVALID: { doc: 'An audio file (WAV or Ogg Opus) is malformed or not 16-bit mono PCM' },
  MEDIABOT_RECORDING_INVALID: { doc: 'The recorder was given a malformed packet or option' },
  // signaling (inbound callbacks, operations, subscriptions)
  MEDIABOT_CALLBACK_UNAUTHORIZED: { http: 401, doc: 'A Graph callback carried no valid bearer token' },
  MEDIABOT_NOTIFICATION_INVALID: { http: 400, doc: 'A notification body is not a recognised notification envelope' },
  MEDIABOT_NOTIFICATION_DECRYPT_FAILED: { http: 400, doc: 'A rich notification could not be decrypted: no key for its certificate id, a dataSignature that does not match, or data that is not valid' },
  MEDIABOT_NOTIFICATION_TOKEN_INVALID: { http: 401, doc: 'A rich notification carried no validation token, or one that is not valid (signature, issuer, audience, azp, tenant, expiry)' },
  MEDIABOT_OPERATION_FAILED: { http: 502, doc: 'A Graph call operation finished with a failed status' },
  MEDIABOT_OPERATION_TIMEOUT: { http: 504, doc: 'A Graph call operation did not report completion in time' },
  MEDIABOT_CALL_TERMINATED: { http: 409, doc: 'The call has already ended' },
  MEDIABOT_STORE_FAILED: { doc: 'Reading or writing the local database failed' },
  MEDIABOT_STORE_BAD_EVENT: { doc: 'An event or record given to the speech store is malformed' },
  // outbound Graph client
  MEDIABOT_GRAPH_HTTP: { http: 502, doc: 'Graph answered with an error status' },
  MEDIABOT_GRAPH_THROTTLED: { http: 503, doc: 'Graph kept answering 429 Too Many Requests after every retry' },
  MEDIABOT_GRAPH_UNAVAILABLE: { http: 503, doc: 'Graph kept answering 503/504 after every retry' },
  MEDIABOT_GRAPH_UNREACHABLE: { http: 502, doc: 'Graph could not be reached (network error or timeout) after every retry' },
  MEDIABOT_GRAPH_AUTH: { http: 502, doc: 'An access token for Graph could not be acquired or was refused' },
  MEDIABOT_GRAPH_BAD_RESPONSE: { http: 502, doc: 'Graph answered with a body that is not the expected JSON' },
  MEDIABOT_GRAPH_INVALID_ARGUMENT: { http: 400, doc: 'A Graph operation was called with an invalid argument' },
  MEDIABOT_JOIN_URL_INVALID: { http: 400, doc: 'A Teams meeting join URL could not be parsed' },
  // Graph emulator
  MEDIABOT_EMULATOR_START_FAILED: { doc: 'The Graph emulator could not start' },
  MEDIABOT_EMULATOR_BAD_FAULT: { doc: 'A fault-injection rule for the emulator is invalid' },
  MEDIABOT_EMULATOR_SPEECH_FAILED: { doc: 'The emulator could not render or read speech (espeak-ng/sox)' },
  // media ingress (ACS media streaming, media bridge sidecar)
  MEDIABOT_INGRESS_BAD_MESSAGE: { doc: 'An ingress control message is not valid JSON or does not match its schema' },
  MEDIABOT_INGRESS_BAD_FRAME: { doc: 'An ingress media frame is malformed or has the wrong size' },
  MEDIABOT_INGRESS_BAD_VERSION: { doc: 'An ingress peer speaks a protocol or frame version this build does not support' },
  MEDIABOT_INGRESS_BAD_RATE: { doc: 'Ingress PCM has a sample rate other than 16, 24 or 48 kHz' },
  MEDIABOT_INGRESS_UNAUTHORIZED: { http: 401, doc: 'An ingress peer presented no valid token' },
  MEDIABOT_INGRESS_UNKNOWN_CALL: { doc: 'An ingress message names a call or call index that is not active' },
  MEDIABOT_INGRESS_RATE_EXCEEDED: { doc: 'An ingress source sends audio far faster than real time; frames were dropped' },
  MEDIABOT_INGRESS_SLOW_CONSUMER: { doc: 'An ingress peer stopped reading; outbound frames were dropped and it was disconnected' },
  MEDIABOT_INGRESS_HEARTBEAT: { doc: 'An ingress peer missed its heartbeats and was disconnected' },
  MEDIABOT_INGRESS_NO_SIDECAR: { http: 503, doc: 'No media bridge sidecar is connected to create a media session' },
  MEDIABOT_INGRESS_SESSION_FAILED: { http: 502, doc: 'The media bridge sidecar could not create a media session, or did not answer in time' },
  MEDIABOT_UDP_FAILED: { doc: 'A batched UDP socket could not be opened, bound or given its buffers' },
  // HTTP
  MEDIABOT_BAD_REQUEST: { http: 400, doc: 'The request is malformed' },
  MEDIABOT_BODY_TOO_LARGE: { http: 413, doc: 'The request body is larger than allowed' },
  MEDIABOT_UNAUTHORIZED: { http: 401, doc: 'Missing or invalid credentials' },
  MEDIABOT_NOT_FOUND: { http: 404, doc: 'No such resource' },
  MEDIABOT_RANGE_NOT_SATISFIABLE: { http: 416, doc: 'A file download asked for a byte range that starts past the end of the file' },
  MEDIABOT_INTERNAL: { http: 500, doc: 'An unexpected internal error' },
  // worker, operator API, demo
  MEDIABOT_CALL_NOT_ESTABLISHED: { http: 409, doc: 'The call is not established yet, and the action needs an established call' },
  MEDIABOT_PROMPT_FAILED: { http: 502, doc: 'A prompt could not be synthesized, fetched or decoded' },
  MEDIABOT_URL_REFUSED: { http: 400, doc: 'A caller-given URL was refused (address not public and not allowlisted, too large, too slow, too many redirects) or could not be fetched; one message whatever the reason' },
  MEDIABOT_WEBHOOK_PENDING: { http: 409, doc: 'A webhook delivery cannot be replayed while it is still pending' },
  MEDIABOT_ORIGIN_REFUSED: { http: 403, doc: 'A request carried an Origin or Host header that is not the worker\'s own or an allowed one' },
  MEDIABOT_CALLBACK_REPLAYED: { http: 401, doc: 'A Graph callback reused a token already seen for that call, or named a tenant other than the token\'s or the configured ones' },
  MEDIABOT_RTP_PORTS_EXHAUSTED: { http: 503, doc: 'No free UDP port is left in MEDIABOT_RTP_PORTS for a call' },
  MEDIABOT_CALL_NOT_ENDED: { http: 409, doc: 'The call has not ended yet: its history (GET /v1/history/:id) exists once it ended and its artifacts were written' },
  MEDIABOT_LINK_EXPIRED: { http: 403, doc: 'A signed file link (from the call history) has expired or its signature does not match' },
  MEDIABOT_DEMO_FAILED: { doc: 'A stage of `mediabot demo` failed (the message names the stage)' },
  // deployment
  MEDIABOT_DRAINING: { http: 503, doc: 'The instance is shutting down (draining) and takes no new calls; its live calls go on until they end' },
  MEDIABOT_AT_CAPACITY: { http: 503, doc: 'The instance already has MEDIABOT_MAX_CALLS live calls' },
  // call end reasons: a leave rule ended the call (docs/leave-rules.md); in the end reason, never thrown
  MEDIABOT_LEFT_ALONE: { doc: 'The bot left: no human was left in the call (bots and applications do not count) for MEDIABOT_LEAVE_WHEN_ALONE_S' },
  MEDIABOT_NO_ONE_JOINED: { doc: 'The bot left: no human joined within MEDIABOT_LEAVE_NO_ONE_JOINED_S of it entering the call' },
  MEDIABOT_LEFT_SILENCE: { doc: 'The bot left: nobody talked for MEDIABOT_LEAVE_SILENCE_S (counted after MEDIABOT_LEAVE_SILENCE_GRACE_S)' },
  MEDIABOT_LEFT_MAX_DURATION: { doc: 'The bot left: the call reached MEDIABOT_LEAVE_MAX_DURATION_S' },
  MEDIABOT_LOBBY_TIMEOUT: { doc: 'The bot left: it waited in the meeting\'s lobby for MEDIABOT_LOBBY_TIMEOUT_S without being admitted' },
  // many instances (MEDIABOT_REDIS_URL)
  MEDIABOT_OWNER_UNREACHABLE: { http: 502, doc: 'The instance that owns the call did not answer a forwarded request (connection refused or timed out)' },
  MEDIABOT_FLEET_UNAVAILABLE: { http: 503, doc: 'The call is not this instance\'s and the fleet registry (Redis) cannot be reached to find its owner' },
  MEDIABOT_FLEET_FULL: { http: 503, doc: 'Every instance of the fleet is at MEDIABOT_MAX_CALLS or draining' },
  MEDIABOT_WORKER_LOST: { http: 503, doc: 'The instance that owned the call stopped without hanging up; another instance hung the call up (a call end reason, and the answer for such a call\'s routes)' },
  // object storage (MEDIABOT_STORAGE_URL)
  MEDIABOT_STORAGE_FAILED: { http: 502, doc: 'The object storage (Azure Blob Storage, S3) refused or did not answer an upload, listing, signed URL or deletion' },
  MEDIABOT_STORAGE_MISMATCH: { http: 502, doc: 'An uploaded object is missing or differs in size or MD5 from the local file; the upload is retried and the local file kept' },
  // retention and deletion (docs/retention.md)
  MEDIABOT_CALL_ACTIVE: { http: 409, doc: 'The call is live, or has ended and its artifacts are still being written: its data cannot be deleted yet' },
  MEDIABOT_DELETION_INCOMPLETE: { http: 500, doc: 'Deleting a call\'s data failed partway (files, database rows or object storage); the deletion log records what was removed, and repeating the request removes the rest' },
} as const satisfies Record<`MEDIABOT_${string}`, ErrorCodeInfo>;

export type MediabotErrorCode = keyof typeof ERROR_CODES;

/** True for a string that is one of the codes (e.g. one that crossed a thread or process boundary). */
export function isMediabotErrorCode(code: unknown): code is MediabotErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, code);
}

/**
 * Rebuilds an error that crossed a boundary as plain data (a media thread's reply): its code is
 * kept only if it is one of the table's; otherwise it becomes `fallback`, with the unknown code in
 * the details.
 */
export function errorFromWire(error: { code: unknown; message: unknown }, fallback: MediabotErrorCode): MediabotError {
  const message = typeof error.message === 'string' ? error.message : 'unknown error';
  if (isMediabotErrorCode(error.code)) return new MediabotError(error.code, message);
  return new MediabotError(fallback, message, { unknownCode: error.code });
}

/** The HTTP status for a code: the table's, or 500 for codes not normally answered over HTTP. */
export function httpStatusOf(code: MediabotErrorCode): number {
  const info: ErrorCodeInfo = ERROR_CODES[code];
  return info.http ?? 500;
}

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
