/**
 * The settings of a fleet of mediabot instances. They are read from the config object when it
 * carries them (same names as below), else from the environment with the same defaults, so this
 * helper keeps working whichever part of mediabot reads them first.
 *
 *   MEDIABOT_REDIS_URL      redis:// or rediss:// URL; unset, mediabot is a single process
 *   MEDIABOT_INSTANCE_ID    this instance's id (default: the host name, the pod name in a StatefulSet)
 *   MEDIABOT_INTERNAL_URL   how other instances reach this one (required with Redis)
 *   MEDIABOT_MAX_CALLS      the calls this instance takes (capacity for placement)
 */
import { hostname } from 'node:os';
import { MediabotError } from '../errors.js';

export const DEFAULT_MAX_CALLS = 20;

export interface ClusterSettings {
  redisUrl: string;
  instanceId: string;
  internalUrl: string;
  maxCalls: number;
}

/** The fields a config object may carry; all optional. */
interface ClusterFields {
  redisUrl?: string | undefined;
  instanceId?: string | undefined;
  internalUrl?: string | undefined;
  maxCalls?: number | undefined;
}

function invalid(name: string, value: string, expected: string): MediabotError {
  return new MediabotError('MEDIABOT_CONFIG_INVALID', `${name}=${JSON.stringify(value)} is invalid: expected ${expected}`, { variable: name });
}

/** Returns null when no Redis is configured (a single process). Throws MEDIABOT_CONFIG_INVALID on bad values. */
export function clusterSettings(config: object, env: NodeJS.ProcessEnv = process.env): ClusterSettings | null {
  const c = config as ClusterFields;
  const get = (k: string): string | undefined => {
    const v = env[k];
    return v === undefined || v === '' ? undefined : v;
  };
  const redisUrl = c.redisUrl ?? get('MEDIABOT_REDIS_URL');
  if (redisUrl === undefined) return null;
  if (!/^rediss?:\/\//.test(redisUrl)) throw invalid('MEDIABOT_REDIS_URL', '(hidden)', 'a redis:// or rediss:// URL');

  const instanceId = c.instanceId ?? get('MEDIABOT_INSTANCE_ID') ?? hostname();
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(instanceId)) throw invalid('MEDIABOT_INSTANCE_ID', instanceId, '1-128 letters, digits, dots, dashes or underscores');

  const internalRaw = c.internalUrl ?? get('MEDIABOT_INTERNAL_URL');
  if (internalRaw === undefined) throw invalid('MEDIABOT_INTERNAL_URL', '', 'an http(s) URL other instances reach this one at (required with MEDIABOT_REDIS_URL)');
  let internalUrl: string;
  try {
    const u = new URL(internalRaw);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol');
    internalUrl = internalRaw.replace(/\/+$/, '');
  } catch {
    throw invalid('MEDIABOT_INTERNAL_URL', internalRaw, 'an http(s) URL');
  }

  let maxCalls = c.maxCalls;
  if (maxCalls === undefined) {
    const raw = get('MEDIABOT_MAX_CALLS');
    if (raw !== undefined && (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 100_000)) throw invalid('MEDIABOT_MAX_CALLS', raw, 'an integer 1-100000');
    maxCalls = raw === undefined ? DEFAULT_MAX_CALLS : Number(raw);
  }
  return { redisUrl, instanceId, internalUrl, maxCalls };
}
