import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isMediabotError } from '../../../src/errors.js';
import { loadHooks } from '../../../src/media/hooks/loader.js';
import '../../../src/media/hooks/builtin/index.js';
import { azureSpeechFromEnv as azureFromEnv } from '../../../src/config/config.js';
import { checkHookModules, hooksForCall, parseHookModules, registerGlobalHook, resolveHooksFromConfig } from '../../../src/media/hooks/transcribe/engines.js';
import { HookRunner } from '../../../src/media/hooks/runner.js';
import type { MediaEvent } from '../../../src/media/hooks/api.js';
import { FrameFactory } from './frames.js';

const dir = mkdtempSync(join(tmpdir(), 'hook-registry-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function code(p: () => unknown): Promise<string | null> {
  try {
    await p();
    return null;
  } catch (e) {
    return isMediabotError(e) ? e.code : `untyped: ${String(e)}`;
  }
}

describe('hook registry', () => {
  it('resolves the built-ins from config as thread-safe specs, and they load into working hooks', async () => {
    const specs = resolveHooksFromConfig({ transcriber: 'ws', transcriberWsUrl: 'ws://127.0.0.1:1/stt', record: true, dataDir: dir });
    expect(specs.map((s) => ('builtin' in s ? s.builtin : s.module))).toEqual(['talk-events', 'speaker-timeline', 'analytics', 'recorder', 'transcribe', 'transcript']);
    expect(JSON.parse(JSON.stringify(specs))).toEqual(specs); // plain data
    const none = resolveHooksFromConfig({ transcriber: 'none', record: false, dataDir: dir });
    const hooks = await loadHooks(none, 'call-r');
    expect(hooks.map((h) => h.name)).toEqual(['talk-events', 'speaker-timeline', 'analytics']);
    const events: MediaEvent[] = [];
    const r = new HookRunner({ callId: 'call-r', hooks, emit: (e) => events.push(e) });
    const ff = new FrameFactory('call-r');
    for (let t = 0; t < 30; t++) r.onTick(ff.frame(t, [{ sourceId: 'a', talking: t < 20, levelDbov: -20 }]));
    await r.stop();
    expect(events.map((e) => e.type)).toEqual(['talk.start', 'speaker.dominant', 'talk.stop', 'analytics.snapshot']);
  });

  it('a bad transcriber setting is a typed config error naming the variable', async () => {
    expect(await code(() => resolveHooksFromConfig({ transcriber: 'ws', record: false, dataDir: dir }))).toBe('MEDIABOT_CONFIG_INVALID');
    expect(await code(() => resolveHooksFromConfig({ transcriber: 'azure', record: false, dataDir: dir }))).toBe('MEDIABOT_CONFIG_INVALID');
    expect(await code(() => resolveHooksFromConfig({ transcriber: 'whisper' as 'ws', record: false, dataDir: dir }))).toBe('MEDIABOT_CONFIG_INVALID');
    expect(azureFromEnv({ MEDIABOT_AZURE_SPEECH_KEY: 'k', MEDIABOT_AZURE_SPEECH_REGION: 'westeurope' })).toEqual({ key: 'k', region: 'westeurope' });
    expect(await code(() => resolveHooksFromConfig({ transcriber: 'azure', azure: azureFromEnv({ MEDIABOT_AZURE_SPEECH_KEY: 'k' }), record: false, dataDir: dir }))).toBe('MEDIABOT_CONFIG_INVALID');
  });

  it('loads user hooks from MEDIABOT_HOOKS module paths (default or named export)', async () => {
    writeFileSync(
      join(dir, 'my-hook.mjs'),
      `export default function (call) { return { name: 'mine-' + call.callId, onFrame(frame, ctx) { if (frame.tick === 0) ctx.emit({ type: 'talk.start', callId: ctx.callId, sourceId: 'user', mediaTimeMs: 0 }); } }; }
export const named = () => [{ name: 'named', onFrame() {} }];
export const notAFunction = 42;`,
    );
    const refs = parseHookModules('./my-hook.mjs, ./my-hook.mjs#named', dir);
    expect(refs).toEqual([{ module: join(dir, 'my-hook.mjs') }, { module: join(dir, 'my-hook.mjs'), export: 'named' }]);
    await checkHookModules(refs);
    const specs = resolveHooksFromConfig({ transcriber: 'none', record: false, dataDir: dir, hookModules: refs, talkEvents: false, speakerTimeline: false, analytics: false });
    const hooks = await loadHooks(specs, 'c1');
    expect(hooks.map((h) => h.name)).toEqual(['mine-c1', 'named']);
    const events: MediaEvent[] = [];
    const r = new HookRunner({ callId: 'c1', hooks, emit: (e) => events.push(e) });
    r.onTick(new FrameFactory('c1').frame(0, []));
    await r.stop();
    expect(events).toEqual([{ type: 'talk.start', callId: 'c1', sourceId: 'user', mediaTimeMs: 0 }]);
  });

  it('rejects bad MEDIABOT_HOOKS entries and modules with typed errors', async () => {
    writeFileSync(join(dir, 'broken.mjs'), 'export default {;');
    expect(await code(() => parseHookModules('./nope.js', dir))).toBe('MEDIABOT_CONFIG_INVALID');
    expect(await code(() => parseHookModules('./my-hook.mjs#', dir))).toBe('MEDIABOT_CONFIG_INVALID');
    expect(await code(() => parseHookModules('./my-hook.mjs,,', dir))).toBe('MEDIABOT_CONFIG_INVALID');
    expect(await code(() => checkHookModules(parseHookModules('./my-hook.mjs#notAFunction', dir)))).toBe('MEDIABOT_HOOK_MODULE_INVALID');
    expect(await code(() => checkHookModules(parseHookModules('./broken.mjs', dir)))).toBe('MEDIABOT_HOOK_MODULE_INVALID');
    expect(parseHookModules(undefined)).toEqual([]);
  });

  it('global hooks from code apply to every call in this thread, before the call own hooks', async () => {
    const off = registerGlobalHook(({ callId }) => ({ name: `global-${callId}`, onFrame() {} }));
    const own = { name: 'own', onFrame() {} };
    expect((await hooksForCall('x', [own])).map((h) => h.name)).toEqual(['global-x', 'own']);
    off();
    expect((await hooksForCall('y')).map((h) => h.name)).toEqual([]);
  });
});
