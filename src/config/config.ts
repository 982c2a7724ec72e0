import { isIP } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import ipaddr from 'ipaddr.js';
import { MediabotError } from '../errors.js';
import { checkExposure, commaList, isLoopbackHost } from './exposure.js';
import { parseFetchAllowlist } from '../net/allowlist.js';
import { loadDeploymentConfig, type DeploymentConfig } from './deployment.js';
import { leaveSettingsFromEnv, type LeaveSettings } from './leave-settings.js';
import { parseWebhookSettings, type WebhookSettings } from './webhooks.js';
import { readFleetConfig, type FleetConfig } from './fleet.js';
import { parseStorageSettings, type StorageSettings } from './storage.js';
import { parseRetentionSettings, type RetentionSettings } from './retention.js';

/** The speech-to-text engines MEDIABOT_TRANSCRIBER can name (`none`: no transcription). */
export const TRANSCRIBER_NAMES = ['none', 'pocketsphinx', 'azure', 'ws'] as const;
export type TranscriberName = (typeof TRANSCRIBER_NAMES)[number];

/** Azure Speech credentials and options (MEDIABOT_AZURE_SPEECH_*), for MEDIABOT_TRANSCRIBER=azure. */
export interface AzureSpeechSettings {
  key: string;
  region?: string;
  endpoint?: string;
  language?: string;
}

/** A user hook module from MEDIABOT_HOOKS. */
export interface HookModuleRef {
  /** Absolute path of an ES module. */
  module: string;
  /** Export holding the factory; default `default`. */
  export?: string;
}

/** Besides its own fields, the fleet's (MEDIABOT_REDIS_URL, MEDIABOT_INSTANCE_ID, MEDIABOT_INTERNAL_URL, MEDIABOT_MAX_CALLS: fleet.ts) and the deployment's (MEDIABOT_DRAIN_TIMEOUT_S, MEDIABOT_CA_FILE; MEDIABOT_PUBLIC_URL's `{instance}` filled in: deployment.ts). */
export interface MediabotConfig extends FleetConfig, Omit<DeploymentConfig, 'publicUrl'> {
  tenantId: string | undefined;
  clientId: string | undefined;
  clientSecret: string | undefined;
  /** PEM (certificate and private key) for certificate credentials. */
  clientCert: string | undefined;
  publicUrl: string | undefined;
  host: string;
  port: number;
  dataDir: string;
  graphUrl: string;
  authorityUrl: string;
  callbackOpenIdUrl: string;
  apiToken: string | undefined;
  /** A token only media sidecars use on /media/bridge (besides apiToken). */
  bridgeToken: string | undefined;
  /** The ACS resource's immutable id: set, ACS media connections must carry ACS's JWT with this audience. */
  acsResourceId: string | undefined;
  /** The OpenID configuration whose keys sign ACS's WebSocket tokens. */
  acsOpenIdUrl: string;
  rtpPorts: { min: number; max: number };
  /** Address RTP sockets bind to (MEDIABOT_RTP_HOST); default MEDIABOT_HOST when loopback, else 0.0.0.0. */
  rtpHost: string | undefined;
  /** IPs and CIDRs allowed to send RTP to the worker's media sessions (MEDIABOT_RTP_PEERS); empty: any. */
  rtpPeers: string[];
  /** Incoming calls: answered when the rules allow (MEDIABOT_INCOMING=answer), or all rejected. */
  incoming: 'answer' | 'reject';
  /** Tenants whose incoming calls may be answered (MEDIABOT_INCOMING_TENANTS); empty: `tenants`. */
  incomingTenants: string[];
  /** User ids and phone numbers allowed to call (MEDIABOT_INCOMING_CALLERS); empty: any caller of those tenants. */
  incomingCallers: string[];
  /** RTP socket I/O (MEDIABOT_RTP_IO): batched (native recvmmsg/sendmmsg at the tick), dgram, or auto = batched when built. */
  rtpIo: 'auto' | 'batched' | 'dgram';
  /** Nice value of the media threads (MEDIABOT_MEDIA_NICE, -20..19); undefined leaves them as the process. */
  mediaNice: number | undefined;
  transcriber: TranscriberName;
  transcriberWsUrl: string | undefined;
  /** Azure Speech settings; undefined without MEDIABOT_AZURE_SPEECH_KEY. */
  azureSpeech: AzureSpeechSettings | undefined;
  /** User hook modules (MEDIABOT_HOOKS), paths made absolute; start-up checks they load. */
  hookModules: HookModuleRef[];
  record: boolean;
  logLevel: string;
  mediaThreads: number;
  /** True when no Graph credentials are set: the embedded emulator is the default. */
  useEmulator: boolean;
  /** Tenants whose callbacks are accepted (MEDIABOT_TENANTS; default MEDIABOT_TENANT_ID when set; ["*"]: every tenant that consented). */
  tenants: string[];
  /** Hosts and CIDRs a caller-given prompt URL may reach although private (MEDIABOT_FETCH_ALLOWLIST). */
  fetchAllowlist: string[];
  /** Browser origins besides the worker's own allowed on /v1 and /v1/events (MEDIABOT_ALLOWED_ORIGINS). */
  allowedOrigins: string[];
  /** Open HTTP connections beyond which new ones are refused (MEDIABOT_MAX_CONNECTIONS). */
  maxConnections: number;
  /**
   * Private keys that open rich change notifications, by encryptionCertificateId: the current
   * (MEDIABOT_NOTIFICATION_KEY + _CERT_ID), then the previous one while certificates rotate
   * (MEDIABOT_NOTIFICATION_PREVIOUS_KEY + _CERT_ID). PEM text or a path.
   */
  notificationKeys: Array<{ certificateId: string; pem: string }>;
  /** After a meeting call ends, fetch Teams' attendance report and transcript (MEDIABOT_FETCH_MEETING_ARTIFACTS=on). */
  fetchMeetingArtifacts: boolean;
  /** When a bot leaves a call by itself (MEDIABOT_LEAVE_*, MEDIABOT_LOBBY_TIMEOUT_S; docs/leave-rules.md). */
  leave: LeaveSettings;
  /** Signed outbound webhooks (MEDIABOT_WEBHOOK_URL, MEDIABOT_WEBHOOK_SECRET). */
  webhooks: WebhookSettings;
  /** Where call artifacts go after the call (MEDIABOT_STORAGE_URL, MEDIABOT_STORAGE_*; docs/storage.md). */
  storage: StorageSettings;
  /** How long a call's data is kept after it ended (MEDIABOT_RETENTION_DAYS; 0: forever). */
  retention: RetentionSettings;
}

