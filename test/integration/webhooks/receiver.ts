/**
 * A webhook receiver for tests: a real HTTP server on 127.0.0.1 that verifies every request with
 * the `standardwebhooks` library, answers 503 while `refuse` says so, and keeps what it saw.
 */
import { createServer, type Server } from 'node:http';
import { Webhook } from 'standardwebhooks';

export interface Received {
  path: string;
  id: string;
  timestamp: string;
  body: string;
  payload: { type: string; timestamp: string; data: Record<string, unknown> };
  verified: boolean;
  /** What the receiver answered. */
  answered: number;
}

export interface Receiver {
  url: string;
  /** Every request, in arrival order. */
  requests: Received[];
  /** Requests whose signature did not verify. */
  bad: Array<{ path: string; error: string }>;
  /** Accepted (2xx) messages, first arrival per webhook-id. */
  accepted(): Received[];
  /** Decides per request whether to answer 503 (default: never). */
  refuse: (r: Received, index: number) => boolean;
  close(): Promise<void>;
}

export async function startReceiver(secret: string): Promise<Receiver> {
  const wh = new Webhook(secret);
  const requests: Received[] = [];
  const bad: Receiver['bad'] = [];
  let server: Server;
  const r: Receiver = {
    url: '',
    requests,
    bad,
    accepted: () => {
      const seen = new Set<string>();
      const out: Received[] = [];
      for (const q of requests) {
        if (q.answered !== 200 || !q.verified || seen.has(q.id)) continue;
        seen.add(q.id);
        out.push(q);
      }
      return out;
    },
    refuse: () => false,
    close: () => new Promise((res) => server.close(() => res())),
  };
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = { 'webhook-id': String(req.headers['webhook-id'] ?? ''), 'webhook-timestamp': String(req.headers['webhook-timestamp'] ?? ''), 'webhook-signature': String(req.headers['webhook-signature'] ?? '') };
      let verified = false;
      try {
        wh.verify(body, headers);
        verified = true;
      } catch (err) {
        bad.push({ path: req.url ?? '', error: (err as Error).message });
      }
      const q: Received = { path: req.url ?? '', id: headers['webhook-id'], timestamp: headers['webhook-timestamp'], body, payload: JSON.parse(body) as Received['payload'], verified, answered: 0 };
      const index = requests.length;
      requests.push(q);
      q.answered = !verified ? 401 : r.refuse(q, index) ? 503 : 200;
      res.writeHead(q.answered).end();
    });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const a = server.address();
  r.url = `http://127.0.0.1:${typeof a === 'object' && a !== null ? a.port : 0}`;
  return r;
}

/** A fresh Standard Webhooks secret. */
export function newSecret(): string {
  const bytes = new Uint8Array(32);
  crypto.getRandomValues(bytes);
  return `whsec_${Buffer.from(bytes).toString('base64')}`;
}
