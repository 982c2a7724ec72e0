/**
 * `mediabot emulator`: the embedded Graph emulator as a standalone process. Prints the MEDIABOT_*
 * variables that point a worker at it and writes its CA certificate to a file.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { emulatorCliSettings, type EmulatorCliSettings } from '../../src/config/process-settings.js';
import { MediabotError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { createEmulator } from './server.js';

const USAGE = `usage: mediabot emulator [--port P] [--meeting] [--people N] [--speech-cache DIR]

Runs the Graph emulator on https://127.0.0.1:P (0 or absent: a free port) with its own CA.
Credentials come from MEDIABOT_TENANT_ID / MEDIABOT_CLIENT_ID / MEDIABOT_CLIENT_SECRET
(random ones are generated when unset). The CA certificate is written to
$MEDIABOT_DATA_DIR/emulator-ca.pem.

  --port P            HTTPS port (default 0)
  --meeting           create one online meeting at start and print its joinWebUrl
  --people N          simulated people in that meeting (0-4, default 3)
  --speech-cache DIR  where espeak-ng speech is cached
`;

function bad(message: string): MediabotError {
  return new MediabotError('MEDIABOT_CONFIG_INVALID', message);
}

export async function runEmulatorCommand(argv: string[], env: EmulatorCliSettings = emulatorCliSettings(), out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  let values: { port?: string; meeting?: boolean; people?: string; 'speech-cache'?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { port: { type: 'string' }, meeting: { type: 'boolean' }, people: { type: 'string' }, 'speech-cache': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (err) {
    throw bad(err instanceof Error ? err.message : String(err));
  }
  if (values.help) {
    out(USAGE);
    return 0;
  }
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!/^\d+$/.test(values.port ?? '0') || port > 65535) throw bad(`--port must be 0-65535 (got ${JSON.stringify(values.port)})`);
  const people = values.people === undefined ? 3 : Number(values.people);
  if (!/^\d$/.test(values.people ?? '3') || people > 4) throw bad(`--people must be 0-4 (got ${JSON.stringify(values.people)})`);

  const tenantId = env.tenantId ?? randomUUID();
  const clientId = env.clientId ?? randomUUID();
  const clientSecret = env.clientSecret ?? randomBytes(24).toString('base64url');
  const logger = createLogger(env.logLevel ?? 'info', 'emulator');
  const emulator = await createEmulator({
    tenantId,
    clientId,
    clientSecret,
    port,
    logger,
    ...(values['speech-cache'] !== undefined ? { speechCacheDir: resolve(values['speech-cache']) } : {}),
  });
  const dir = resolve(env.dataDir ?? './mediabot-data');
  mkdirSync(dir, { recursive: true });
  const caFile = join(dir, 'emulator-ca.pem');
  writeFileSync(caFile, emulator.caPem);
  const lines = [
    `Graph emulator listening on ${emulator.baseUrl}`,
    `  MEDIABOT_TENANT_ID=${tenantId}`,
    `  MEDIABOT_CLIENT_ID=${clientId}`,
    `  MEDIABOT_CLIENT_SECRET=${clientSecret}`,
    `  MEDIABOT_GRAPH_URL=${emulator.graphUrl}`,
    `  MEDIABOT_AUTHORITY_URL=${emulator.authorityUrl}`,
    `  MEDIABOT_CALLBACK_OPENID_URL=${emulator.callbackOpenIdUrl}`,
    `  CA certificate: ${caFile}`,
    `  control API: ${emulator.baseUrl}/_emulator/stats (Authorization: Bearer <control token>)`,
    `  control token: ${emulator.controlToken}`,
  ];
  if (values.meeting) lines.push(`  meeting joinWebUrl: ${emulator.createMeeting({ subject: 'Emulated meeting', people }).joinWebUrl}`);
  out(`${lines.join('\n')}\nCtrl-C to stop.\n`);
  await new Promise<void>((r) => {
    process.once('SIGINT', () => r());
    process.once('SIGTERM', () => r());
  });
  await emulator.close();
  return 0;
}