export const CONFIG_DEFAULTS = {
  host: '127.0.0.1',
  port: 3978,
  dataDir: './mediabot-data',
  graphUrl: 'https://graph.microsoft.com',
  authorityUrl: 'https://login.microsoftonline.com',
  callbackOpenIdUrl: 'https://api.aps.skype.com/v1/.well-known/OpenIdConfiguration',
  acsOpenIdUrl: 'https://acscallautomation.communication.azure.com/calling/.well-known/acsopenidconfiguration',
  rtpPorts: '40000-40999',
  rtpIo: 'auto',
  transcriber: 'none',
  record: 'on',
  logLevel: 'info',
  maxConnections: 1024,
} as const;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function invalid(name: string, value: string, expected: string): MediabotError {
  return new MediabotError('MEDIABOT_CONFIG_INVALID', `${name}=${JSON.stringify(value)} is invalid: expected ${expected}`, { variable: name });
}

function parsePort(name: string, raw: string): number {
  if (!/^\d+$/.test(raw)) throw invalid(name, raw, 'a port number 0-65535');
  const n = Number(raw);
  if (n > 65535) throw invalid(name, raw, 'a port number 0-65535');
  return n;
}

function parseUrl(name: string, raw: string): string {
  try {
    const u = new URL(raw);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('protocol');
    return raw.replace(/\/+$/, '');
  } catch {
    throw invalid(name, raw, 'an http(s) URL');
  }
}

function parseEnum<T extends string>(name: string, raw: string, values: readonly T[]): T {
  if (!(values as readonly string[]).includes(raw)) throw invalid(name, raw, `one of ${values.join(', ')}`);
  return raw as T;
}

/** Defaults a command may put in place of the built-in ones, for variables that are not set. */
export interface ConfigDefaultOverrides {
  transcriber?: TranscriberName;
  logLevel?: string;
}

