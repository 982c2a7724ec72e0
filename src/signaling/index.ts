export * from './ports.js';
export * from './notifications.js';
export { parseLenientJson } from './lenient-json.js';
export { explainEndCode, explainTerminationReason, type EndCodeExplanation } from './end-codes.js';
export { transition, isCallState, type CallState, type TransitionResult } from './state-machine.js';
export { CallRegistry, callKey, type CallRegistryOptions, type CallView, type ParticipantView, type TerminationView, type CallItemHandler, type StateListener } from './registry.js';
export {
  OperationTracker,
  AwaitableCallOperations,
  KeepAliveScheduler,
  KEEPALIVE_MAX_INTERVAL_MS,
  normaliseOperationId,
  operationIdOf,
  type OperationResult,
  type OperationOptions,
} from './operations.js';
export { IncomingCallHandler, isComplianceRecordingCall, answerAllPolicy, type IncomingCall, type IncomingCallPolicy, type IncomingDecision, type IncomingCallHandlerOptions } from './incoming.js';
export { CallbackTokenValidator, CallbackAuthError, CALLBACK_ISSUERS, type CallbackAuthFailure, type CallbackClaims, type CallbackTokenValidatorOptions } from './jwt.js';
export { createFetchJson, type FetchJson } from './http-json.js';
export { secretsEqual } from './secrets.js';
export {
  SubscriptionManager,
  ChangeNotificationProcessor,
  newClientState,
  CALL_RECORDS_MAX_LIFETIME_MS,
  type SubscriptionManagerOptions,
  type ChangeNotificationProcessorOptions,
} from './subscriptions.js';
export { createSignaling, type Signaling, type SignalingOptions } from './signaling.js';
