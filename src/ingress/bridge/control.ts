/**
 * The bridge's control messages from a sidecar (docs/bridge-protocol.md §2-3): hello first (token,
 * version, new or resumed session, welcome), then the typed messages of its session's calls.
 */
import { MediabotError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Emitter } from '../../util/emitter.js';
import { INGRESS_CLOSE } from '../common/close-codes.js';
import type { IngressMetrics } from '../common/metrics.js';
import type { TokenSet } from '../common/tokens.js';
import { msiSource, type BridgeCall, type BridgeControlEvent } from './call.js';
import type { BridgeConnection } from './connection.js';
import type { HelloMessage, SidecarMessage } from './messages.js';
import type { PendingCreates } from './provider.js';
import { BRIDGE_VERSIONS, parseControlMessage } from './schemas.js';
import type { BridgeSession, BridgeSessions } from './session.js';

/** What the control handler acts on: the adapter's state and its call lifecycle. */
export interface BridgeControlHost {
  readonly metrics: IngressMetrics;
  readonly log: Logger;
  readonly tokens: TokenSet;
  readonly sessions: BridgeSessions;
  readonly creates: PendingCreates;
  readonly events: Emitter<BridgeControlEvent>;
  readonly heartbeatMs: number;
  readonly resumeWindowMs: number;
  /** After sessionEnded, how long the queued audio may play out before the call's media ends. */
  readonly drainMs: number;
  startCall(s: BridgeSession, callId: string, callIndex: number): void;
  endCall(call: BridgeCall, reason: string, drainMs?: number): Promise<void>;
}

const bad = (message: string): MediabotError => new MediabotError('MEDIABOT_INGRESS_BAD_MESSAGE', message);

/** One text message from a sidecar. Throws the typed error of a bad one. */
export function onControlText(host: BridgeControlHost, conn: BridgeConnection, text: string): void {
  host.metrics.inc('bridge', 'controlMessages');
  const msg = parseControlMessage(text, 'fromSidecar');
  const s = conn.session;
  if (!s) {
    if (msg.type !== 'hello') conn.closeWith(INGRESS_CLOSE.protocolError, bad(`the first message must be hello, got ${msg.type}`));
    else onHello(host, conn, msg);
    return;
  }
  onSessionMessage(host, conn, s, msg);
}

function onHello(host: BridgeControlHost, conn: BridgeConnection, hello: HelloMessage): void {
  if (!host.tokens.matches(hello.token)) {
    conn.closeWith(INGRESS_CLOSE.unauthorized, new MediabotError('MEDIABOT_INGRESS_UNAUTHORIZED', 'the hello token is not valid'));
    return;
  }
  const version = Math.max(...hello.versions.filter((v) => (BRIDGE_VERSIONS as readonly number[]).includes(v)));
  if (!Number.isFinite(version)) {
    conn.closeWith(INGRESS_CLOSE.unsupportedVersion, new MediabotError('MEDIABOT_INGRESS_BAD_VERSION', `no common protocol version: sidecar offers ${JSON.stringify(hello.versions)}, mediabot speaks ${JSON.stringify(BRIDGE_VERSIONS)}`));
    return;
  }
  const { session, resumed } = host.sessions.open(conn, hello.sidecarId, hello.resume?.sessionToken);
  conn.sendControl({
    type: 'welcome',
    version,
    sessionResume: { sessionToken: session.token, windowMs: host.resumeWindowMs },
    resumed,
    calls: [...session.calls.values()].map((c) => ({ callId: c.callId, callIndex: c.callIndex })),
    heartbeatMs: host.heartbeatMs,
  });
  host.log.info({ sidecarId: session.sidecarId, resumed, calls: session.calls.size }, 'bridge sidecar connected');
  host.events.emit({ type: 'sidecar', sidecarId: session.sidecarId, state: resumed ? 'resumed' : 'connected' });
}

function callOf(s: BridgeSession, callId: string): BridgeCall {
  const c = s.calls.get(callId);
  if (!c) throw new MediabotError('MEDIABOT_INGRESS_UNKNOWN_CALL', `no started call ${callId} on this session (send sessionStarted first)`);
  return c;
}

function onSessionMessage(host: BridgeControlHost, conn: BridgeConnection, s: BridgeSession, msg: SidecarMessage): void {
  const { events } = host;
  switch (msg.type) {
    case 'hello':
      throw bad('hello was already accepted on this connection');
    case 'ping':
      conn.sendControl(msg.ts === undefined ? { type: 'pong' } : { type: 'pong', ts: msg.ts });
      return;
    case 'pong':
      return;
    case 'mediaSessionCreated':
      host.creates.created(msg);
      return;
    case 'error':
      host.metrics.inc('bridge', 'peerErrors');
      if (!host.creates.refused(msg)) host.log.warn({ sidecarId: s.sidecarId, code: msg.code, message: msg.message }, 'bridge sidecar reported an error');
      return;
    case 'sessionStarted':
      host.startCall(s, msg.callId, msg.callIndex);
      return;
    case 'sessionEnded':
      // Let the audio already queued in the media thread play out (into the recording) first.
      void host.endCall(callOf(s, msg.callId), msg.reason, host.drainMs);
      return;
    case 'activeSpeakers': {
      const call = callOf(s, msg.callId);
      call.activeSpeakers = msg.sourceIds.map(msiSource);
      events.emit({ type: 'activeSpeakers', callId: call.callId, sourceIds: call.activeSpeakers });
      return;
    }
    case 'dominantSpeaker': {
      const call = callOf(s, msg.callId);
      call.dominant = msg.sourceId === null ? null : msiSource(msg.sourceId);
      events.emit({ type: 'dominantSpeaker', callId: call.callId, sourceId: call.dominant });
      return;
    }
    case 'sourceMap': {
      const call = callOf(s, msg.callId);
      call.mapSources(msg.entries, msg.replace === true);
      events.emit({ type: 'sourceMap', callId: call.callId, entries: [...call.sourceMap.values()] });
      return;
    }
    case 'dtmf': {
      const call = callOf(s, msg.callId);
      host.metrics.inc('bridge', 'dtmf');
      events.emit({ type: 'dtmf', callId: call.callId, tone: msg.tone, direction: msg.direction });
      return;
    }
    case 'mediaHealth': {
      const call = callOf(s, msg.callId);
      const { type: _type, callId: _callId, ...health } = msg;
      call.health = health;
      events.emit({ type: 'mediaHealth', callId: call.callId, health });
      return;
    }
  }
}