/**
 * Builds the one validated config object from the environment (MEDIABOT_*).
 * Throws MediabotError(MEDIABOT_CONFIG_INVALID) naming the variable on any bad value.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, defaults: ConfigDefaultOverrides = {}): MediabotConfig {
  const get = (k: string): string | undefined => {
    const v = env[k];
    return v === undefined || v === '' ? undefined : v;
  };
  const rtpRaw = get('MEDIABOT_RTP_PORTS') ?? CONFIG_DEFAULTS.rtpPorts;
  const m = /^(\d+)-(\d+)$/.exec(rtpRaw);
  if (!m) throw invalid('MEDIABOT_RTP_PORTS', rtpRaw, 'a range like 40000-40999');
  const rtpMin = parsePort('MEDIABOT_RTP_PORTS', m[1]!);
  const rtpMax = parsePort('MEDIABOT_RTP_PORTS', m[2]!);
  if (rtpMin > rtpMax || rtpMin < 1024) throw invalid('MEDIABOT_RTP_PORTS', rtpRaw, 'a range low-high with 1024 <= low <= high');

  const threadsRaw = get('MEDIABOT_MEDIA_THREADS');
  let mediaThreads = 0;
  if (threadsRaw !== undefined) {
    if (!/^\d+$/.test(threadsRaw) || Number(threadsRaw) < 1 || Number(threadsRaw) > 64) throw invalid('MEDIABOT_MEDIA_THREADS', threadsRaw, 'an integer 1-64');
    mediaThreads = Number(threadsRaw);
  }
  const niceRaw = get('MEDIABOT_MEDIA_NICE');
  if (niceRaw !== undefined && (!/^-?\d+$/.test(niceRaw) || Number(niceRaw) < -20 || Number(niceRaw) > 19)) throw invalid('MEDIABOT_MEDIA_NICE', niceRaw, 'an integer -20..19');

  const logLevel = get('MEDIABOT_LOG_LEVEL') ?? defaults.logLevel ?? CONFIG_DEFAULTS.logLevel;
  parseEnum('MEDIABOT_LOG_LEVEL', logLevel, LOG_LEVELS);

  const recordRaw = get('MEDIABOT_RECORD') ?? CONFIG_DEFAULTS.record;
  parseEnum('MEDIABOT_RECORD', recordRaw, ['on', 'off'] as const);

  const transcriber = parseEnum('MEDIABOT_TRANSCRIBER', get('MEDIABOT_TRANSCRIBER') ?? defaults.transcriber ?? CONFIG_DEFAULTS.transcriber, TRANSCRIBER_NAMES);
  const transcriberWsUrl = get('MEDIABOT_TRANSCRIBER_WS_URL');
  if (transcriberWsUrl !== undefined && !/^wss?:\/\//.test(transcriberWsUrl)) throw invalid('MEDIABOT_TRANSCRIBER_WS_URL', transcriberWsUrl, 'a ws:// or wss:// URL');
  if (transcriber === 'ws' && transcriberWsUrl === undefined) throw invalid('MEDIABOT_TRANSCRIBER_WS_URL', '', 'a ws:// URL when MEDIABOT_TRANSCRIBER=ws');

  const portRaw = get('MEDIABOT_PORT');
  const fleet = readFleetConfig(env);
  const deployment = loadDeploymentConfig(get, fleet.instanceId);
  const publicUrlRaw = deployment.publicUrl;
  const tenantId = get('MEDIABOT_TENANT_ID');
  const clientId = get('MEDIABOT_CLIENT_ID');
  const clientSecret = get('MEDIABOT_CLIENT_SECRET');
  const clientCert = get('MEDIABOT_CLIENT_CERT');
  const host = get('MEDIABOT_HOST') ?? CONFIG_DEFAULTS.host;
  const apiToken = get('MEDIABOT_API_TOKEN');
  checkExposure({ host, publicUrl: publicUrlRaw, hasGraphCredentials: clientId !== undefined || clientSecret !== undefined || clientCert !== undefined, apiToken });
  const bridgeToken = get('MEDIABOT_BRIDGE_TOKEN');
  if (bridgeToken !== undefined && !/^[\x21-\x7e]{16,512}$/.test(bridgeToken)) throw invalid('MEDIABOT_BRIDGE_TOKEN', '(hidden)', '16-512 printable characters without spaces');
  const acsResourceId = get('MEDIABOT_ACS_RESOURCE_ID');
  if (acsResourceId !== undefined && !/^[A-Za-z0-9-]{8,128}$/.test(acsResourceId)) throw invalid('MEDIABOT_ACS_RESOURCE_ID', acsResourceId, "the ACS resource's immutable id (a GUID)");
  const tenants = commaList(get('MEDIABOT_TENANTS') ?? tenantId);
  for (const t of tenants) if (t !== '*' && !/^[A-Za-z0-9.-]{1,128}$/.test(t)) throw invalid('MEDIABOT_TENANTS', t, 'a comma list of tenant ids, or * for every tenant that consented');
  if (tenants.includes('*') && tenants.length > 1) throw invalid('MEDIABOT_TENANTS', tenants.join(','), '* alone (every tenant that consented) or a list of tenant ids');
  const fetchAllowlist = parseFetchAllowlist(get('MEDIABOT_FETCH_ALLOWLIST'));
  const allowedOrigins = commaList(get('MEDIABOT_ALLOWED_ORIGINS')).map((o) => {
    try {
      const u = new URL(o);
      if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('protocol');
      return u.origin;
    } catch {
      throw invalid('MEDIABOT_ALLOWED_ORIGINS', o, 'a comma list of http(s) origins');
    }
  });
  const rtpHost = get('MEDIABOT_RTP_HOST');
  if (rtpHost !== undefined && isIP(rtpHost) === 0) throw invalid('MEDIABOT_RTP_HOST', rtpHost, 'an IP address to bind RTP sockets to');
  const rtpPeers = commaList(get('MEDIABOT_RTP_PEERS'));
  for (const p of rtpPeers) if (!isIpOrCidr(p)) throw invalid('MEDIABOT_RTP_PEERS', p, 'a comma list of IPs and CIDRs');
  const incoming = parseEnum('MEDIABOT_INCOMING', get('MEDIABOT_INCOMING') ?? 'answer', ['answer', 'reject'] as const);
  const incomingTenants = commaList(get('MEDIABOT_INCOMING_TENANTS'));
  for (const t of incomingTenants) if (!/^[A-Za-z0-9.-]{1,128}$/.test(t)) throw invalid('MEDIABOT_INCOMING_TENANTS', t, 'a comma list of tenant ids');
  const incomingCallers = commaList(get('MEDIABOT_INCOMING_CALLERS'));
  for (const c of incomingCallers) if (!/^(\+?[0-9][0-9 ().-]{2,31}|[A-Za-z0-9][A-Za-z0-9._:@-]{0,127})$/.test(c)) throw invalid('MEDIABOT_INCOMING_CALLERS', c, 'a comma list of user ids and phone numbers');
  const notificationKeys: MediabotConfig['notificationKeys'] = [];
  for (const prefix of ['MEDIABOT_NOTIFICATION', 'MEDIABOT_NOTIFICATION_PREVIOUS']) {
    const pem = get(`${prefix}_KEY`);
    const certificateId = get(`${prefix}_CERT_ID`);
    if ((pem === undefined) !== (certificateId === undefined)) throw invalid(`${prefix}_${pem === undefined ? 'KEY' : 'CERT_ID'}`, '(unset)', `set together with ${prefix}_${pem === undefined ? 'CERT_ID' : 'KEY'}`);
    if (pem !== undefined && certificateId !== undefined) {
      if (!/^[\x21-\x7e]{1,128}$/.test(certificateId)) throw invalid(`${prefix}_CERT_ID`, certificateId, 'the encryptionCertificateId given when subscribing (1-128 printable characters)');
      notificationKeys.push({ certificateId, pem });
    }
  }
  if (notificationKeys.length === 1 && get('MEDIABOT_NOTIFICATION_KEY') === undefined) throw invalid('MEDIABOT_NOTIFICATION_KEY', '(unset)', 'set the current key before a previous one');
  const maxConnRaw = get('MEDIABOT_MAX_CONNECTIONS');
  if (maxConnRaw !== undefined && (!/^\d+$/.test(maxConnRaw) || Number(maxConnRaw) < 1 || Number(maxConnRaw) > 100_000)) throw invalid('MEDIABOT_MAX_CONNECTIONS', maxConnRaw, 'an integer 1-100000');

  return {
    ...deployment,
    tenantId,
    clientId,
    clientSecret,
    clientCert,
    publicUrl: publicUrlRaw === undefined ? undefined : parseUrl('MEDIABOT_PUBLIC_URL', publicUrlRaw),
    host,
    port: portRaw === undefined ? CONFIG_DEFAULTS.port : parsePort('MEDIABOT_PORT', portRaw),
    dataDir: resolve(get('MEDIABOT_DATA_DIR') ?? CONFIG_DEFAULTS.dataDir),
    graphUrl: parseUrl('MEDIABOT_GRAPH_URL', get('MEDIABOT_GRAPH_URL') ?? CONFIG_DEFAULTS.graphUrl),
    authorityUrl: parseUrl('MEDIABOT_AUTHORITY_URL', get('MEDIABOT_AUTHORITY_URL') ?? CONFIG_DEFAULTS.authorityUrl),
    callbackOpenIdUrl: parseUrl('MEDIABOT_CALLBACK_OPENID_URL', get('MEDIABOT_CALLBACK_OPENID_URL') ?? CONFIG_DEFAULTS.callbackOpenIdUrl),
    apiToken,
    bridgeToken,
    acsResourceId,
    acsOpenIdUrl: parseUrl('MEDIABOT_ACS_OPENID_URL', get('MEDIABOT_ACS_OPENID_URL') ?? CONFIG_DEFAULTS.acsOpenIdUrl),
    rtpPorts: { min: rtpMin, max: rtpMax },
    rtpHost,
    rtpPeers,
    incoming,
    incomingTenants,
    incomingCallers,
    rtpIo: parseEnum('MEDIABOT_RTP_IO', get('MEDIABOT_RTP_IO') ?? CONFIG_DEFAULTS.rtpIo, ['auto', 'batched', 'dgram'] as const),
    transcriber,
    transcriberWsUrl,
    azureSpeech: azureSpeechFromEnv(env),
    hookModules: parseHookModuleList(get('MEDIABOT_HOOKS')),
    record: recordRaw === 'on',
    logLevel,
    mediaThreads,
    mediaNice: niceRaw === undefined ? undefined : Number(niceRaw),
    useEmulator: clientId === undefined && clientSecret === undefined && clientCert === undefined,
    tenants,
    fetchAllowlist,
    allowedOrigins,
    maxConnections: maxConnRaw === undefined ? CONFIG_DEFAULTS.maxConnections : Number(maxConnRaw),
    notificationKeys,
    fetchMeetingArtifacts: parseOnOff('MEDIABOT_FETCH_MEETING_ARTIFACTS', get('MEDIABOT_FETCH_MEETING_ARTIFACTS')),
    leave: leaveSettingsFromEnv(get),
    webhooks: parseWebhookSettings(get),
    storage: parseStorageSettings(get),
    retention: parseRetentionSettings(get),
    ...fleet,
  };
}

function isIpOrCidr(s: string): boolean {
  if (isIP(s) !== 0) return true;
  try {
    ipaddr.parseCIDR(s);
    return true;
  } catch {
    return false;
  }
}

function parseOnOff(variable: string, v: string | undefined): boolean {
  if (v === undefined || v === 'off') return false;
  if (v === 'on') return true;
  throw invalid(variable, v, 'on or off');
}

/** A literal loopback address (or `localhost`); see isLoopbackHost. */
export function isLoopback(host: string): boolean {
  return isLoopbackHost(host);
}

