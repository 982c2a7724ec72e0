import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { clusterSettings } from '../../../src/cluster/settings.js';
import { loadConfig } from '../../../src/config/config.js';
import { DEFAULT_MAX_CALLS } from '../../../src/config/fleet.js';

describe('fleet settings (MEDIABOT_REDIS_URL …) through the config', () => {
  it('are absent without MEDIABOT_REDIS_URL: a single process', () => {
    expect(clusterSettings(loadConfig({}))).toBeNull();
    expect(clusterSettings(loadConfig({ MEDIABOT_REDIS_URL: '' }))).toBeNull();
  });

  it('read the environment with defaults', () => {
    expect(clusterSettings(loadConfig({ MEDIABOT_REDIS_URL: 'redis://r:6379', MEDIABOT_INTERNAL_URL: 'http://pod-0.svc:3978/' }))).toEqual({
      redisUrl: 'redis://r:6379',
      instanceId: hostname(),
      internalUrl: 'http://pod-0.svc:3978',
      maxCalls: DEFAULT_MAX_CALLS,
    });
    const env = { MEDIABOT_REDIS_URL: 'rediss://r', MEDIABOT_INTERNAL_URL: 'http://x', MEDIABOT_INSTANCE_ID: 'mediabot-1', MEDIABOT_MAX_CALLS: '7' };
    expect(clusterSettings(loadConfig(env))).toMatchObject({ instanceId: 'mediabot-1', maxCalls: 7 });
    // A config built by hand without the internal URL is refused too.
    expect(() => clusterSettings({ redisUrl: 'redis://r' })).toThrow(expect.objectContaining({ code: 'MEDIABOT_CONFIG_INVALID', details: { variable: 'MEDIABOT_INTERNAL_URL' } }));
  });

  it('name the variable of a bad value', () => {
    const base = { MEDIABOT_REDIS_URL: 'redis://r', MEDIABOT_INTERNAL_URL: 'http://x' };
    const bad: Array<[Record<string, string>, string]> = [
      [{ ...base, MEDIABOT_REDIS_URL: 'http://r' }, 'MEDIABOT_REDIS_URL'],
      [{ MEDIABOT_REDIS_URL: 'redis://r' }, 'MEDIABOT_INTERNAL_URL'],
      [{ ...base, MEDIABOT_INTERNAL_URL: 'ftp://x' }, 'MEDIABOT_INTERNAL_URL'],
      [{ ...base, MEDIABOT_INSTANCE_ID: 'has space' }, 'MEDIABOT_INSTANCE_ID'],
      [{ ...base, MEDIABOT_MAX_CALLS: '0' }, 'MEDIABOT_MAX_CALLS'],
      [{ ...base, MEDIABOT_MAX_CALLS: 'many' }, 'MEDIABOT_MAX_CALLS'],
    ];
    for (const [env, variable] of bad) {
      expect(() => loadConfig(env), variable).toThrow(expect.objectContaining({ code: 'MEDIABOT_CONFIG_INVALID', details: { variable } }));
    }
  });
});
