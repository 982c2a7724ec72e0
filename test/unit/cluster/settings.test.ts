import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { clusterSettings, DEFAULT_MAX_CALLS } from '../../../src/cluster/settings.js';

describe('cluster settings', () => {
  it('is null without MEDIABOT_REDIS_URL: a single process', () => {
    expect(clusterSettings({}, {})).toBeNull();
    expect(clusterSettings({}, { MEDIABOT_REDIS_URL: '' })).toBeNull();
  });

  it('reads the environment with defaults, and prefers the config object\'s fields', () => {
    expect(clusterSettings({}, { MEDIABOT_REDIS_URL: 'redis://r:6379', MEDIABOT_INTERNAL_URL: 'http://pod-0.svc:3978/' })).toEqual({
      redisUrl: 'redis://r:6379',
      instanceId: hostname(),
      internalUrl: 'http://pod-0.svc:3978',
      maxCalls: DEFAULT_MAX_CALLS,
    });
    const env = { MEDIABOT_REDIS_URL: 'rediss://r', MEDIABOT_INTERNAL_URL: 'http://x', MEDIABOT_INSTANCE_ID: 'mediabot-1', MEDIABOT_MAX_CALLS: '7' };
    expect(clusterSettings({}, env)).toMatchObject({ instanceId: 'mediabot-1', maxCalls: 7 });
    expect(clusterSettings({ instanceId: 'from-config', maxCalls: 3 }, env)).toMatchObject({ instanceId: 'from-config', maxCalls: 3 });
  });

  it('names the variable of a bad value', () => {
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
      expect(() => clusterSettings({}, env), variable).toThrow(expect.objectContaining({ code: 'MEDIABOT_CONFIG_INVALID', details: { variable } }));
    }
  });
});
