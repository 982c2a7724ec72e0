import WebSocket from 'ws';
import type { Logger } from '../../../logger.js';
import { silentLogger } from '../../../logger.js';
import { FRAME_MS, SAMPLES_16K } from '../../core/frame.js';
import { BaseTranscriberStream, type Transcriber, type TranscriberStream, type TranscriberStreamInfo } from './types.js';

export interface WsTranscriberOptions {
  /** ws:// or wss:// URL of the STT server. */
  url: string;
  /** Extra headers for the upgrade request (e.g. authorization). */
  headers?: Record<string, string>;
  /** Reconnect attempts after the connection drops (or fails to open), per stream. Default 5. */
  maxReconnects?: number;
  /** First backoff delay; doubles per attempt up to maxBackoffMs. Default 200 ms. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Audio kept while (re)connecting; the oldest is dropped beyond it. Default 10 000 ms. */
  maxBufferMs?: number;
  /** How long end() waits for the server's last results. Default 10 000 ms. */
  endTimeoutMs?: number;
  logger?: Logger;
}

/** Messages of the protocol (docs/transcription.md). */
export interface WsStartMessage {
  type: 'start';
  callId: string;
  sourceId: string;
  sampleRate: 16000;
  encoding: 'pcm_s16le';
  /** Ms of this stream's audio sent in earlier connections (0 on the first); informational. */
  streamOffsetMs: number;
}
export type WsServerMessage =
  | { type: 'partial' | 'final'; text: string; startMs: number; endMs: number; confidence?: number }
  | { type: 'done' }
  | { type: 'error'; message: string };

const FRAME_BYTES = SAMPLES_16K * 2;

/**
 * A generic streaming STT client: one WebSocket per participant stream,
 * binary 20 ms PCM frames out, JSON results in (protocol in docs/transcription.md).
 * Result times are ms of audio the server received on that connection; after a
 * reconnect they are offset by where the new connection's audio starts.
 */
export class WsTranscriber implements Transcriber {
  readonly name = 'ws';
  constructor(private readonly opts: WsTranscriberOptions) {
    if (!/^wss?:\/\//.test(opts.url)) throw new TypeError(`WS transcriber URL must be ws:// or wss://, got ${opts.url}`);
  }

  open(stream: TranscriberStreamInfo): TranscriberStream {
    return new WsStream(stream, this.opts);
  }
}

class WsStream extends BaseTranscriberStream {
  private ws: WebSocket | null = null;
  private open = false;
  private attempts = 0;
  /** Frames not yet sent (while connecting), with their stream time. */
  private readonly pending: Array<{ streamMs: number; bytes: Buffer }> = [];
  /** Stream ms of the current connection's first audio frame. */
  private sessionBaseMs = 0;
  private sessionSentAny = false;
  private streamMs = 0;
  private endRequested = false;
  private doneResolve: (() => void) | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private readonly logger: Logger;

  constructor(
    info: TranscriberStreamInfo,
    private readonly opts: WsTranscriberOptions,
  ) {
    super(info);
    this.logger = opts.logger ?? silentLogger;
    this.connect();
  }

  protected override backlogFull(): boolean {
    // The socket's own send buffer, when the server reads slower than we send.
    return (this.ws?.bufferedAmount ?? 0) > (this.opts.maxBufferMs ?? 10_000) * 32;
  }

  protected sendAudio(pcm16: Int16Array): void {
    for (let off = 0; off < pcm16.length; off += SAMPLES_16K) {
      const frame = pcm16.subarray(off, off + SAMPLES_16K);
      // A copy: ws may hold the buffer until the socket drains.
      const bytes = Buffer.from(frame.buffer.slice(frame.byteOffset, frame.byteOffset + FRAME_BYTES));
      this.sendFrame(this.streamMs, bytes);
      this.streamMs += FRAME_MS;
    }
  }

