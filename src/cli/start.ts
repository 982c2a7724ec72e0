/**
 * `mediabot start`: runs mediabot. With Graph credentials it serves Graph callbacks, the operator
 * API, live events and the dashboard until SIGINT/SIGTERM. With none, it runs `mediabot demo`
 * against the embedded emulator to a clean exit (`--keep-serving` keeps the dashboard up
 * afterwards), so `npm start` on a fresh machine shows the whole job end to end.
 */
import { loadConfig } from '../config/config.js';
import { createLogger } from '../logger.js';
import { startMediabot } from '../app/mediabot.js';
import type { Mediabot } from '../app/api.js';
import { parseDemoArgs, runDemo } from './demo.js';

/** Resolves with the first SIGTERM/SIGINT; later ones go to `onLater` (the listener stays until `off()`). */
function signals(onLater: (sig: string, count: number) => void): { first: Promise<string>; off: () => void } {
  let count = 0;
  let resolveFirst: (sig: string) => void = () => {};
  const first = new Promise<string>((r) => (resolveFirst = r));
  const on = (sig: string): void => {
    count++;
    if (count === 1) resolveFirst(sig);
    else onLater(sig, count);
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return {
    first,
    off: () => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    },
  };
}

/**
 * The first SIGTERM or SIGINT drains (`Mediabot.drain()`: unready, no new calls, live calls go on
 * until they end or MEDIABOT_DRAIN_TIMEOUT_S passes); a second one hangs up now, still writing
 * every artifact; a third exits at once.
 */
export async function drainOnSignals(bot: Mediabot, out: (l: string) => void): Promise<number> {
  const s = signals((sig, count) => {
    if (count === 2) {
      out(`mediabot: ${sig} again: hanging up the live calls now (artifacts are still written); once more to exit at once.`);
      void bot.drain({ timeoutMs: 0 });
    } else {
      out(`mediabot: ${sig} a third time: exiting without waiting.`);
      process.exit(130);
    }
  });
  const sig = await s.first;
  const live = bot.calls.list({ state: 'active' }).length;
  out(`mediabot: ${sig}: draining: no new calls; waiting up to ${bot.config.drainTimeoutS} s for ${live} live call(s) to end (${sig === 'SIGINT' ? 'Ctrl-C' : 'SIGTERM or SIGINT'} again to hang up now).`);
  try {
    const r = await bot.drain();
    out(`mediabot: drained (${r.endedOnTheirOwn} call(s) ended on their own, ${r.hungUp} hung up); stopped.`);
    return 0;
  } finally {
    s.off();
  }
}

export async function runStartCommand(argv: string[]): Promise<number> {
  const config = loadConfig();
  const out = (l: string): void => {
    process.stdout.write(`${l}\n`);
  };
  let bot: Mediabot | null;
  if (config.useEmulator) {
    out('mediabot: no Graph credentials (MEDIABOT_CLIENT_ID / MEDIABOT_CLIENT_SECRET or MEDIABOT_CLIENT_CERT) are set: running the demo against the embedded Graph emulator.');
    const keepServing = argv.includes('--keep-serving');
    bot = await runDemo({ ...parseDemoArgs(argv.filter((a) => a !== '--keep-serving')), keepServing, out });
  } else {
    bot = await startMediabot(config, { logger: createLogger(config.logLevel) });
    out(`mediabot: listening on ${bot.url} (callbacks ${bot.callbackUri}); dashboard ${bot.url}/ · API docs ${bot.url}/docs`);
  }
  if (!bot) return 0;
  out(`mediabot: serving at ${bot.url} (dashboard ${bot.url}/); Ctrl-C to stop.`);
  const code = await drainOnSignals(bot, out);
  // Everything is closed; a handle some library left open must not keep a stopped pod running.
  setTimeout(() => process.exit(code), 5_000).unref();
  return code;
}
