/**
 * Outbound Microsoft Graph client (cloud communications). Never imports media/ or signaling/.
 *
 *   const { graph, http, tokens } = createGraphFromConfig(loadConfig(), { caPem, logger });
 *   const call = await graph.calls.joinMeeting({ callbackUri, joinWebUrl, mediaConfig: serviceHostedMediaConfig() });
 *   const op = await graph.calls.playPrompt(call.id!, { clientContext, prompts: [mediaPrompt(uri)] });
 *   // op: { status, operation, location, operationId, requestId, clientRequestId }
 *
 * Failures reject with GraphError (MEDIABOT_GRAPH_*; status, graphCode, requestId, clientRequestId,
 * retryable); bad arguments reject with MEDIABOT_GRAPH_INVALID_ARGUMENT before anything is sent.
 */
export * from './errors.js';
export * from './http.js';
export * from './auth.js';
export * from './identities.js';
export * from './media-config.js';
export * from './join-url.js';
export * from './result.js';
export * from './calls.js';
export * from './participants.js';
export * from './meetings.js';
export * from './meeting-artifacts.js';
export * from './artifact-fetcher.js';
export * from './presence.js';
export * from './call-records.js';
export * from './subscriptions.js';
export * from './client.js';
export * from './from-config.js';
export * from './ports-adapter.js';
export * from './hints.js';
export * from './tenant-routing.js';
