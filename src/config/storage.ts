/**
 * Object storage settings (MEDIABOT_STORAGE_*), parsed by loadConfig:
 *
 *   unset or `file:`                          the local data folder only (nothing uploaded)
 *   azure-blob://<container>[/<prefix>]       Azure Blob Storage; credentials from
 *                                             MEDIABOT_STORAGE_AZURE_CONNECTION_STRING
 *   https://<account>.blob.core.windows.net/<container>[/<prefix>]
 *                                             Azure Blob Storage by URL; MEDIABOT_STORAGE_AZURE_ACCOUNT_KEY
 *                                             (or the connection string). A URL whose host is not
 *                                             `<account>.blob.…` names the account in its first path
 *                                             segment (Azurite: http://127.0.0.1:10000/devstoreaccount1/<container>)
 *   s3://<bucket>[/<prefix>]?region=…&endpoint=…&forcePathStyle=true
 *                                             S3 or an S3-compatible server (MinIO…); keys from
 *                                             MEDIABOT_STORAGE_S3_ACCESS_KEY_ID/_SECRET_ACCESS_KEY,
 *                                             or the AWS SDK's own chain when both are unset
 *
 * Secrets live only in the returned object: never in error messages (they say `(hidden)`).
 */
import { MediabotError } from '../errors.js';

export interface AzureBlobTarget {
  kind: 'azure';
  container: string;
  /** Key prefix inside the container ('' or `a/b`, no slashes at the ends). */
  prefix: string;
  /** A connection string (with AccountKey: signed URLs need a shared key). */
  connectionString?: string;
  /** The blob service URL and a shared key, from an https:// storage URL. */
  serviceUrl?: string;
  accountName?: string;
  accountKey?: string;
}

export interface S3Target {
  kind: 's3';
  bucket: string;
  prefix: string;
  region: string;
  /** An S3-compatible server's base URL (MinIO, a local server); undefined: AWS. */
  endpoint?: string;
  forcePathStyle: boolean;
  /** Both or neither; neither: the AWS SDK's default credential chain. */
  accessKeyId?: string;
  secretAccessKey?: string;
}

export type StorageTarget = { kind: 'local' } | AzureBlobTarget | S3Target;

export interface StorageSettings {
  target: StorageTarget;
  /** Keep local copies after a verified upload (MEDIABOT_STORAGE_KEEP_LOCAL). */
  keepLocal: boolean;
  /** How long signed download URLs are valid, in seconds (MEDIABOT_STORAGE_URL_TTL_S). */
  urlTtlS: number;
}

export const STORAGE_DEFAULTS = { urlTtlS: 3600 } as const;
/** S3 presigned URLs are valid for at most 7 days; the same bound for Azure keeps one rule. */
const MAX_URL_TTL_S = 7 * 24 * 3600;

function invalid(name: string, value: string, expected: string): MediabotError {
  return new MediabotError('MEDIABOT_CONFIG_INVALID', `${name}=${JSON.stringify(value)} is invalid: expected ${expected}`, { variable: name });
}

const URL_VAR = 'MEDIABOT_STORAGE_URL';
const CONTAINER = /^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const ACCOUNT = /^[a-z0-9]{3,24}$/;
const PREFIX_SEGMENT = /^[A-Za-z0-9._-]{1,200}$/;

/** `a/b/` or `/a/b` → `a/b`; each segment plain (no `..`, no odd characters). */
function parsePrefix(raw: string, shown: string): string {
  const segments = raw.split('/').filter((s) => s !== '');
  for (const s of segments) if (!PREFIX_SEGMENT.test(s) || s === '.' || s === '..') throw invalid(URL_VAR, shown, 'a key prefix of plain segments (letters, digits, . _ -)');
  return segments.join('/');
}

/** The URL as shown in errors: without any user info or query secrets. */
function shownUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.username !== '' || u.password !== '') return '(hidden: the URL carries credentials)';
    return `${u.protocol}//${u.host}${u.pathname}${u.search !== '' ? '?…' : ''}`;
  } catch {
    return raw.length > 200 ? `${raw.slice(0, 200)}…` : raw;
  }
}

