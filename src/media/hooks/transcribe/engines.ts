/**
 * The transcription engines and the hook settings built from config. Each engine's module is
 * imported only when that engine is configured, so a media thread without Azure transcription
 * never loads the Azure Speech SDK.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseHookModuleList, type AzureSpeechSettings, type HookModuleRef, type TranscriberName } from '../../../config/config.js';
import { MediabotError } from '../../../errors.js';
import type { HookSpec } from '../../session/spec.js';
import type { Transcriber } from './types.js';
import type { Hook, HookFactory } from '../api.js';

export type { HookModuleRef, TranscriberName } from '../../../config/config.js';

const globalFactories: HookFactory[] = [];

/**
 * Library API: a factory applied to every call created *in this thread*
 * (in-process pipelines). Calls running in media worker threads get their
 * hooks from HookSpecs instead (see resolveHooksFromConfig and MEDIABOT_HOOKS),
 * because functions cannot cross the thread boundary. Returns an unregister function.
 */
export function registerGlobalHook(factory: HookFactory): () => void {
  if (typeof factory !== 'function') throw new MediabotError('MEDIABOT_HOOK_FAILED', 'registerGlobalHook needs a factory function');
  globalFactories.push(factory);
  return () => {
    const i = globalFactories.indexOf(factory);
    if (i >= 0) globalFactories.splice(i, 1);
  };
}

/** The hooks of one call: every global factory's hooks, then the call's own. */
export async function hooksForCall(callId: string, perCall: readonly Hook[] = []): Promise<Hook[]> {
  const out: Hook[] = [];
  for (const f of [...globalFactories]) {
    const made = await f({ callId });
    if (made === null || made === undefined) continue;
    out.push(...(Array.isArray(made) ? made : [made]));
  }
  return [...out, ...perCall];
}

export interface TranscriberConfig {
  transcriber: TranscriberName;
  /** For `ws`. */
  transcriberWsUrl?: string | undefined;
  /** For `azure`. */
  azure?: AzureSpeechSettings | undefined;
  /** For `pocketsphinx`: decoder arguments replacing the defaults. */
  pocketsphinxArgs?: string[] | undefined;
}

/**
 * Checks a transcriber config without loading any engine: true when it names an engine, false for
 * `none`. Throws MEDIABOT_CONFIG_INVALID naming what is missing.
 */
