/**
 * `mediabot doctor`: checks the configuration, acquires a Graph token, lists per feature the
 * application permissions it needs and which the token lacks, checks that MEDIABOT_PUBLIC_URL is
 * https and that the callback route answers, and that the object storage (MEDIABOT_STORAGE_URL)
 * answers. With no credentials it runs against a started embedded emulator (and a worker on an ephemeral port). Exit codes: 0 pass, 1 fail, 2 bad config
 * (loadConfig throws MEDIABOT_CONFIG_INVALID, which the CLI maps to 2).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type MediabotConfig } from '../config/config.js';
import { isMediabotError } from '../errors.js';
import { createGraphFromConfig } from '../graph/from-config.js';
import { silentLogger } from '../logger.js';
import { CallbackTokenValidator } from '../signaling/jwt.js';
import { startMediabot, type ComposedMediabot, type MediabotOptions } from '../app/mediabot.js';
import { checkStorage } from '../storage/check.js';

/** Application permissions per feature (names from the Graph permissions reference). */
export const FEATURES: ReadonlyArray<{ feature: string; what: string; allOf?: string[]; anyOf?: string[]; required: boolean }> = [
  { feature: 'calling', what: 'place peer-to-peer and group calls', allOf: ['Calls.Initiate.All', 'Calls.InitiateGroupCall.All'], required: false },
  { feature: 'joining meetings', what: 'join Teams meetings (as a member or as a guest)', anyOf: ['Calls.JoinGroupCall.All', 'Calls.JoinGroupCallAsGuest.All'], required: true },
  { feature: 'IVR', what: 'recordResponse and subscribeToTone on service-hosted media', allOf: ['Calls.AccessMedia.All'], required: false },
  { feature: 'media access', what: 'app-hosted media: hear, record and transcribe participants', allOf: ['Calls.AccessMedia.All'], required: true },
  { feature: 'meetings', what: 'create (ReadWrite) or look up (Read) online meetings', anyOf: ['OnlineMeetings.ReadWrite.All', 'OnlineMeetings.Read.All'], required: false },
  { feature: 'presence', what: 'read (or set) users\u2019 presence', anyOf: ['Presence.Read.All', 'Presence.ReadWrite.All'], required: false },
  { feature: 'call records', what: 'fetch call records after calls end', allOf: ['CallRecords.Read.All'], required: false },
  { feature: 'attendance reports', what: 'read meetings\u2019 attendance reports and records', allOf: ['OnlineMeetingArtifact.Read.All'], required: false },
  { feature: 'Teams transcripts', what: 'read Teams\u2019 own meeting transcripts (and be told when one is ready)', allOf: ['OnlineMeetingTranscript.Read.All'], required: false },
  { feature: 'Teams recordings', what: 'read Teams\u2019 own meeting recordings (and be told when one is ready)', allOf: ['OnlineMeetingRecording.Read.All'], required: false },
];

/**
 * Resource-specific consent (RSC) permissions: granted per chat or team by its owner instead of
 * tenant-wide by an admin. They never appear in an app-only token's roles, so doctor lists them as
 * the alternative to grant when tenant-wide consent is not possible.
 */
export const RSC_ALTERNATIVES: ReadonlyArray<{ permission: string; instead: string; what: string }> = [
  { permission: 'Calls.JoinGroupCalls.Chat', instead: 'Calls.JoinGroupCall.All', what: 'join the calls and meetings of the chats that consented' },
  { permission: 'Calls.AccessMedia.Chat', instead: 'Calls.AccessMedia.All', what: 'access the media of those calls' },
  { permission: 'OnlineMeetingTranscript.Read.Chat', instead: 'OnlineMeetingTranscript.Read.All', what: 'read the transcripts of those chats\u2019 meetings' },
  { permission: 'OnlineMeetingRecording.Read.Chat', instead: 'OnlineMeetingRecording.Read.All', what: 'read the recordings of those chats\u2019 meetings' },
  { permission: 'OnlineMeetingArtifact.Read.Chat', instead: 'OnlineMeetingArtifact.Read.All', what: 'read the attendance reports of those chats\u2019 meetings' },
];

