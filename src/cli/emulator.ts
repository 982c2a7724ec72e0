/**
 * `mediabot emulator`: runs the embedded Graph emulator on its own and prints the MEDIABOT_*
 * variables that point a separately started worker at it (plus its CA, written to a file).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createEmulator } from '../emulator/index.js';
import { MediabotError } from '../errors.js';
import { createLogger } from '../logger.js';

export async function runEmulatorCommand(argv: string[]): Promise<number> {
  let port = 0;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--port') {
      const v = argv[++i] ?? '';
      if (!/^\d+$/.test(v) || Number(v) > 65535) throw new MediabotError('MEDIABOT_CONFIG_INVALID', `--port must be 0-65535 (got ${JSON.stringify(v)})`);
      port = Number(v);
    } else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: mediabot emulator [--port N]\n');
      return 0;
    } else {
      throw new MediabotError('MEDIABOT_CONFIG_INVALID', `unknown option ${a}`);
    }
  }
  const tenantId = process.env['MEDIABOT_TENANT_ID'] || randomUUID();
  const clientId = process.env['MEDIABOT_CLIENT_ID'] || randomUUID();
  const clientSecret = process.env['MEDIABOT_CLIENT_SECRET'] || randomBytes(24).toString('base64url');
  const emulator = await createEmulator({ tenantId, clientId, clientSecret, port, logger: createLogger(process.env['MEDIABOT_LOG_LEVEL'] ?? 'info', 'emulator') });
  const dir = resolve(process.env['MEDIABOT_DATA_DIR'] || './mediabot-data');
  mkdirSync(dir, { recursive: true });
  const caFile = join(dir, 'emulator-ca.pem');
  writeFileSync(caFile, emulator.caPem);
  process.stdout.write(
    [
      `Graph emulator listening on ${emulator.baseUrl}`,
      `  MEDIABOT_TENANT_ID=${tenantId}`,
      `  MEDIABOT_CLIENT_ID=${clientId}`,
      `  MEDIABOT_CLIENT_SECRET=${clientSecret}`,
      `  MEDIABOT_GRAPH_URL=${emulator.graphUrl}`,
      `  MEDIABOT_AUTHORITY_URL=${emulator.authorityUrl}`,
      `  MEDIABOT_CALLBACK_OPENID_URL=${emulator.callbackOpenIdUrl}`,
      `  CA certificate: ${caFile} (e.g. NODE_EXTRA_CA_CERTS=${caFile})`,
      'Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  await new Promise<void>((r) => {
    process.once('SIGINT', () => r());
    process.once('SIGTERM', () => r());
  });
  await emulator.close();
  return 0;
}
