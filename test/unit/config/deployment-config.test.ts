import { mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/config.js';
import { DEFAULT_DRAIN_TIMEOUT_S } from '../../../src/config/deployment.js';

const TOKEN = 'x'.repeat(40);
const rejects = (env: Record<string, string>, variable: string): void => {
  expect(() => loadConfig(env)).toThrow(expect.objectContaining({ code: 'MEDIABOT_CONFIG_INVALID', message: expect.stringContaining(variable), details: { variable } }));
};

describe('deployment settings', () => {
  it('defaults: the host name as instance id, a 600 s drain, no call cap for a single process (20 in a fleet), no internal URL, no extra CA', () => {
    const cfg = loadConfig({});
    expect(cfg.instanceId).toBe(hostname());
    expect(cfg.drainTimeoutS).toBe(DEFAULT_DRAIN_TIMEOUT_S);
    expect(DEFAULT_DRAIN_TIMEOUT_S).toBe(600);
    expect(cfg.maxCalls).toBeUndefined();
    expect(loadConfig({ MEDIABOT_REDIS_URL: 'redis://127.0.0.1:6379', MEDIABOT_INTERNAL_URL: 'http://127.0.0.1:3978' }).maxCalls).toBe(20);
    expect(cfg.internalUrl).toBeUndefined();
    expect(cfg.caPem).toBeUndefined();
  });

  it('fills {instance} in MEDIABOT_PUBLIC_URL with the instance id: every call this instance creates or answers gets its own callback URL', () => {
    const cfg = loadConfig({
      MEDIABOT_INSTANCE_ID: 'mediabot-2',
      MEDIABOT_PUBLIC_URL: 'https://bot.example.com/pods/{instance}/',
      MEDIABOT_INTERNAL_URL: 'http://mediabot-2.mediabot-pods.ns.svc.cluster.local:3978',
      MEDIABOT_API_TOKEN: TOKEN,
    });
    expect(cfg.instanceId).toBe('mediabot-2');
    expect(cfg.publicUrl).toBe('https://bot.example.com/pods/mediabot-2');
    expect(cfg.internalUrl).toBe('http://mediabot-2.mediabot-pods.ns.svc.cluster.local:3978');
    // A host per pod works the same way.
    expect(loadConfig({ MEDIABOT_INSTANCE_ID: 'b1', MEDIABOT_PUBLIC_URL: 'https://{instance}.bots.example.com', MEDIABOT_API_TOKEN: TOKEN }).publicUrl).toBe('https://b1.bots.example.com');
  });

  it('reads the cap and the drain timeout', () => {
    const cfg = loadConfig({ MEDIABOT_MAX_CALLS: '20', MEDIABOT_DRAIN_TIMEOUT_S: '0' });
    expect(cfg.maxCalls).toBe(20);
    expect(cfg.drainTimeoutS).toBe(0);
  });

  it('reads the CA of MEDIABOT_CA_FILE', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mb-ca-'));
    const pem = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';
    writeFileSync(join(dir, 'ca.pem'), pem);
    writeFileSync(join(dir, 'junk.pem'), 'not a certificate');
    const cfg = loadConfig({ MEDIABOT_CA_FILE: join(dir, 'ca.pem') });
    expect(cfg.caPem).toBe(pem);
    expect(cfg.caFile).toBe(join(dir, 'ca.pem'));
    rejects({ MEDIABOT_CA_FILE: join(dir, 'junk.pem') }, 'MEDIABOT_CA_FILE');
    rejects({ MEDIABOT_CA_FILE: join(dir, 'missing.pem') }, 'MEDIABOT_CA_FILE');
  });

  it('names the variable on every bad value', () => {
    for (const bad of ['a b', 'a/b', '{instance}']) rejects({ MEDIABOT_INSTANCE_ID: bad }, 'MEDIABOT_INSTANCE_ID');
    for (const bad of ['ftp://x.example/{instance}', 'https://x.example/{pod}', 'not a url', 'https://x.example/?i={instance}']) {
      rejects({ MEDIABOT_PUBLIC_URL: bad, MEDIABOT_API_TOKEN: TOKEN, MEDIABOT_INSTANCE_ID: 'a' }, 'MEDIABOT_PUBLIC_URL');
    }
    for (const bad of ['ftp://x.example', 'not a url']) rejects({ MEDIABOT_INTERNAL_URL: bad }, 'MEDIABOT_INTERNAL_URL');
    for (const bad of ['0', '-1', '1.5', 'many', '100001']) rejects({ MEDIABOT_MAX_CALLS: bad }, 'MEDIABOT_MAX_CALLS');
    for (const bad of ['-1', '10s', '86401', '1e3']) rejects({ MEDIABOT_DRAIN_TIMEOUT_S: bad }, 'MEDIABOT_DRAIN_TIMEOUT_S');
  });
});
