import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export type FetchJson = (url: string) => Promise<unknown>;

/**
 * GET a JSON document over http(s). `caPem` adds a trusted CA (the embedded
 * emulator serves HTTPS with its own CA). Rejects on non-2xx, bad JSON,
 * bodies over `maxBytes`, or after `timeoutMs`.
 */
export function createFetchJson(opts: { caPem?: string; timeoutMs?: number; maxBytes?: number } = {}): FetchJson {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const maxBytes = opts.maxBytes ?? 1024 * 1024;
  return (url: string) =>
    new Promise<unknown>((resolve, reject) => {
      const u = new URL(url);
      const isHttps = u.protocol === 'https:';
      if (!isHttps && u.protocol !== 'http:') {
        reject(new Error(`unsupported protocol ${u.protocol}`));
        return;
      }
      const options = { method: 'GET', headers: { accept: 'application/json' }, timeout: timeoutMs, ...(isHttps && opts.caPem ? { ca: opts.caPem } : {}) };
      const req = (isHttps ? httpsRequest : httpRequest)(u, options, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > maxBytes) {
            req.destroy(new Error(`response from ${u.origin}${u.pathname} is larger than ${maxBytes} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status < 200 || status >= 300) {
            reject(new Error(`GET ${u.origin}${u.pathname} answered ${status}`));
            return;
          }
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          } catch {
            reject(new Error(`GET ${u.origin}${u.pathname} returned invalid JSON`));
          }
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`GET ${u.origin}${u.pathname} timed out after ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end();
    });
}