/** Reads the MEDIABOT_AZURE_SPEECH_* settings; undefined without a key. */
export function azureSpeechFromEnv(env: NodeJS.ProcessEnv): AzureSpeechSettings | undefined {
  const get = (k: string): string | undefined => (env[k] === '' ? undefined : env[k]);
  const key = get('MEDIABOT_AZURE_SPEECH_KEY');
  if (key === undefined) return undefined;
  const out: AzureSpeechSettings = { key };
  const region = get('MEDIABOT_AZURE_SPEECH_REGION');
  const endpoint = get('MEDIABOT_AZURE_SPEECH_ENDPOINT');
  const language = get('MEDIABOT_AZURE_SPEECH_LANGUAGE');
  if (region !== undefined) out.region = region;
  if (endpoint !== undefined) out.endpoint = endpoint;
  if (language !== undefined) out.language = language;
  return out;
}

/**
 * Parses MEDIABOT_HOOKS: a comma-separated list of module paths, each optionally `#exportName`
 * (default export otherwise), relative to `baseDir`. Syntax only: whether each file exists and
 * exports a factory is checked at start-up.
 */
export function parseHookModuleList(value: string | undefined, baseDir = process.cwd()): HookModuleRef[] {
  if (value === undefined || value.trim() === '') return [];
  return value.split(',').map((raw) => {
    const entry = raw.trim();
    const [path, exp, extra] = entry.split('#');
    if (path === undefined || path === '' || extra !== undefined || exp === '') {
      throw new MediabotError('MEDIABOT_CONFIG_INVALID', `MEDIABOT_HOOKS entry ${JSON.stringify(entry)} is invalid: expected path/to/module.js or path/to/module.js#exportName`, { variable: 'MEDIABOT_HOOKS' });
    }
    const module = isAbsolute(path) ? path : resolve(baseDir, path);
    return exp === undefined ? { module } : { module, export: exp };
  });
}
