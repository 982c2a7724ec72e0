/**
 * The settings of a fleet of instances (many instances on Redis), read from the environment by
 * loadConfig. With MEDIABOT_REDIS_URL unset mediabot is a single process and the others are unused.
 *
 *   MEDIABOT_REDIS_URL      redis:// or rediss:// URL of the fleet's registry and event stream
 *   MEDIABOT_INSTANCE_ID    this instance's id (default: the host name, the pod name in a StatefulSet)
 *   MEDIABOT_INTERNAL_URL   how other instances reach this one (required with MEDIABOT_REDIS_URL)
 *   MEDIABOT_MAX_CALLS      the calls this instance takes (its capacity when new calls are placed;
 *                           default 20 with Redis, no cap without)
 */
import { hostname } from 'node:os';
import { MediabotError } from '../errors.js';

export const DEFAULT_MAX_CALLS = 20;

export interface FleetConfig {
  redisUrl?: string | undefined;
  instanceId?: string | undefined;
  internalUrl?: string | undefined;
  maxCalls?: number | undefined;
}

function invalid(name: string, value: string, expected: string): MediabotError {
  return new MediabotError('MEDIABOT_CONFIG_INVALID', `${name}=${JSON.stringify(value)} is invalid: expected ${expected}`, { variable: name });
}

/** Throws MEDIABOT_CONFIG_INVALID naming the variable on a bad value. */
export function readFleetConfig(env: NodeJS.ProcessEnv): Required<FleetConfig> {
  const get = (k: string): string | undefined => {
    const v = env[k];
    return v === undefined || v === '' ? undefined : v;
  };
  const redisUrl = get('MEDIABOT_REDIS_URL');
  if (redisUrl !== undefined && !/^rediss?:\/\/[^\s]+$/.test(redisUrl)) throw invalid('MEDIABOT_REDIS_URL', '(hidden)', 'a redis:// or rediss:// URL');

  const instanceId = get('MEDIABOT_INSTANCE_ID') ?? hostname();
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(instanceId)) throw invalid('MEDIABOT_INSTANCE_ID', instanceId, '1-128 letters, digits, dots, dashes or underscores');

  const internalRaw = get('MEDIABOT_INTERNAL_URL');
  let internalUrl: string | undefined;
  if (internalRaw !== undefined) {
    try {
      const u = new URL(internalRaw);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol');
      internalUrl = internalRaw.replace(/\/+$/, '');
    } catch {
      throw invalid('MEDIABOT_INTERNAL_URL', internalRaw, 'an http(s) URL');
    }
  }
  if (redisUrl !== undefined && internalUrl === undefined) throw invalid('MEDIABOT_INTERNAL_URL', '', 'an http(s) URL other instances reach this one at (required with MEDIABOT_REDIS_URL)');

  const maxRaw = get('MEDIABOT_MAX_CALLS');
  if (maxRaw !== undefined && (!/^\d+$/.test(maxRaw) || Number(maxRaw) < 1 || Number(maxRaw) > 100_000)) throw invalid('MEDIABOT_MAX_CALLS', maxRaw, 'an integer 1-100000');
  return { redisUrl, instanceId, internalUrl, // A single process has no cap unless one is set; in a fleet the cap is each instance's capacity.
    maxCalls: maxRaw === undefined ? (redisUrl !== undefined ? DEFAULT_MAX_CALLS : undefined) : Number(maxRaw) };
}
