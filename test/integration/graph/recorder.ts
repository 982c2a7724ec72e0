/** A real HTTP server on 127.0.0.1 (ephemeral port) that records requests and answers as told. */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';

export interface Recorded {
  method: string;
  /** Decoded path without query. */
  path: string;
  rawUrl: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  raw: string;
  body: unknown;
  /** performance.now() at arrival. */
  at: number;
}

export interface Reply {
  status: number;
  body?: unknown;
  raw?: Buffer | string;
  headers?: Record<string, string>;
  /** Destroy the socket without answering (network failure). */
  drop?: boolean;
}

export interface RecorderServer {
  url: string;
  port: number;
  requests: Recorded[];
  handler: (req: Recorded) => Reply | Promise<Reply>;
  close(): Promise<void>;
}

export async function startRecorder(handler: (req: Recorded) => Reply | Promise<Reply> = () => ({ status: 200, body: {} })): Promise<RecorderServer> {
  const requests: Recorded[] = [];
  const state: { handler: RecorderServer['handler'] } = { handler };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = raw.length ? JSON.parse(raw) : undefined;
      } catch {
        body = raw;
      }
      const u = new URL(req.url ?? '/', 'http://127.0.0.1');
      const rec: Recorded = { method: req.method ?? '', path: decodeURIComponent(u.pathname), rawUrl: req.url ?? '', query: u.searchParams, headers: req.headers, raw, body, at };
      requests.push(rec);
      Promise.resolve(state.handler(rec)).then(
        (reply) => {
          if (reply.drop) {
            req.socket.destroy();
            return;
          }
          const payload = reply.raw !== undefined ? reply.raw : reply.body !== undefined ? JSON.stringify(reply.body) : '';
          const headers: Record<string, string> = { 'request-id': randomUUID(), ...reply.headers };
          if (reply.body !== undefined && reply.raw === undefined) headers['content-type'] = 'application/json';
          res.writeHead(reply.status, headers);
          res.end(payload);
        },
        () => {
          res.writeHead(500);
          res.end();
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    get handler() {
      return state.handler;
    },
    set handler(h) {
      state.handler = h;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
