/**
 * The settings that make one process one instance of a deployment, besides the fleet's (fleet.ts:
 * MEDIABOT_INSTANCE_ID, MEDIABOT_INTERNAL_URL, MEDIABOT_MAX_CALLS, MEDIABOT_REDIS_URL): where Graph
 * calls it back (MEDIABOT_PUBLIC_URL with an `{instance}` placeholder), how long a shutdown waits for
 * live calls (MEDIABOT_DRAIN_TIMEOUT_S) and which extra CA it trusts (MEDIABOT_CA_FILE).
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { MediabotError } from '../errors.js';

/**
 * Default drain timeout: ten minutes. Most meetings being recorded when a pod is asked to stop end
 * within that; the rest are hung up cleanly with every artifact written. Kubernetes'
 * terminationGracePeriodSeconds must exceed it (the pod is killed when the grace period ends).
 */
export const DEFAULT_DRAIN_TIMEOUT_S = 600;
export const MAX_DRAIN_TIMEOUT_S = 86_400;
/** Replaced by the instance id in MEDIABOT_PUBLIC_URL. */
export const INSTANCE_PLACEHOLDER = '{instance}';

export interface DeploymentConfig {
  /** The public base URL with `{instance}` replaced by the instance id; undefined when MEDIABOT_PUBLIC_URL is unset. */
  publicUrl: string | undefined;
  /** Seconds a SIGTERM waits for live calls to end before hanging them up. */
  drainTimeoutS: number;
  /** PEM of a CA to trust besides the system's for Graph, the token authority and callback keys. */
  caPem: string | undefined;
  /** Where caPem was read from. */
  caFile: string | undefined;
}

function invalid(name: string, value: string, expected: string): MediabotError {
  return new MediabotError('MEDIABOT_CONFIG_INVALID', `${name}=${JSON.stringify(value)} is invalid: expected ${expected}`, { variable: name });
}

/** An http(s) base URL after substituting the instance id. */
function instanceUrl(name: string, raw: string, instanceId: string): string {
  const filled = raw.split(INSTANCE_PLACEHOLDER).join(instanceId);
  if (/[{}]/.test(filled)) throw invalid(name, raw, `an http(s) URL whose only placeholder is ${INSTANCE_PLACEHOLDER}`);
  let u: URL;
  try {
    u = new URL(filled);
  } catch {
    throw invalid(name, raw, 'an http(s) URL');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw invalid(name, raw, 'an http(s) URL');
  if (u.search !== '' || u.hash !== '' || u.username !== '' || u.password !== '') throw invalid(name, raw, 'a base URL without query, fragment or credentials');
  return filled.replace(/\/+$/, '');
}

function readCa(raw: string): string {
  const file = resolve(raw);
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new MediabotError('MEDIABOT_CONFIG_INVALID', `MEDIABOT_CA_FILE=${JSON.stringify(raw)} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { variable: 'MEDIABOT_CA_FILE' });
  }
  if (!/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.test(pem)) throw invalid('MEDIABOT_CA_FILE', raw, 'a file holding PEM certificates');
  return pem;
}

/** `instanceId`: the fleet's (MEDIABOT_INSTANCE_ID, default the host name), put in place of `{instance}`. */
export function loadDeploymentConfig(get: (name: string) => string | undefined, instanceId: string = hostname()): DeploymentConfig {
  const publicRaw = get('MEDIABOT_PUBLIC_URL');
  const drainRaw = get('MEDIABOT_DRAIN_TIMEOUT_S');
  if (drainRaw !== undefined && (!/^\d+$/.test(drainRaw) || Number(drainRaw) > MAX_DRAIN_TIMEOUT_S)) throw invalid('MEDIABOT_DRAIN_TIMEOUT_S', drainRaw, `an integer 0-${MAX_DRAIN_TIMEOUT_S}`);
  const caFile = get('MEDIABOT_CA_FILE');
  return {
    publicUrl: publicRaw === undefined ? undefined : instanceUrl('MEDIABOT_PUBLIC_URL', publicRaw, instanceId),
    drainTimeoutS: drainRaw === undefined ? DEFAULT_DRAIN_TIMEOUT_S : Number(drainRaw),
    caPem: caFile === undefined ? undefined : readCa(caFile),
    caFile: caFile === undefined ? undefined : resolve(caFile),
  };
}
