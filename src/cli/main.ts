import { isMediabotError } from '../errors.js';

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  rtp: async () => (await import('./rtp.js')).runRtpCommand,
  start: async () => (await import('./start.js')).runStartCommand,
  demo: async () => (await import('./demo.js')).runDemoCommand,
  doctor: async () => (await import('./doctor.js')).runDoctorCommand,
  emulator: async () => (await import('./emulator.js')).runEmulatorCommand,
  'bridge-sim': async () => (await import('./bridge-sim.js')).runBridgeSimCommand,
};

const USAGE = `usage: mediabot <command> [options]

commands:
  rtp       RTP/Opus audio conference mixer on a UDP port
  start     run the worker (with no Graph credentials: the demo against the embedded emulator; --keep-serving keeps the dashboard up after it)
  demo      join a simulated Teams meeting end to end and print what happened
  doctor    check configuration, token, permissions and the callback route (exit 0 pass, 1 fail, 2 bad config)
  emulator  run the embedded Graph emulator on its own
  bridge-sim  play the media sidecar's part of the bridge protocol against a mediabot (conformance peer)
`;

async function main(): Promise<number> {
  const [name, ...rest] = process.argv.slice(2);
  if (name === undefined || name === '--help' || name === '-h') {
    process.stdout.write(USAGE);
    return name === undefined ? 2 : 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`mediabot: unknown command "${name}"\n${USAGE}`);
    return 2;
  }
  const command = await load();
  return command(rest);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (isMediabotError(err)) {
      process.stderr.write(`mediabot: ${err.code}: ${err.message}\n`);
      process.exitCode = err.code === 'MEDIABOT_CONFIG_INVALID' ? 2 : 1;
    } else {
      process.stderr.write(`mediabot: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
