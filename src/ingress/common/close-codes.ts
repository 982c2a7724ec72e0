/**
 * The WebSocket close codes of both ingress endpoints (`/media/acs`, `/media/bridge`), one table.
 * 1xxx are RFC 6455's; 44xx mirror the HTTP status of the same meaning (docs/bridge-protocol.md §7).
 */
export const INGRESS_CLOSE = {
  /** mediabot is shutting down, or ended the call (reconnect, then resume). */
  shuttingDown: 1001,
  /** The call's media could not be started. */
  mediaUnavailable: 1011,
  /** Over capacity: try again later. */
  tryAgainLater: 1013,
  /** The first message was not a valid hello, or media came before it. */
  protocolError: 4400,
  /** Bad token. */
  unauthorized: 4401,
  /** No common protocol version. */
  unsupportedVersion: 4406,
  /** Nothing arrived for `missedHeartbeats` periods. */
  heartbeatTimeout: 4408,
  /** The session (bridge) or call (ACS) was taken over by another connection. */
  replaced: 4409,
  /** A call id from the peer does not match the id pattern (ingress/common/ids.ts). */
  invalidId: 4422,
} as const;

export type IngressCloseCode = (typeof INGRESS_CLOSE)[keyof typeof INGRESS_CLOSE];

/** A close reason fits in a control frame (123 bytes). */
export const closeReason = (text: string): string => text.slice(0, 120);
