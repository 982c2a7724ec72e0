/**
 * The outbound URL filter for caller-given URLs: the address rule as a pure function (private,
 * loopback, link-local, metadata, CGNAT, multicast, unspecified, IPv4-mapped IPv6; every spelling
 * of an address), and end to end against real HTTP servers on 127.0.0.1, which it must refuse
 * unless allowlisted. No traffic leaves this machine: non-loopback addresses are only judged.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFetchAllowlist, refusedAddressReason } from '../../src/net/allowlist.js';
import { safeFetch, URL_REFUSED_MESSAGE } from '../../src/net/safe-fetch.js';

describe('the address rule (pure)', () => {
  it('refuses every non-public range, v4 and v6', () => {
    const refused = [
      '127.0.0.1', '127.255.255.254', '10.0.0.1', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '169.254.0.1',
      '100.64.0.1', '100.127.255.255', '0.0.0.0', '224.0.0.1', '239.255.255.250', '255.255.255.255', '192.0.2.1', '198.18.0.1', '240.0.0.1',
      '::1', '::', 'fe80::1', 'fc00::1', 'fd00:ec2::254', 'ff02::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '::ffff:169.254.169.254', '64:ff9b::7f00:1', '2001:db8::1',
    ];
    for (const a of refused) expect(refusedAddressReason(a), a).not.toBeNull();
  });
  it('lets public unicast through', () => {
    for (const a of ['93.184.215.14', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8', '172.32.0.1', '100.128.0.1']) expect(refusedAddressReason(a), a).toBeNull();
  });
  it('treats non-addresses as refused and honours CIDR allowlists by family', () => {
    expect(refusedAddressReason('localhost')).not.toBeNull();
    expect(refusedAddressReason('10.1.2.3', ['10.1.0.0/16'])).toBeNull();
    expect(refusedAddressReason('10.2.0.1', ['10.1.0.0/16'])).not.toBeNull();
    expect(refusedAddressReason('::ffff:10.1.2.3', ['10.1.0.0/16'])).toBeNull();
    expect(refusedAddressReason('fd00::5', ['10.1.0.0/16', 'fd00::/64'])).toBeNull();
    expect(parseFetchAllowlist('127.0.0.1, media.local ,10.0.0.0/8')).toEqual(['127.0.0.1', 'media.local', '10.0.0.0/8']);
    expect(() => parseFetchAllowlist('http://x/')).toThrow(/MEDIABOT_FETCH_ALLOWLIST/);
  });
});

let server: Server;
let port: number;
let hits = 0;
beforeAll(async () => {
  server = createServer((req, res) => {
    hits++;
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname === '/ok') return res.writeHead(200, { 'content-type': 'audio/wav' }).end('RIFFDATA');
    if (u.pathname === '/redirect') {
      const to = u.searchParams.get('to') ?? '/ok';
      return res.writeHead(302, { location: to === 'self' ? (req.url ?? '/') : to }).end();
    }
    if (u.pathname === '/big') {
      // No content-length: the cap must hold while streaming.
      res.writeHead(200, { 'content-type': 'audio/wav' });
      let sent = 0;
      const chunk = Buffer.alloc(64 * 1024, 7);
      const pump = (): void => {
        while (sent < 50 * 1024 * 1024) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => (sent = Number.MAX_SAFE_INTEGER));
      return pump();
    }
    if (u.pathname === '/declared-big') return res.writeHead(200, { 'content-length': String(50 * 1024 * 1024) }).end();
    if (u.pathname === '/slow') return void setTimeout(() => res.end('late'), 5000);
    return res.writeHead(404).end('nope');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string; reason: string }> {
  const e = (await p.then(() => null, (err: unknown) => err)) as { code: string; message: string; details: { reason: string } } | null;
  expect(e, 'expected a refusal').not.toBeNull();
  expect(e!.code).toBe('MEDIABOT_URL_REFUSED');
  expect(e!.message).toBe(URL_REFUSED_MESSAGE);
  return { code: e!.code, message: e!.message, reason: e!.details.reason };
}

describe('safeFetch end to end (127.0.0.1 only)', () => {
  it('refuses loopback in every spelling, without connecting', async () => {
    const before = hits;
    for (const host of ['127.0.0.1', '0x7f000001', '2130706433', '0177.0.0.1', '127.1', '[::ffff:127.0.0.1]', 'localhost']) {
      await refusal(safeFetch(`http://${host}:${port}/ok`));
    }
    await refusal(safeFetch(`file:///etc/passwd`));
    await refusal(safeFetch(`http://user:pw@127.0.0.1:${port}/ok`));
    expect(hits).toBe(before);
  });

  it('answers a closed port and a refused address with the same error', async () => {
    const closed = await refusal(safeFetch('http://127.0.0.1:1/ok', { allowlist: ['127.0.0.1'] }));
    const blocked = await refusal(safeFetch(`http://127.0.0.1:${port}/ok`));
    expect({ code: closed.code, message: closed.message }).toEqual({ code: blocked.code, message: blocked.message });
    const notFound = await refusal(safeFetch(`http://127.0.0.1:${port}/missing`, { allowlist: ['127.0.0.1'] }));
    expect(notFound.message).toBe(blocked.message);
  });

  it('fetches an allowlisted address, by IP or CIDR or host name', async () => {
    for (const allowlist of [['127.0.0.1'], ['127.0.0.0/8'], ['localhost']]) {
      const host = allowlist[0] === 'localhost' ? 'localhost' : '127.0.0.1';
      const r = await safeFetch(`http://${host}:${port}/ok`, { allowlist });
      expect(r.body.toString()).toBe('RIFFDATA');
    }
  });

  it('re-checks every redirect target', async () => {
    // Allowed by name, redirected to an address that is not allowed: refused.
    const before = hits;
    await refusal(safeFetch(`http://localhost:${port}/redirect?to=${encodeURIComponent(`http://127.0.0.1:${port}/ok`)}`, { allowlist: ['localhost'] }));
    expect(hits).toBe(before + 1);
    // Redirected to allowed targets: followed.
    const ok = await safeFetch(`http://127.0.0.1:${port}/redirect?to=/ok`, { allowlist: ['127.0.0.1'] });
    expect(ok.body.toString()).toBe('RIFFDATA');
    expect(ok.url).toBe(`http://127.0.0.1:${port}/ok`);
    // A loop ends at the redirect limit.
    await refusal(safeFetch(`http://127.0.0.1:${port}/redirect?to=self`, { allowlist: ['127.0.0.1'], maxRedirects: 3 }));
  });

  it('enforces the byte cap while streaming and on a declared length, and the deadline', async () => {
    const mem0 = process.memoryUsage().rss;
    const big = await refusal(safeFetch(`http://127.0.0.1:${port}/big`, { allowlist: ['127.0.0.1'], maxBytes: 1024 * 1024 }));
    expect(big.reason).toMatch(/over/);
    expect(process.memoryUsage().rss - mem0).toBeLessThan(40 * 1024 * 1024);
    await refusal(safeFetch(`http://127.0.0.1:${port}/declared-big`, { allowlist: ['127.0.0.1'], maxBytes: 1024 * 1024 }));
    const t0 = Date.now();
    const slow = await refusal(safeFetch(`http://127.0.0.1:${port}/slow`, { allowlist: ['127.0.0.1'], timeoutMs: 500 }));
    expect(slow.reason).toBe('timeout');
    expect(Date.now() - t0).toBeLessThan(3000);
  });
});
