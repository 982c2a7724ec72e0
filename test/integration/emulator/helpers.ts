import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { resolve } from 'node:path';
import { createEmulator, type Emulator, type EmulatorOptions } from '../../../testing/emulator/index.js';

import { HAVE_VECTORS, VECTORS_DIR, VECTORS_SKIP_REASON } from '../../helpers/graph-vectors.js';

export { HAVE_VECTORS, VECTORS_DIR } from '../../helpers/graph-vectors.js';
if (!HAVE_VECTORS) console.warn(VECTORS_SKIP_REASON);

export const TENANT = 'aa67bd4c-8475-432d-bd41-39f255720e0a';
export const CLIENT_ID = '2891555a-92ff-42e6-80fa-6e1300c6b5c6';
export const CLIENT_SECRET = 'emulator-test-secret';

/** JSON.parse after removing what the docs' examples sometimes contain: // comments and trailing commas. */
export function parseLenientJson(text: string): unknown {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') {
        out += text[i + 1] ?? '';
        i++;
      } else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else out += c;
  }
  return JSON.parse(out.replace(/,(\s*[}\]])/g, '$1'));
}

export function vector(name: string): any {
  return parseLenientJson(readFileSync(resolve(VECTORS_DIR, name), 'utf8'));
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/**
 * Recursively compares the shape of `actual` with the docs' `expected`: every key of the vector is
 * present, values have the same JSON type (a null in the vector accepts anything) and @odata.type
 * values are equal (case-insensitive: one doc example spells it "#Microsoft.Graph.callrecord").
 * Extra keys in `actual` are allowed. Array elements are matched by @odata.type, else the first
 * element. `ignore` holds normalized paths ($.a[].b) deliberately not compared; each needs a reason.
 */
export function compareShape(expected: unknown, actual: unknown, ignore: Record<string, string> = {}, path = '$'): string[] {
  if (path in ignore) return [];
  if (expected === null) return [];
  const et = typeName(expected);
  const at = typeName(actual);
  if (et !== at) return [`${path}: vector has ${et}, emulator has ${at}`];
  if (Array.isArray(expected)) {
    const act = actual as unknown[];
    if (expected.length === 0) return [];
    if (act.length === 0) return [`${path}: vector has elements, emulator has an empty array`];
    const diffs: string[] = [];
    for (const e of expected) {
      // The closest element of ours stands for this example element (rosters mix users and apps).
      let best: string[] | undefined;
      for (const a of act) {
        const d = compareShape(e, a, ignore, `${path}[]`);
        if (best === undefined || d.length < best.length) best = d;
        if (d.length === 0) break;
      }
      diffs.push(...(best ?? []));
    }
    return [...new Set(diffs)];
  }
  if (et === 'object') {
    const e = expected as Record<string, unknown>;
    const a = actual as Record<string, unknown>;
    const diffs: string[] = [];
    for (const k of Object.keys(e)) {
      const p = `${path}.${k}`;
      if (p in ignore) continue;
      if (!(k in a)) {
        diffs.push(`${p}: missing`);
        continue;
      }
      if (k === '@odata.type' && typeof e[k] === 'string') {
        if (String(a[k]).toLowerCase() !== String(e[k]).toLowerCase()) diffs.push(`${p}: vector ${String(e[k])}, emulator ${String(a[k])}`);
        continue;
      }
      diffs.push(...compareShape(e[k], a[k], ignore, p));
    }
    return diffs;
  }
  return [];
}

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  body: any;
}

