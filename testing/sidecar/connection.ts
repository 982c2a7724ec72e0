/**
 * The sidecar's side of one /media/bridge connection (docs/bridge-protocol.md): hello (optionally
 * resuming a session), welcome, heartbeats both ways, createMediaSession answered with a blob,
 * outbound frames handed to the owner by callIndex. Every message mediabot sends is checked
 * against the protocol's schemas; what breaks the protocol is reported through `onError`.
 */
import { WebSocket, type RawData } from 'ws';
import { isMediabotError, MediabotError } from '../../src/errors.js';
import type { BotMessage, SidecarMessage, WelcomeMessage } from '../../src/ingress/bridge/messages.js';
import { BRIDGE_PROTOCOL, BRIDGE_VERSIONS, parseControlMessage } from '../../src/ingress/bridge/schemas.js';
import { decodeFrameHeader, FrameKind, HEADER_BYTES, pcmFromPayload } from '../../src/ingress/bridge/wire.js';

export interface SidecarConnectionOptions {
  /** mediabot's bridge endpoint, e.g. ws://127.0.0.1:3978/media/bridge */
  url: string;
  token: string;
  sidecarId: string;
  capabilities: { opus: boolean; maxUnmixed: number };
  /** Our own ping period (default 5000). */
  heartbeatMs?: number;
  /** The appHostedMediaConfig blob this sidecar answers a createMediaSession with. */
  blob(callId: string): string;
  onCreateMediaSession?(callId: string): void;
  onEndMediaSession?(callId: string): void;
  /** A kind 2 frame: the bot's audio for the call with this index. */
  onOutbound?(callIndex: number, timestampMs: number, pcm: Int16Array): void;
  /** An error message from mediabot, or a message that broke the protocol. */
  onError?(code: string, message: string): void;
  onPing?(): void;
  onClose?(code: number): void;
}

/** Frames are dropped, not queued, while this much is unsent (a sidecar never blocks its media thread). */
const SEND_HIGH_WATER = 1024 * 1024;

export class SidecarConnection {
  private readonly heartbeat: NodeJS.Timeout;

  private constructor(
    private readonly ws: WebSocket,
    readonly welcome: WelcomeMessage,
    private readonly o: SidecarConnectionOptions,
  ) {
    this.heartbeat = setInterval(() => this.send({ type: 'ping', ts: Date.now() }), o.heartbeatMs ?? 5000);
    this.heartbeat.unref();
    ws.on('close', () => clearInterval(this.heartbeat));
  }

  /** Connects and says hello; resolves at welcome, rejects when mediabot closes first (e.g. 4401). */
  static connect(o: SidecarConnectionOptions, resumeToken: string | null = null): Promise<SidecarConnection> {
    return new Promise<SidecarConnection>((resolve, reject) => {
      const ws = new WebSocket(o.url);
      let conn: SidecarConnection | null = null;
      const hello: SidecarMessage = { type: 'hello', protocol: BRIDGE_PROTOCOL, versions: [...BRIDGE_VERSIONS], token: o.token, sidecarId: o.sidecarId, capabilities: o.capabilities, ...(resumeToken ? { resume: { sessionToken: resumeToken } } : {}) };
      ws.on('open', () => ws.send(JSON.stringify(hello)));
      ws.on('message', (data: RawData, isBinary: boolean) => {
        const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
        try {
          if (conn) {
            conn.receive(buf, isBinary);
            return;
          }
          if (isBinary) throw new MediabotError('MEDIABOT_INGRESS_BAD_FRAME', 'mediabot sent a media frame before welcome');
          const msg = parseControlMessage(buf.toString('utf8'), 'fromBot');
          if (msg.type === 'welcome') {
            conn = new SidecarConnection(ws, msg, o);
            resolve(conn);
          } else if (msg.type === 'error') o.onError?.(msg.code, msg.message);
        } catch (err) {
          o.onError?.(isMediabotError(err) ? err.code : 'SIDECAR_ERROR', (err as Error).message);
        }
      });
      ws.on('close', (code) => {
        o.onClose?.(code);
        if (!conn) reject(new MediabotError('MEDIABOT_INGRESS_UNAUTHORIZED', `mediabot closed the bridge connection (${code}) before welcome`));
      });
      ws.on('error', (err) => {
        if (!conn) reject(err);
      });
    });
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(msg: SidecarMessage): void {
    if (this.open) this.ws.send(JSON.stringify(msg));
  }

  /** Sends one binary frame unless too much is queued; false when dropped. */
  sendFrame(frame: Buffer): boolean {
    if (!this.open || this.ws.bufferedAmount >= SEND_HIGH_WATER) return false;
    this.ws.send(frame);
    return true;
  }

  /** Drops the connection without a close handshake (a network failure). */
  terminate(): void {
    this.ws.terminate();
  }

  close(code = 1000, reason = 'done'): void {
    clearInterval(this.heartbeat);
    this.ws.close(code, reason);
  }

  private receive(buf: Buffer, isBinary: boolean): void {
    if (isBinary) {
      const h = decodeFrameHeader(buf);
      if (h.kind !== FrameKind.Outbound) throw new MediabotError('MEDIABOT_INGRESS_BAD_FRAME', `mediabot sent a frame of kind ${h.kind}`);
      this.o.onOutbound?.(h.callIndex, h.timestampMs, pcmFromPayload(buf, HEADER_BYTES, h.payloadLength));
      return;
    }
    this.onControl(parseControlMessage(buf.toString('utf8'), 'fromBot'));
  }

  private onControl(msg: BotMessage): void {
    switch (msg.type) {
      case 'ping':
        this.o.onPing?.();
        this.send(msg.ts === undefined ? { type: 'pong' } : { type: 'pong', ts: msg.ts });
        return;
      case 'createMediaSession':
        this.send({ type: 'mediaSessionCreated', requestId: msg.requestId, callId: msg.callId, blob: this.o.blob(msg.callId) });
        this.o.onCreateMediaSession?.(msg.callId);
        return;
      case 'endMediaSession':
        this.o.onEndMediaSession?.(msg.callId);
        return;
      case 'error':
        this.o.onError?.(msg.code, msg.message);
        return;
      case 'welcome':
      case 'pong':
      case 'sendDtmf':
        return;
    }
  }
}
