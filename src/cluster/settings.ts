/**
 * The fleet settings an instance runs with, from the config (src/config/fleet.ts reads them):
 * null when no Redis is configured (a single process).
 */
import { hostname } from 'node:os';
import { MediabotError } from '../errors.js';
import { DEFAULT_MAX_CALLS, type FleetConfig } from '../config/fleet.js';

export interface ClusterSettings {
  redisUrl: string;
  instanceId: string;
  internalUrl: string;
  maxCalls: number;
}

/** Throws MEDIABOT_CONFIG_INVALID when Redis is set without an internal URL (a config built by hand). */
export function clusterSettings(config: FleetConfig): ClusterSettings | null {
  if (config.redisUrl === undefined || config.redisUrl === '') return null;
  if (config.internalUrl === undefined || config.internalUrl === '') {
    throw new MediabotError('MEDIABOT_CONFIG_INVALID', 'MEDIABOT_INTERNAL_URL is required with MEDIABOT_REDIS_URL: the URL other instances reach this one at', { variable: 'MEDIABOT_INTERNAL_URL' });
  }
  return { redisUrl: config.redisUrl, instanceId: config.instanceId ?? hostname(), internalUrl: config.internalUrl, maxCalls: config.maxCalls ?? DEFAULT_MAX_CALLS };
}
