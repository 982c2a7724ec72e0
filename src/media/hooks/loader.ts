import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { MediabotError } from '../../errors.js';
import type { Hook, HookFactory } from './api.js';
import type { HookSpec } from '../session/spec.js';

/** Built-in hook factories, registered by the hooks module (src/media/hooks/builtin/index.ts). */
const builtins = new Map<string, HookFactory>();

export function registerBuiltinHook(name: string, factory: HookFactory): void {
  builtins.set(name, factory);
}

/** Turns hook specs into hook instances for one call, inside the media thread. */
export async function loadHooks(specs: readonly HookSpec[], callId: string): Promise<Hook[]> {
  const out: Hook[] = [];
  for (const spec of specs) {
    let factory: HookFactory | undefined;
    if ('builtin' in spec) {
      factory = builtins.get(spec.builtin);
      if (!factory) throw new MediabotError('MEDIABOT_HOOK_FAILED', `unknown built-in hook "${spec.builtin}" (known: ${[...builtins.keys()].join(', ') || 'none'})`);
    } else {
      const url = spec.module.startsWith('file:') ? spec.module : pathToFileURL(resolve(spec.module)).href;
      const mod = (await import(url)) as Record<string, unknown>;
      const f = mod[spec.export ?? 'default'];
      if (typeof f !== 'function') throw new MediabotError('MEDIABOT_HOOK_FAILED', `hook module ${spec.module} does not export a factory "${spec.export ?? 'default'}"`);
      factory = f as HookFactory;
    }
    const made = await factory({ ...(spec.options ?? {}), callId });
    if (made === null || made === undefined) continue;
    out.push(...(Array.isArray(made) ? made : [made]));
  }
  return out;
}