/** One informational line: the RSC permissions that can stand in for missing tenant-wide ones. */
export function rscCheck(roles: readonly string[]): Check {
  const have = new Set(roles);
  const wanted = RSC_ALTERNATIVES.filter((r) => !have.has(r.instead));
  const list = (wanted.length > 0 ? wanted : RSC_ALTERNATIVES).map((r) => `${r.permission} (instead of ${r.instead}: ${r.what})`).join('; ');
  return { name: 'resource-specific consent', ok: null, detail: `per-chat consent (RSC, in the Teams app manifest) can grant: ${list}` };
}

export interface Check {
  name: string;
  /** null: not applicable (skipped). */
  ok: boolean | null;
  detail: string;
  /** A failed check that only disables an optional feature. */
  warning?: boolean;
}

/** The payload of a JWT, without verifying it (doctor only reads the roles Graph granted). */
export function decodeJwtPayload(token: string): Record<string, unknown> {
  const part = token.split('.')[1];
  if (part === undefined) throw new Error('the access token is not a JWT');
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

export function permissionChecks(roles: readonly string[]): Check[] {
  const have = new Set(roles);
  return FEATURES.map((f) => {
    const missing = f.allOf ? f.allOf.filter((r) => !have.has(r)) : f.anyOf!.some((r) => have.has(r)) ? [] : [f.anyOf!.join(' or ')];
    const needs = f.allOf ? f.allOf.join(', ') : f.anyOf!.join(' or ');
    return {
      name: `permissions: ${f.feature}`,
      ok: missing.length === 0,
      detail: missing.length === 0 ? `${needs} (${f.what})` : `missing ${missing.join(', ')} (needs ${needs} to ${f.what})`,
      ...(f.required ? {} : { warning: true }),
    };
  });
}

async function callbackAnswers(url: string): Promise<Check> {
  try {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', signal: AbortSignal.timeout(10_000) });
    const body = (await res.json().catch(() => null)) as { error?: { code?: string } } | null;
    // Without a token, mediabot's callback route must refuse with its own error shape.
    if (res.status === 401 && body?.error?.code === 'MEDIABOT_CALLBACK_UNAUTHORIZED') return { name: 'callback route', ok: true, detail: `${url} answers (401 without a Graph token, as it should)` };
    return { name: 'callback route', ok: false, detail: `${url} answered ${res.status} ${body?.error?.code ?? ''}; expected mediabot's 401 MEDIABOT_CALLBACK_UNAUTHORIZED` };
  } catch (err) {
    return { name: 'callback route', ok: false, detail: `${url} is not reachable: ${(err as Error).message} (is mediabot running there?)` };
  }
}

/** `emulatorOptions` (tests): e.g. the roles the embedded emulator grants. */
export async function runDoctor(config: MediabotConfig, emulatorOptions: MediabotOptions['emulatorOptions'] = {}): Promise<{ checks: Check[]; ok: boolean }> {
  const checks: Check[] = [{ name: 'configuration', ok: true, detail: config.useEmulator ? 'valid; no Graph credentials: checking against the embedded Graph emulator' : `valid; tenant ${config.tenantId}, client ${config.clientId}` }];
  let worker: ComposedMediabot | null = null;
  let scratch: string | null = null;
  try {
    let cfg = config;
    // MEDIABOT_CA_FILE (a TLS-inspecting proxy, an emulator in another process); the embedded emulator adds its own below.
    let caPem: string | undefined = config.caPem;
    let callbackUrl: string | null = null;
    if (config.useEmulator) {
      scratch = mkdtempSync(join(tmpdir(), 'mediabot-doctor-'));
      worker = await startMediabot({ ...config, port: 0, dataDir: scratch, host: '127.0.0.1' }, { logger: silentLogger, subscribeCallRecords: false, emulatorOptions });
      cfg = worker.config;
      caPem = worker.caPem;
      callbackUrl = worker.callbackUri;
      checks.push({ name: 'embedded emulator', ok: true, detail: `Graph ${cfg.graphUrl}, worker ${worker.url}` });
    }

    if (cfg.tenantId === undefined || cfg.clientId === undefined || (cfg.clientSecret === undefined && cfg.clientCert === undefined)) {
      checks.push({ name: 'credentials', ok: false, detail: 'MEDIABOT_TENANT_ID, MEDIABOT_CLIENT_ID and MEDIABOT_CLIENT_SECRET (or MEDIABOT_CLIENT_CERT) must all be set' });
    } else {
      const bundle = createGraphFromConfig(cfg, { ...(caPem !== undefined ? { caPem } : {}), retry: { maxAttempts: 2 } });
      try {
        const token = await bundle.tokens.getToken();
        const payload = decodeJwtPayload(token);
        const roles = Array.isArray(payload['roles']) ? (payload['roles'] as unknown[]).filter((r): r is string => typeof r === 'string') : [];
        checks.push({ name: 'token', ok: true, detail: `acquired from ${cfg.authorityUrl} for ${bundle.tokens.scope}; roles: ${roles.length ? roles.join(', ') : 'none'}` });
        checks.push(...permissionChecks(roles));
        checks.push(rscCheck(roles));
      } catch (err) {
        checks.push({ name: 'token', ok: false, detail: isMediabotError(err) ? `${err.code}: ${err.message}` : String(err) });
      } finally {
        bundle.http.close();
      }
    }

    const validator = new CallbackTokenValidator({ openIdConfigUrl: cfg.callbackOpenIdUrl, audience: cfg.clientId ?? 'unknown', ...(caPem !== undefined ? { caPem } : {}) });
    const keys = await validator.warm();
    checks.push({ name: 'callback signing keys', ok: keys, detail: keys ? `loaded from ${cfg.callbackOpenIdUrl}` : `could not load ${cfg.callbackOpenIdUrl}` });

    if (config.useEmulator) {
      checks.push({ name: 'public URL', ok: null, detail: 'not needed: the embedded emulator posts to the local worker' });
    } else if (cfg.publicUrl === undefined) {
      checks.push({ name: 'public URL', ok: false, detail: 'MEDIABOT_PUBLIC_URL is not set: Graph needs an https URL to post callbacks to' });
    } else if (!cfg.publicUrl.startsWith('https://')) {
      checks.push({ name: 'public URL', ok: false, detail: `MEDIABOT_PUBLIC_URL=${cfg.publicUrl} must be https (Graph only posts to https)` });
    } else {
      checks.push({ name: 'public URL', ok: true, detail: cfg.publicUrl });
      callbackUrl = `${cfg.publicUrl}/api/calling`;
    }
    if (callbackUrl !== null) checks.push(await callbackAnswers(callbackUrl));
    checks.push({ name: 'object storage', ...(await checkStorage(config.storage.target, config.dataDir)) });
  } catch (err) {
    checks.push({ name: 'doctor', ok: false, detail: isMediabotError(err) ? `${err.code}: ${err.message}` : String(err) });
  } finally {
    await worker?.close().catch(() => undefined);
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
  return { checks, ok: checks.every((c) => c.ok !== false || c.warning === true) };
}

export async function runDoctorCommand(argv: string[] = []): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write('usage: mediabot doctor\n  exit codes: 0 pass, 1 fail, 2 bad configuration\n');
    return 0;
  }
  const config = loadConfig();
  const { checks, ok } = await runDoctor(config);
  for (const c of checks) {
    const mark = c.ok === null ? 'skip' : c.ok ? ' ok ' : c.warning ? 'warn' : 'FAIL';
    process.stdout.write(`[${mark}] ${c.name.padEnd(32)} ${c.detail}\n`);
  }
  process.stdout.write(ok ? 'doctor: all required checks passed\n' : 'doctor: some checks failed\n');
  return ok ? 0 : 1;
}
