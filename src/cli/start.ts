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

function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

/** Hangs up what is still active, then closes everything (the call artifacts get written). */
export async function drain(bot: Mediabot, timeoutMs = 15_000): Promise<void> {
  const active = bot.calls.list({ state: 'active' }).filter((c) => c.state !== 'terminating');
  await Promise.all(active.map((c) => bot.calls.hangUp(c.id).catch(() => undefined)));
  await Promise.race([
    Promise.all(active.map((c) => bot.calls.whenFinalized(c.id, timeoutMs).catch(() => undefined))),
    new Promise((r) => setTimeout(r, timeoutMs).unref()),
  ]);
  await bot.close();
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
  const sig = await untilSignal();
  out(`mediabot: ${sig}: hanging up and shutting down…`);
  await drain(bot);
  return 0;
}