  protected async finish(): Promise<void> {
    this.endRequested = true;
    if (this.failure !== null) {
      this.teardown();
      throw this.failure;
    }
    const done = new Promise<void>((resolve) => {
      this.doneResolve = resolve;
    });
    if (this.open) this.sendEnd();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      done.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), this.opts.endTimeoutMs ?? 10_000);
      }),
    ]);
    clearTimeout(timer);
    this.teardown();
    if (this.failure !== null) throw this.failure;
    if (timedOut) this.fail('server did not finish after end');
    if (this.failure !== null) throw this.failure;
  }

  private sendFrame(streamMs: number, bytes: Buffer): void {
    if (this.open && this.ws !== null && this.pending.length === 0) {
      this.markSession(streamMs);
      this.ws.send(bytes, { binary: true });
      return;
    }
    this.pending.push({ streamMs, bytes });
    const maxFrames = Math.max(1, Math.floor((this.opts.maxBufferMs ?? 10_000) / FRAME_MS));
    if (this.pending.length > maxFrames) this.pending.splice(0, this.pending.length - maxFrames);
  }

  private markSession(streamMs: number): void {
    if (!this.sessionSentAny) {
      this.sessionSentAny = true;
      this.sessionBaseMs = streamMs;
    }
  }

  private sendEnd(): void {
    for (const p of this.pending.splice(0)) {
      this.markSession(p.streamMs);
      this.ws?.send(p.bytes, { binary: true });
    }
    this.ws?.send(JSON.stringify({ type: 'end' }));
  }

  private connect(): void {
    const ws = new WebSocket(this.opts.url, this.opts.headers === undefined ? {} : { headers: this.opts.headers });
    this.ws = ws;
    this.sessionSentAny = false;
    ws.on('open', () => {
      this.open = true;
      this.attempts = 0;
      const start: WsStartMessage = { type: 'start', callId: this.info.callId, sourceId: this.info.sourceId, sampleRate: 16000, encoding: 'pcm_s16le', streamOffsetMs: this.pending[0]?.streamMs ?? this.streamMs };
      ws.send(JSON.stringify(start));
      if (this.endRequested) {
        this.sendEnd();
        return;
      }
      for (const p of this.pending.splice(0)) {
        this.markSession(p.streamMs);
        ws.send(p.bytes, { binary: true });
      }
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      this.onMessage(String(data));
    });
    ws.on('error', (err) => {
      this.logger.debug({ err, sourceId: this.info.sourceId }, 'STT socket error');
    });
    ws.on('close', () => {
      const wasOpen = this.open;
      this.open = false;
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.failure !== null) {
        this.doneResolve?.();
        return;
      }
      if (this.endRequested && wasOpen) {
        // The server closed after our end: that is the end of its results.
        this.doneResolve?.();
        return;
      }
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    const max = this.opts.maxReconnects ?? 5;
    if (this.attempts >= max) {
      this.fail(`STT server ${this.opts.url} unreachable after ${max} reconnect attempts`);
      this.doneResolve?.();
      return;
    }
    const delay = Math.min(this.opts.maxBackoffMs ?? 5_000, (this.opts.backoffMs ?? 200) * 2 ** this.attempts);
    this.attempts++;
    this.logger.warn({ sourceId: this.info.sourceId, attempt: this.attempts, delay }, 'STT connection lost; reconnecting');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delay);
  }

  private onMessage(text: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      this.logger.warn({ sourceId: this.info.sourceId }, 'STT server sent a non-JSON text message; ignored');
      return;
    }
    const m = msg as Partial<WsServerMessage> & Record<string, unknown>;
    if (m.type === 'done') {
      this.doneResolve?.();
      return;
    }
    if (m.type === 'error') {
      this.fail(`STT server error: ${String(m.message)}`);
      this.doneResolve?.();
      return;
    }
    if ((m.type === 'partial' || m.type === 'final') && typeof m.text === 'string' && isTime(m.startMs) && isTime(m.endMs)) {
      const base = this.sessionBaseMs;
      const r = { text: m.text, final: m.type === 'final', startMs: base + m.startMs, endMs: base + Math.max(m.startMs, m.endMs) };
      this.emitStreamResult(typeof m.confidence === 'number' ? { ...r, confidence: m.confidence } : r);
      return;
    }
    this.logger.warn({ sourceId: this.info.sourceId, type: m.type }, 'STT server sent an unknown or malformed message; ignored');
  }

  private teardown(): void {
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const ws = this.ws;
    this.ws = null;
    this.open = false;
    if (ws !== null && ws.readyState !== WebSocket.CLOSED) ws.close();
  }
}

function isTime(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x) && x >= 0;
}
