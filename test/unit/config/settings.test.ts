import { describe, expect, it } from 'vitest';
import { loadConfig, parseHookModuleList, TRANSCRIBER_NAMES } from '../../../src/config/config.js';
import { bridgePeerToken, emulatorCliSettings, nativeKernelsEnabled, speechAssetsIgnored } from '../../../src/config/process-settings.js';

const codeOf = (f: () => unknown): unknown => {
  try {
    f();
  } catch (err) {
    return (err as { code?: unknown }).code;
  }
  return undefined;
};

describe('config: every environment setting in one object', () => {
  it('reads the Azure Speech settings and hook modules', () => {
    const c = loadConfig({ MEDIABOT_AZURE_SPEECH_KEY: 'k', MEDIABOT_AZURE_SPEECH_REGION: 'westeurope', MEDIABOT_HOOKS: './a.js, /abs/b.js#make' });
    expect(c.azureSpeech).toEqual({ key: 'k', region: 'westeurope' });
    expect(c.hookModules).toEqual([{ module: `${process.cwd()}/a.js` }, { module: '/abs/b.js', export: 'make' }]);
    const none = loadConfig({});
    expect(none.azureSpeech).toBeUndefined();
    expect(none.hookModules).toEqual([]);
  });

  it('refuses malformed MEDIABOT_HOOKS entries naming the variable', () => {
    expect(codeOf(() => loadConfig({ MEDIABOT_HOOKS: './a.js#' }))).toBe('MEDIABOT_CONFIG_INVALID');
    expect(codeOf(() => parseHookModuleList('./a.js,,'))).toBe('MEDIABOT_CONFIG_INVALID');
  });

  it("lets a command change the defaults of unset variables, never a variable's value", () => {
    expect(loadConfig({}, { transcriber: 'pocketsphinx', logLevel: 'warn' })).toMatchObject({ transcriber: 'pocketsphinx', logLevel: 'warn' });
    expect(loadConfig({ MEDIABOT_TRANSCRIBER: 'none', MEDIABOT_LOG_LEVEL: 'debug' }, { transcriber: 'pocketsphinx', logLevel: 'warn' })).toMatchObject({ transcriber: 'none', logLevel: 'debug' });
    expect(codeOf(() => loadConfig({ MEDIABOT_TRANSCRIBER: 'whisper' }))).toBe('MEDIABOT_CONFIG_INVALID');
    expect(TRANSCRIBER_NAMES).toEqual(['none', 'pocketsphinx', 'azure', 'ws']);
  });

  it('reads the settings of code that runs without a config', () => {
    expect(nativeKernelsEnabled({})).toBe(true);
    expect(nativeKernelsEnabled({ MEDIABOT_NATIVE: 'off' })).toBe(false);
    expect(codeOf(() => nativeKernelsEnabled({ MEDIABOT_NATIVE: 'of' }))).toBe('MEDIABOT_CONFIG_INVALID');
    expect(speechAssetsIgnored({ MEDIABOT_IGNORE_SPEECH_ASSETS: '1' })).toBe(true);
    expect(speechAssetsIgnored({})).toBe(false);
    expect(bridgePeerToken({ MEDIABOT_API_TOKEN: 'api', MEDIABOT_BRIDGE_TOKEN: '' })).toBe('api');
    expect(bridgePeerToken({ MEDIABOT_API_TOKEN: 'api', MEDIABOT_BRIDGE_TOKEN: 'bridge' })).toBe('bridge');
    expect(emulatorCliSettings({ MEDIABOT_TENANT_ID: 't', MEDIABOT_CLIENT_ID: '' })).toMatchObject({ tenantId: 't', clientId: undefined });
  });
});