export function checkTranscriberConfig(c: TranscriberConfig): boolean {
  switch (c.transcriber) {
    case 'none':
      return false;
    case 'pocketsphinx':
      return true;
    case 'ws':
      if (c.transcriberWsUrl === undefined || !/^wss?:\/\//.test(c.transcriberWsUrl)) throw new MediabotError('MEDIABOT_CONFIG_INVALID', 'MEDIABOT_TRANSCRIBER_WS_URL must be a ws:// or wss:// URL when MEDIABOT_TRANSCRIBER=ws', { variable: 'MEDIABOT_TRANSCRIBER_WS_URL' });
      return true;
    case 'azure': {
      const a = c.azure;
      if (a === undefined || a.key === '') throw new MediabotError('MEDIABOT_CONFIG_INVALID', 'MEDIABOT_AZURE_SPEECH_KEY must be set when MEDIABOT_TRANSCRIBER=azure', { variable: 'MEDIABOT_AZURE_SPEECH_KEY' });
      if (a.region === undefined && a.endpoint === undefined) throw new MediabotError('MEDIABOT_CONFIG_INVALID', 'MEDIABOT_AZURE_SPEECH_REGION (or MEDIABOT_AZURE_SPEECH_ENDPOINT) must be set when MEDIABOT_TRANSCRIBER=azure', { variable: 'MEDIABOT_AZURE_SPEECH_REGION' });
      return true;
    }
    default:
      throw new MediabotError('MEDIABOT_CONFIG_INVALID', `unknown transcriber ${JSON.stringify(c.transcriber)}`, { variable: 'MEDIABOT_TRANSCRIBER' });
  }
}

/**
 * The Transcriber for a config, or null for `none`. The engine's module (and its SDK) is imported
 * here, on first use. Throws MEDIABOT_CONFIG_INVALID naming what is missing.
 */
export async function createTranscriber(c: TranscriberConfig): Promise<Transcriber | null> {
  if (!checkTranscriberConfig(c)) return null;
  switch (c.transcriber) {
    case 'pocketsphinx': {
      const { PocketsphinxTranscriber } = await import('./pocketsphinx.js');
      return new PocketsphinxTranscriber(c.pocketsphinxArgs === undefined ? {} : { args: c.pocketsphinxArgs });
    }
    case 'ws': {
      const { WsTranscriber } = await import('./ws.js');
      return new WsTranscriber({ url: c.transcriberWsUrl! });
    }
    case 'azure': {
      const { AzureSpeechTranscriber } = await import('./azure.js');
      return new AzureSpeechTranscriber(c.azure!);
    }
    default:
      return null;
  }
}

export interface HooksConfig extends TranscriberConfig {
  record: boolean;
  dataDir: string;
  /** Recording format; default 'ogg'. */
  recordFormat?: 'ogg' | 'wav' | 'both';
  /** User hook modules, e.g. from MEDIABOT_HOOKS. */
  hookModules?: readonly HookModuleRef[];
  /** Built-ins that are on by default; set false to leave one out. */
  talkEvents?: boolean;
  speakerTimeline?: boolean;
  analytics?: boolean;
  transcript?: boolean;
}

/**
 * Builds the per-call hook specs (plain data, so they cross into media
 * threads) from config: the built-ins by name (src/media/hooks/builtin/index.ts)
 * then the user modules. The transcriber is checked here so a bad setting
 * stops start-up instead of failing on the first call.
 */
export function resolveHooksFromConfig(c: HooksConfig): HookSpec[] {
  const specs: HookSpec[] = [];
  if (c.talkEvents !== false) specs.push({ builtin: 'talk-events' });
  if (c.speakerTimeline !== false) specs.push({ builtin: 'speaker-timeline' });
  if (c.analytics !== false) specs.push({ builtin: 'analytics' });
  if (c.record) specs.push({ builtin: 'recorder', options: { dir: resolve(c.dataDir, 'recordings'), format: c.recordFormat ?? 'ogg' } });
  if (checkTranscriberConfig(c)) {
    const options: Record<string, unknown> = { engine: c.transcriber };
    if (c.transcriberWsUrl !== undefined) options.url = c.transcriberWsUrl;
    if (c.azure !== undefined) options.azure = { ...c.azure };
    if (c.pocketsphinxArgs !== undefined) options.args = [...c.pocketsphinxArgs];
    specs.push({ builtin: 'transcribe', options });
    if (c.transcript !== false) specs.push({ builtin: 'transcript' });
  }
  for (const m of c.hookModules ?? []) specs.push(m.export === undefined ? { module: m.module } : { module: m.module, export: m.export });
  return specs;
}

/**
 * Parses MEDIABOT_HOOKS (see parseHookModuleList in config) and checks that each file exists.
 * Throws MEDIABOT_CONFIG_INVALID for an empty entry or a file that does not exist.
 */
export function parseHookModules(value: string | undefined, baseDir = process.cwd()): HookModuleRef[] {
  const refs = parseHookModuleList(value, baseDir);
  for (const r of refs) assertHookModuleExists(r);
  return refs;
}

function assertHookModuleExists(r: HookModuleRef): void {
  if (!existsSync(r.module)) throw new MediabotError('MEDIABOT_CONFIG_INVALID', `MEDIABOT_HOOKS module ${r.module} does not exist`, { variable: 'MEDIABOT_HOOKS' });
}

/**
 * Checks each hook module exists (MEDIABOT_CONFIG_INVALID otherwise), imports it once and checks
 * it exports a factory function, so a broken module fails at start-up with
 * MEDIABOT_HOOK_MODULE_INVALID, not on the first call.
 */
export async function checkHookModules(refs: readonly HookModuleRef[]): Promise<void> {
  for (const r of refs) {
    assertHookModuleExists(r);
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(r.module).href)) as Record<string, unknown>;
    } catch (err) {
      throw new MediabotError('MEDIABOT_HOOK_MODULE_INVALID', `hook module ${r.module} failed to load: ${(err as Error).message}`);
    }
    const name = r.export ?? 'default';
    if (typeof mod[name] !== 'function') throw new MediabotError('MEDIABOT_HOOK_MODULE_INVALID', `hook module ${r.module} does not export a factory function "${name}"`);
  }
}