/** An HTTPS request to the emulator trusting its CA. */
export function request(emu: Emulator, method: string, path: string, opts: { body?: unknown; token?: string; headers?: Record<string, string>; form?: Record<string, string> } = {}): Promise<HttpResult> {
  return new Promise((resolveP, reject) => {
    let data: string | undefined;
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.form) {
      data = new URLSearchParams(opts.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else if (opts.body !== undefined) {
      data = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    if (opts.token) headers['authorization'] = `Bearer ${opts.token}`;
    // The control API needs the emulator's control token (recordings take their own).
    else if (path.startsWith('/_emulator/') && !path.startsWith('/_emulator/recordings/') && headers['authorization'] === undefined) headers['authorization'] = `Bearer ${emu.controlToken}`;
    const req = https.request(`${emu.baseUrl}${path}`, { method, ca: emu.caPem, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = text === '' ? undefined : JSON.parse(text);
        } catch {
          // not JSON
        }
        resolveP({ status: res.statusCode ?? 0, headers: res.headers, text, body });
      });
    });
    req.on('error', reject);
    if (data !== undefined) req.write(data);
    req.end();
  });
}

export async function getToken(emu: Emulator): Promise<string> {
  const res = await request(emu, 'POST', `/${emu.tenantId}/oauth2/v2.0/token`, {
    form: { grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET, scope: 'https://graph.microsoft.com/.default' },
  });
  if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${res.text}`);
  return res.body.access_token as string;
}

export interface Captured {
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: any;
}

/** A real local HTTP server standing in for the bot: records every POST, answers 202 (or echoes validation tokens). */
export class CallbackServer {
  readonly received: Captured[] = [];
  /** Status to answer with (e.g. 503 to exercise retries); default 202. */
  status = 202;
  /** Answer subscription validation by echoing validationToken (a well-behaved endpoint). */
  echoValidation = true;
  private server: http.Server | undefined;
  private waiters: { pred: (c: Captured) => boolean; resolve: (c: Captured) => void }[] = [];
  url = '';

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const u = new URL(req.url ?? '/', 'http://x');
        const token = u.searchParams.get('validationToken');
        if (token !== null && this.echoValidation) {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end(token);
          return;
        }
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
        const c: Captured = { path: u.pathname, query: u.searchParams, headers: req.headers, body };
        this.received.push(c);
        res.writeHead(this.status);
        res.end();
        this.waiters = this.waiters.filter((w) => {
          if (w.pred(c)) {
            w.resolve(c);
            return false;
          }
          return true;
        });
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    const addr = this.server.address();
    this.url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  }

  /** Resolves with the first captured (past or future) notification matching pred. */
  waitFor(pred: (c: Captured) => boolean, timeoutMs = 10_000, label = 'notification'): Promise<Captured> {
    const found = this.received.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolveP, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${label}`)), timeoutMs);
      this.waiters.push({
        pred,
        resolve: (c) => {
          clearTimeout(t);
          resolveP(c);
        },
      });
    });
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** The first commsNotification item of a captured body. */
export function item(c: Captured): any {
  return c.body?.value?.[0];
}

export function isCallState(callId: string, state: string): (c: Captured) => boolean {
  return (c) => item(c)?.resourceUrl === `/communications/calls/${callId}` && item(c)?.resourceData?.state === state;
}

export function isRoster(callId: string, pred: (list: any[]) => boolean = () => true): (c: Captured) => boolean {
  return (c) => item(c)?.resourceUrl === `/communications/calls/${callId}/participants` && Array.isArray(item(c)?.resourceData) && pred(item(c).resourceData);
}

export function isOperation(callId: string, opId: string): (c: Captured) => boolean {
  return (c) => item(c)?.resourceUrl === `/communications/calls/${callId}/operations/${opId}`;
}

export const FAST_TIMING: NonNullable<EmulatorOptions['timing']> = {
  establishMs: 30,
  answerMs: 60,
  defaultPromptMs: 150,
  toneMs: 20,
  callRecordDelayMs: 50,
  emptyGraceMs: 200,
  joinStaggerMs: 100,
};

export async function startEmulator(extra: Partial<EmulatorOptions> = {}): Promise<Emulator> {
  return createEmulator({ tenantId: TENANT, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, timing: FAST_TIMING, notificationRetryDelaysMs: [50, 100], ...extra });
}
