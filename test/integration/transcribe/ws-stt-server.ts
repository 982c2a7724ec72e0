import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { EnergySegmenter } from './audio.js';

export interface SttSession {
  start: Record<string, unknown> | null;
  frames: number;
  badFrames: number;
  ended: boolean;
}

export interface LoopbackSttServer {
  url: string;
  sessions: SttSession[];
  /** Drop the next connection after this many audio frames (to exercise reconnects). */
  dropAfterFrames: number | null;
  close(): Promise<void>;
}

/**
 * A loopback STT server speaking mediabot's WebSocket protocol
 * (docs/transcription.md). It "recognises" utterances by energy with real
 * timing: `speech N` for the Nth utterance of the connection, a partial every
 * 500 ms while it lasts, a final once 400 ms of quiet follow it.
 */
export async function startLoopbackSttServer(): Promise<LoopbackSttServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  const server: LoopbackSttServer = {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/stt`,
    sessions: [],
    dropAfterFrames: null,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
  wss.on('connection', (ws: WebSocket) => {
    const session: SttSession = { start: null, frames: 0, badFrames: 0, ended: false };
    server.sessions.push(session);
    const dropAfter = server.dropAfterFrames;
    server.dropAfterFrames = null;
    const send = (m: unknown): void => ws.send(JSON.stringify(m));
    const seg = new EnergySegmenter((u) => send({ type: u.final ? 'final' : 'partial', text: `speech ${u.index + 1}`, startMs: u.startMs, endMs: u.endMs, confidence: 0.9 }));
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) {
        const m = JSON.parse(String(data)) as Record<string, unknown>;
        if (m.type === 'start') {
          if (m.sampleRate !== 16000 || m.encoding !== 'pcm_s16le' || typeof m.sourceId !== 'string') {
            send({ type: 'error', message: 'unsupported start' });
            ws.close();
          }
          session.start = m;
        } else if (m.type === 'end') {
          session.ended = true;
          seg.flush();
          send({ type: 'done' });
          ws.close();
        }
        return;
      }
      if (session.start === null || data.length !== 640) {
        session.badFrames++;
        return;
      }
      session.frames++;
      seg.frame(new Int16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length)));
      if (dropAfter !== null && session.frames === dropAfter) ws.terminate();
    });
  });
  return server;
}
