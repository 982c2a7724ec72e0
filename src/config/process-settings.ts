/**
 * Settings read from the environment by code that runs without a MediabotConfig: a media thread
 * loading the native kernels, and the testing tools' command lines (emulator, bridge peer). With
 * config.ts these are the only readers of `process.env`; everything else gets values passed down.
 */
import { MediabotError } from '../errors.js';

type Env = NodeJS.ProcessEnv;

const value = (env: Env, name: string): string | undefined => {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
};

/**
 * MEDIABOT_NATIVE: `off` forces the TypeScript and @discordjs/opus paths instead of the native
 * kernels (tests compare both); unset or `on` uses the kernels when they are built.
 */
export function nativeKernelsEnabled(env: Env = process.env): boolean {
  const v = value(env, 'MEDIABOT_NATIVE');
  if (v === undefined || v === 'on') return true;
  if (v === 'off') return false;
  throw new MediabotError('MEDIABOT_CONFIG_INVALID', `MEDIABOT_NATIVE=${JSON.stringify(v)} is invalid: expected on or off`, { variable: 'MEDIABOT_NATIVE' });
}

/** MEDIABOT_IGNORE_SPEECH_ASSETS=1: the emulator renders speech with espeak-ng instead of the shipped clips. */
export function speechAssetsIgnored(env: Env = process.env): boolean {
  return value(env, 'MEDIABOT_IGNORE_SPEECH_ASSETS') === '1';
}

/** The token a bridge peer presents when none is given: MEDIABOT_BRIDGE_TOKEN, else MEDIABOT_API_TOKEN. */
export function bridgePeerToken(env: Env = process.env): string | undefined {
  return value(env, 'MEDIABOT_BRIDGE_TOKEN') ?? value(env, 'MEDIABOT_API_TOKEN');
}

/** What `mediabot emulator` takes from the environment; unset fields get fresh values there. */
export interface EmulatorCliSettings {
  tenantId?: string | undefined;
  clientId?: string | undefined;
  clientSecret?: string | undefined;
  logLevel?: string | undefined;
  dataDir?: string | undefined;
}

export function emulatorCliSettings(env: Env = process.env): EmulatorCliSettings {
  return {
    tenantId: value(env, 'MEDIABOT_TENANT_ID'),
    clientId: value(env, 'MEDIABOT_CLIENT_ID'),
    clientSecret: value(env, 'MEDIABOT_CLIENT_SECRET'),
    logLevel: value(env, 'MEDIABOT_LOG_LEVEL'),
    dataDir: value(env, 'MEDIABOT_DATA_DIR'),
  };
}
