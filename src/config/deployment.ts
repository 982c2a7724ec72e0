/**
 * The settings that make one process one instance of a deployment: who it is (MEDIABOT_INSTANCE_ID),
 * where Graph calls it back (MEDIABOT_PUBLIC_URL with an `{instance}` placeholder), where the other
 * instances reach it (MEDIABOT_INTERNAL_URL), how many calls it takes (MEDIABOT_MAX_CALLS), how long
 * a shutdown waits for live calls (MEDIABOT_DRAIN_TIMEOUT_S) and which extra CA it trusts
 * (MEDIABOT_CA_FILE).
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
export const MAX_CALLS_LIMIT = 10_000;
/** Replaced by the instance id in MEDIABOT_PUBLIC_URL and MEDIABOT_INTERNAL_URL. */
export const INSTANCE_PLACEHOLDER = '{instance}';

export interface DeploymentConfig {
  /** This instance's id (MEDIABOT_INSTANCE_ID; default the host name, the pod name in a StatefulSet). */
  instanceId: string;
  /** The public base URL with `{instance}` replaced; undefined when MEDIABOT_PUBLIC_URL is unset. */
  publicUrl: string | undefined;
  /** How the other instances reach this one (MEDIABOT_INTERNAL_URL, `{instance}` replaced). */
  internalUrl: string | undefined;
  /** Calls this instance takes at most; undefined = no cap. */
  maxCalls: number | undefined;
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

/** An http(s) base URL after substituting the instance id; the placeholder may only sit in the host or the path. */
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

function integer(name: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) throw invalid(name, raw, `an integer ${min}-${max}`);
  return Number(raw);
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

export function loadDeploymentConfig(get: (name: string) => string | undefined, defaultHostname: () => string = hostname): DeploymentConfig {
  const idRaw = get('MEDIABOT_INSTANCE_ID') ?? defaultHostname();
  // It goes into URLs (a path segment or a host label) and logs: a DNS label's characters, plus '.' and '_'.
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/.test(idRaw)) throw invalid('MEDIABOT_INSTANCE_ID', idRaw, '1-63 letters, digits, ".", "_" or "-", starting and ending with a letter or digit');
  const publicRaw = get('MEDIABOT_PUBLIC_URL');
  const internalRaw = get('MEDIABOT_INTERNAL_URL');
  const maxRaw = get('MEDIABOT_MAX_CALLS');
  const drainRaw = get('MEDIABOT_DRAIN_TIMEOUT_S');
  const caFile = get('MEDIABOT_CA_FILE');
  return {
    instanceId: idRaw,
    publicUrl: publicRaw === undefined ? undefined : instanceUrl('MEDIABOT_PUBLIC_URL', publicRaw, idRaw),
    internalUrl: internalRaw === undefined ? undefined : instanceUrl('MEDIABOT_INTERNAL_URL', internalRaw, idRaw),
    maxCalls: maxRaw === undefined ? undefined : integer('MEDIABOT_MAX_CALLS', maxRaw, 1, MAX_CALLS_LIMIT),
    drainTimeoutS: drainRaw === undefined ? DEFAULT_DRAIN_TIMEOUT_S : integer('MEDIABOT_DRAIN_TIMEOUT_S', drainRaw, 0, MAX_DRAIN_TIMEOUT_S),
    caPem: caFile === undefined ? undefined : readCa(caFile),
    caFile: caFile === undefined ? undefined : resolve(caFile),
  };
}
