/**
 * A worker reachable from outside (public URL, Graph credentials, or a host that is not a literal
 * loopback address) refuses to start without an API token of at least 32 characters; the CLI
 * exits 2 naming MEDIABOT_API_TOKEN.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { isLoopbackHost } from '../../src/config/exposure.js';

const LONG = 'x'.repeat(32);
const refusedToken = expect.objectContaining({ code: 'MEDIABOT_CONFIG_INVALID', message: expect.stringContaining('MEDIABOT_API_TOKEN') });

describe('literal loopback', () => {
  it('counts only loopback address literals and localhost', () => {
    for (const h of ['127.0.0.1', '127.9.8.7', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['127.evil.example', '127.0.0.1.nip.io', '0.0.0.0', '::', '10.0.0.1', '128.0.0.1', '::ffff:10.0.0.1', '127.1', '0x7f000001', 'example.com', '']) expect(isLoopbackHost(h), h).toBe(false);
  });
});

describe('MEDIABOT_API_TOKEN when reachable from outside', () => {
  it('refuses a host that only looks like loopback', () => {
    expect(() => loadConfig({ MEDIABOT_HOST: '127.evil.example' })).toThrow(refusedToken);
    expect(() => loadConfig({ MEDIABOT_HOST: '0.0.0.0' })).toThrow(refusedToken);
  });
  it('refuses a public URL or Graph credentials without a token', () => {
    expect(() => loadConfig({ MEDIABOT_PUBLIC_URL: 'https://bot.example.com' })).toThrow(refusedToken);
    expect(() => loadConfig({ MEDIABOT_CLIENT_ID: 'c', MEDIABOT_CLIENT_SECRET: 's' })).toThrow(refusedToken);
    expect(() => loadConfig({ MEDIABOT_CLIENT_CERT: 'pem' })).toThrow(refusedToken);
  });
  it('refuses a short token when reachable, names the variable, and never echoes the token', () => {
    let err: unknown;
    try {
      loadConfig({ MEDIABOT_PUBLIC_URL: 'https://bot.example.com', MEDIABOT_API_TOKEN: 'k' });
    } catch (e) {
      err = e;
    }
    expect(err).toEqual(refusedToken);
    expect((err as Error).message).not.toContain("'k'");
    expect(() => loadConfig({ MEDIABOT_HOST: '0.0.0.0', MEDIABOT_API_TOKEN: 'x'.repeat(31) })).toThrow(refusedToken);
    expect(() => loadConfig({ MEDIABOT_API_TOKEN: 'has a space in it but is long enough......' })).toThrow(refusedToken);
  });
  it('accepts 32 characters when reachable, and loopback without a token (the demo)', () => {
    expect(loadConfig({ MEDIABOT_PUBLIC_URL: 'https://bot.example.com', MEDIABOT_CLIENT_ID: 'c', MEDIABOT_CLIENT_SECRET: 's', MEDIABOT_API_TOKEN: LONG }).apiToken).toBe(LONG);
    expect(loadConfig({ MEDIABOT_HOST: '0.0.0.0', MEDIABOT_API_TOKEN: LONG }).host).toBe('0.0.0.0');
    expect(loadConfig({}).apiToken).toBeUndefined();
    expect(loadConfig({ MEDIABOT_HOST: '::1' }).apiToken).toBeUndefined();
  });
  it('keeps the bridge token rules', () => {
    expect(() => loadConfig({ MEDIABOT_BRIDGE_TOKEN: 'short' })).toThrow(/MEDIABOT_BRIDGE_TOKEN/);
    expect(loadConfig({ MEDIABOT_BRIDGE_TOKEN: 'b'.repeat(16) }).bridgeToken).toBe('b'.repeat(16));
  });
});

describe('the security settings parse', () => {
  it('tenants default to MEDIABOT_TENANT_ID; allowlist and origins are validated', () => {
    expect(loadConfig({ MEDIABOT_TENANT_ID: 't1' }).tenants).toEqual(['t1']);
    expect(loadConfig({ MEDIABOT_TENANT_ID: 't1', MEDIABOT_TENANTS: 'a, b' }).tenants).toEqual(['a', 'b']);
    expect(loadConfig({ MEDIABOT_FETCH_ALLOWLIST: 'media.example.com, 10.1.0.0/16, 127.0.0.1' }).fetchAllowlist).toEqual(['media.example.com', '10.1.0.0/16', '127.0.0.1']);
    expect(() => loadConfig({ MEDIABOT_FETCH_ALLOWLIST: '10.0.0.0/99' })).toThrow(/MEDIABOT_FETCH_ALLOWLIST/);
    expect(loadConfig({ MEDIABOT_ALLOWED_ORIGINS: 'https://ops.example.com/' }).allowedOrigins).toEqual(['https://ops.example.com']);
    expect(() => loadConfig({ MEDIABOT_ALLOWED_ORIGINS: 'javascript:alert(1)' })).toThrow(/MEDIABOT_ALLOWED_ORIGINS/);
    expect(loadConfig({}).maxConnections).toBe(1024);
    expect(() => loadConfig({ MEDIABOT_MAX_CONNECTIONS: '0' })).toThrow(/MEDIABOT_MAX_CONNECTIONS/);
  });
});

describe('mediabot start', () => {
  it('exits 2 naming MEDIABOT_API_TOKEN with a public URL and Graph credentials but no token', () => {
    const repo = resolve(import.meta.dirname, '../..');
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(repo, 'src/cli/main.ts'), 'start'], {
      cwd: repo,
      env: { PATH: process.env['PATH'] ?? '', MEDIABOT_PUBLIC_URL: 'https://bot.example.com', MEDIABOT_CLIENT_ID: 'c', MEDIABOT_CLIENT_SECRET: 's', MEDIABOT_DATA_DIR: mkdtempSync(join(tmpdir(), 'mediabot-sec-')) },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('MEDIABOT_API_TOKEN');
  });
});