export function parseStorageSettings(get: (k: string) => string | undefined): StorageSettings {
  const keepRaw = get('MEDIABOT_STORAGE_KEEP_LOCAL');
  if (keepRaw !== undefined && keepRaw !== 'true' && keepRaw !== 'false') throw invalid('MEDIABOT_STORAGE_KEEP_LOCAL', keepRaw, 'true or false');
  const ttlRaw = get('MEDIABOT_STORAGE_URL_TTL_S');
  if (ttlRaw !== undefined && (!/^\d+$/.test(ttlRaw) || Number(ttlRaw) < 60 || Number(ttlRaw) > MAX_URL_TTL_S)) throw invalid('MEDIABOT_STORAGE_URL_TTL_S', ttlRaw, `an integer number of seconds, 60-${MAX_URL_TTL_S}`);
  const target = parseStorageTarget(get);
  for (const k of ['MEDIABOT_STORAGE_AZURE_CONNECTION_STRING', 'MEDIABOT_STORAGE_AZURE_ACCOUNT_KEY']) {
    if (get(k) !== undefined && target.kind !== 'azure') throw invalid(k, '(hidden)', `unset unless ${URL_VAR} names Azure Blob Storage`);
  }
  for (const k of ['MEDIABOT_STORAGE_S3_ACCESS_KEY_ID', 'MEDIABOT_STORAGE_S3_SECRET_ACCESS_KEY']) {
    if (get(k) !== undefined && target.kind !== 's3') throw invalid(k, '(hidden)', `unset unless ${URL_VAR} is an s3:// URL`);
  }
  return { target, keepLocal: keepRaw === 'true', urlTtlS: ttlRaw === undefined ? STORAGE_DEFAULTS.urlTtlS : Number(ttlRaw) };
}

