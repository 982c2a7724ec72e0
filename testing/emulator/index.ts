/**
 * The embedded Graph emulator: the other side of mediabot's wire when no Graph credentials are set.
 *
 * One HTTPS server (https://127.0.0.1:PORT, certificate signed by a CA generated at start, `caPem`):
 *
 * Identity (msal-node: authority `${authorityUrl}/${tenantId}`, knownAuthorities [knownAuthority],
 * authorityMetadata, a network client trusting caPem):
 *   POST /{tenant}/oauth2/v2.0/token           client_credentials with client_secret or client_assertion;
 *                                              scope https://graph.microsoft.com/.default or {baseUrl}/.default
 *   GET  /{tenant}/v2.0/.well-known/openid-configuration, /{tenant}/discovery/v2.0/keys
 *   GET  /common/discovery/instance
 * Graph, under /v1.0 and /beta (bearer token required; 401/403 Graph-style errors):
 *   communications/calls (+ legacy app/calls), participants, operations, onlineMeetings
 *   (/users/{id}/..., /me/... only with a delegated token (app tokens get Graph's 400), communications/onlineMeetings?$filter=VideoTeleconferenceId),
 *   presence, communications/getPresencesByUserId, communications/callRecords (+ getPstnCalls,
 *   getDirectRoutingCalls, sessions), subscriptions (validationToken handshake, lifecycle events).
 * Callback signing: GET /callback/.well-known/OpenIdConfiguration -> jwks_uri /callback/keys. Every
 * notification to a callbackUri carries `Authorization: Bearer <RS256 JWT>` with
 * iss https://api.botframework.com, aud = client id, tid.
 * Control plane (loopback only; `Authorization: Bearer <Emulator.controlToken>`, a secret generated at
 * start and printed by `mediabot emulator`, except recordings, which take their own token):
 *   GET  /_emulator/stats                       token requests, Graph requests, notification delivery
 *   GET|POST|DELETE /_emulator/faults           {status: 429|5xx, count, retryAfterSeconds?, pathContains?, method?}
 *   GET  /_emulator/calls, /_emulator/calls/{id} state, roster, operations, media stats, speech script
 *   POST /_emulator/calls/{id}/tones {tone}     DTMF from the far end (after subscribeToTone)
 *   POST /_emulator/calls/{id}/hangUp           the far end hangs up
 *   POST /_emulator/incomingCalls {callbackUri, from?: {id?, displayName?, phone?}, policyBasedRecording?, tenantId?} -> {id}
 *   POST /_emulator/meetings {subject?, people?: 0-4 | [{name, voice, sentences}], endWhenEmpty?, passcodeRequired?, tenantId?}
 *   GET  /_emulator/meetings/{id}
 *   POST /_emulator/meetings/{id}/end           ends the meeting: every bot call in it terminates -> {ended: [callId]}
 *   POST /_emulator/subscriptions/{id}/lifecycle {lifecycleEvent}
 *   GET  /_emulator/recordings/{id}             recordResponse audio (Bearer recordingAccessToken)
 *
 * Media (app-hosted): the join/answer `mediaConfig.blob` is JSON `{"rtp":{"host","port"},"payloadType"?}`,
 * raw or base64 (see encodeMediaBlob). Each simulated person sends Opus RTP (48 kHz mono, 20 ms,
 * own SSRC, own UDP socket) to that address; the bot's audio is accepted on each person's socket
 * (reply to the packets' source address) and counted/decoded into the call's media stats.
 * Bridge-sidecar mode (`attachBridgeSidecar`): the emulator also plays the media sidecar on the bot's
 * /media/bridge; a call joined or answered with that sidecar's blob streams its people through it
 * as unmixed 16 kHz speakers with activeSpeakers, dominantSpeaker and a sourceMap.
 */
export { createEmulator, type Emulator, type EmulatorOptions, type EmulatorStats } from './server.js';
export { encodeMediaBlob, parseMediaBlob, type MediaEndpoint } from './media-session.js';
export { EmulatorBridgeSidecar, encodeBridgeBlob, parseBridgeBlob, type BridgeBlob, type EmulatorCallMedia } from './bridge-sidecar.js';
export { DEFAULT_ROLES } from './identity.js';
export { DEFAULT_SCRIPT, type SpeakerScript } from './speech.js';
export type { FaultRule } from './faults.js';
export type { CreateMeetingInput } from './meetings.js';
export type { EmulatorTiming } from './context.js';
export type { LifecycleEvent } from './subscriptions.js';
