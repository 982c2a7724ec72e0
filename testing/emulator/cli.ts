/**
 * `mediabot emulator`: the embedded Graph emulator as a standalone process, for running workers
 * (`mediabot start`, in other processes) against it the way they run against a test tenant. Prints
 * the MEDIABOT_* variables that point a worker at it, the CA included (MEDIABOT_CA_FILE), and its
 * control API; `--meeting --hold` holds a meeting that stays up until it is ended.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { emulatorCliSettings, type EmulatorCliSettings } from '../../src/config/process-settings.js';
import { MediabotError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { createEmulator } from './server.js';

const USAGE = `usage: mediabot emulator [--port P] [--meeting [--hold]] [--people N] [--speech-cache DIR]

Runs the Graph emulator on https://127.0.0.1:P (0 or absent: a free port) with its own CA.
Credentials come from MEDIABOT_TENANT_ID / MEDIABOT_CLIENT_ID / MEDIABOT_CLIENT_SECRET
(random ones are generated when unset). The CA certificate is written to
$MEDIABOT_DATA_DIR/emulator-ca.pem; a worker trusts it with MEDIABOT_CA_FILE. It prints the
MEDIABOT_* variables a worker (mediabot start, in another process) needs, and its control API.

  --port P            HTTPS port (default 0)
  --meeting           create one online meeting at start and print its joinWebUrl
  --hold              that meeting stays up after its people finished speaking, until it is
                      ended (POST /_emulator/meetings/{id}/end); without it, it ends once they left
  --people N          simulated people in that meeting (0-4, default 3)
  --speech-cache DIR  where espeak-ng speech is cached
`;

/** The control routes an operator needs, as printed (all take the control token as a bearer token). */
export const PRINTED_CONTROL_ROUTES = [
  'GET  /_emulator/stats                   token, Graph and notification counters',
  'GET  /_emulator/calls                   every call: id, state, kind, direction',
  'GET  /_emulator/calls/{id}              one call: roster, operations, media stats, speech script',
  'POST /_emulator/calls/{id}/hangUp       the far end hangs up that call',
  'POST /_emulator/meetings                create a meeting {subject?, people?, endWhenEmpty?} -> joinWebUrl',
  'POST /_emulator/meetings/{id}/end       end a meeting: every bot call in it terminates',
  'POST /_emulator/incomingCalls           ring a worker {callbackUri, from?}',
  'POST /_emulator/faults                  inject throttling or 5xx {status, count, pathContains?}',
] as const;

function bad(message: string): MediabotError {
  return new MediabotError('MEDIABOT_CONFIG_INVALID', message);
}

export async function runEmulatorCommand(argv: string[], env: EmulatorCliSettings = emulatorCliSettings(), out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  let values: { port?: string; meeting?: boolean; hold?: boolean; people?: string; 'speech-cache'?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { port: { type: 'string' }, meeting: { type: 'boolean' }, hold: { type: 'boolean' }, people: { type: 'string' }, 'speech-cache': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
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
  if (values.hold && !values.meeting) throw bad('--hold applies to the meeting --meeting creates: give both');
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
    '',
    'A worker in another process (mediabot start) talks to it with these settings:',
    `  MEDIABOT_TENANT_ID=${tenantId}`,
    `  MEDIABOT_CLIENT_ID=${clientId}`,
    `  MEDIABOT_CLIENT_SECRET=${clientSecret}`,
    `  MEDIABOT_GRAPH_URL=${emulator.graphUrl}`,
    `  MEDIABOT_AUTHORITY_URL=${emulator.authorityUrl}`,
    `  MEDIABOT_CALLBACK_OPENID_URL=${emulator.callbackOpenIdUrl}`,
    `  MEDIABOT_CA_FILE=${caFile}`,
    '  MEDIABOT_API_TOKEN=<at least 32 characters of your own: a worker with Graph credentials requires one>',
    `CA certificate: ${caFile} (the worker trusts it through MEDIABOT_CA_FILE)`,
    '',
    `Control API: ${emulator.baseUrl}/_emulator/… with Authorization: Bearer <control token>`,
    `  control token: ${emulator.controlToken}`,
    ...PRINTED_CONTROL_ROUTES.map((r) => `  ${r}`),
  ];
  if (values.meeting) {
    const meeting = emulator.createMeeting({ subject: 'Emulated meeting', people, endWhenEmpty: !values.hold });
    lines.push(
      '',
      `meeting id: ${meeting.id}`,
      `  meeting joinWebUrl: ${meeting.joinWebUrl}`,
      values.hold ? `  held: it stays up until POST ${emulator.baseUrl}/_emulator/meetings/${meeting.id}/end` : '  it ends once its people have spoken and left',
    );
  }
  out(`${lines.join('\n')}\nCtrl-C to stop.\n`);
  await new Promise<void>((r) => {
    process.once('SIGINT', () => r());
    process.once('SIGTERM', () => r());
  });
  await emulator.close();
  return 0;
}