function parseStorageTarget(get: (k: string) => string | undefined): StorageTarget {
  const raw = get(URL_VAR);
  if (raw === undefined || raw === 'file:' || raw === 'file://') return { kind: 'local' };
  const shown = shownUrl(raw);
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw invalid(URL_VAR, shown, 'file:, azure-blob://<container>, https://<account>.blob.core.windows.net/<container> or s3://<bucket>');
  }
  if (u.username !== '' || u.password !== '') throw invalid(URL_VAR, shown, 'a URL without credentials (give them in MEDIABOT_STORAGE_AZURE_* or MEDIABOT_STORAGE_S3_*)');
  if (u.hash !== '') throw invalid(URL_VAR, shown, 'a URL without a #fragment');
  // The URL parser would quietly resolve `..`: refuse it rather than write somewhere unexpected.
  if (/(^|\/)(\.|%2e){1,2}(\/|$|\?)/i.test(raw.replace(/^[a-z0-9+.-]+:\/\//i, ''))) throw invalid(URL_VAR, shown, 'a key prefix of plain segments (no . or ..)');
  switch (u.protocol) {
    case 'azure-blob:':
      return azureByName(u, shown, get);
    case 'https:':
    case 'http:':
      return azureByUrl(u, shown, get);
    case 's3:':
      return s3Target(u, shown, get);
    default:
      throw invalid(URL_VAR, shown, 'file:, azure-blob://, https:// (Azure Blob Storage) or s3://');
  }
}

function azureByName(u: URL, shown: string, get: (k: string) => string | undefined): AzureBlobTarget {
  if (u.search !== '') throw invalid(URL_VAR, shown, 'azure-blob://<container>[/<prefix>] without a query');
  const container = u.hostname;
  if (!CONTAINER.test(container) || u.port !== '') throw invalid(URL_VAR, shown, 'azure-blob://<container> with a valid container name (3-63 lower-case letters, digits and single dashes)');
  const connectionString = get('MEDIABOT_STORAGE_AZURE_CONNECTION_STRING');
  if (connectionString === undefined) throw invalid('MEDIABOT_STORAGE_AZURE_CONNECTION_STRING', '', `a connection string when ${URL_VAR} is azure-blob://`);
  checkConnectionString(connectionString);
  return { kind: 'azure', container, prefix: parsePrefix(u.pathname, shown), connectionString };
}

function checkConnectionString(cs: string): void {
  const parts = new Map(
    cs
      .split(';')
      .filter((p) => p.trim() !== '')
      .map((p) => {
        const i = p.indexOf('=');
        return [i < 0 ? p : p.slice(0, i), i < 0 ? '' : p.slice(i + 1)] as const;
      }),
  );
  // Signed download URLs are made with the account key: a SAS-only connection string cannot make them.
  if (!parts.get('AccountName') || !parts.get('AccountKey')) throw invalid('MEDIABOT_STORAGE_AZURE_CONNECTION_STRING', '(hidden)', 'a connection string with AccountName and AccountKey');
  const endpoint = parts.get('BlobEndpoint');
  if (endpoint !== undefined && !/^https?:\/\/[^\s;]+$/.test(endpoint)) throw invalid('MEDIABOT_STORAGE_AZURE_CONNECTION_STRING', '(hidden)', 'a BlobEndpoint that is an http(s) URL');
}

function azureByUrl(u: URL, shown: string, get: (k: string) => string | undefined): AzureBlobTarget {
  if (u.search !== '') throw invalid(URL_VAR, shown, 'an Azure Blob Storage URL without a query (no SAS: give MEDIABOT_STORAGE_AZURE_ACCOUNT_KEY)');
  const segments = u.pathname.split('/').filter((s) => s !== '');
  const hostAccount = /^([a-z0-9]{3,24})\.blob\./.exec(u.hostname)?.[1];
  // Account in the host (Azure), or path-style in the first segment (Azurite, some emulators).
  const account = hostAccount ?? segments.shift();
  const container = segments.shift();
  if (account === undefined || !ACCOUNT.test(account)) throw invalid(URL_VAR, shown, 'https://<account>.blob.core.windows.net/<container>, or http://host:port/<account>/<container> for an emulator');
  if (container === undefined || !CONTAINER.test(container)) throw invalid(URL_VAR, shown, 'a URL naming a container (3-63 lower-case letters, digits and single dashes)');
  if (u.protocol === 'http:' && hostAccount !== undefined) throw invalid(URL_VAR, shown, 'https:// for Azure Blob Storage');
  const prefix = parsePrefix(segments.join('/'), shown);
  const serviceUrl = `${u.protocol}//${u.host}${hostAccount === undefined ? `/${account}` : ''}`;
  const accountKey = get('MEDIABOT_STORAGE_AZURE_ACCOUNT_KEY');
  const connectionString = get('MEDIABOT_STORAGE_AZURE_CONNECTION_STRING');
  if (accountKey !== undefined && connectionString !== undefined) throw invalid('MEDIABOT_STORAGE_AZURE_ACCOUNT_KEY', '(hidden)', 'unset when MEDIABOT_STORAGE_AZURE_CONNECTION_STRING is set (one of them)');
  if (connectionString !== undefined) {
    checkConnectionString(connectionString);
    return { kind: 'azure', container, prefix, connectionString };
  }
  if (accountKey === undefined) throw invalid('MEDIABOT_STORAGE_AZURE_ACCOUNT_KEY', '', `the storage account key when ${URL_VAR} is an Azure Blob Storage URL (or MEDIABOT_STORAGE_AZURE_CONNECTION_STRING)`);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(accountKey)) throw invalid('MEDIABOT_STORAGE_AZURE_ACCOUNT_KEY', '(hidden)', 'a base64 account key');
  return { kind: 'azure', container, prefix, serviceUrl, accountName: account, accountKey };
}

function s3Target(u: URL, shown: string, get: (k: string) => string | undefined): S3Target {
  const bucket = u.hostname;
  if (!BUCKET.test(bucket) || bucket.includes('..') || u.port !== '') throw invalid(URL_VAR, shown, 's3://<bucket> with a valid bucket name (3-63 lower-case letters, digits, dots and dashes)');
  const known = new Set(['region', 'endpoint', 'forcePathStyle']);
  for (const k of u.searchParams.keys()) if (!known.has(k)) throw invalid(URL_VAR, shown, `s3:// query parameters among region, endpoint, forcePathStyle (not ${k})`);
  const region = u.searchParams.get('region') ?? 'us-east-1';
  if (!/^[a-z0-9-]{2,40}$/.test(region)) throw invalid(URL_VAR, shown, 'region= an AWS region name like eu-west-1');
  const fps = u.searchParams.get('forcePathStyle');
  if (fps !== null && fps !== 'true' && fps !== 'false') throw invalid(URL_VAR, shown, 'forcePathStyle=true or false');
  const endpointRaw = u.searchParams.get('endpoint');
  let endpoint: string | undefined;
  if (endpointRaw !== null) {
    let e: URL;
    try {
      e = new URL(endpointRaw);
    } catch {
      throw invalid(URL_VAR, shown, 'endpoint= an http(s) URL');
    }
    if ((e.protocol !== 'http:' && e.protocol !== 'https:') || e.username !== '' || e.password !== '' || e.search !== '' || e.hash !== '') throw invalid(URL_VAR, shown, 'endpoint= an http(s) URL without credentials or query');
    endpoint = `${e.protocol}//${e.host}${e.pathname.replace(/\/+$/, '')}`;
  }
  const accessKeyId = get('MEDIABOT_STORAGE_S3_ACCESS_KEY_ID');
  const secretAccessKey = get('MEDIABOT_STORAGE_S3_SECRET_ACCESS_KEY');
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    const missing = accessKeyId === undefined ? 'MEDIABOT_STORAGE_S3_ACCESS_KEY_ID' : 'MEDIABOT_STORAGE_S3_SECRET_ACCESS_KEY';
    throw invalid(missing, '', 'set together with the other MEDIABOT_STORAGE_S3_* key (or neither, for the AWS default credentials)');
  }
  const out: S3Target = { kind: 's3', bucket, prefix: parsePrefix(u.pathname, shown), region, forcePathStyle: fps === 'true' };
  if (endpoint !== undefined) out.endpoint = endpoint;
  if (accessKeyId !== undefined && secretAccessKey !== undefined) {
    out.accessKeyId = accessKeyId;
    out.secretAccessKey = secretAccessKey;
  }
  return out;
}
