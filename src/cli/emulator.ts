/** `mediabot emulator`: the Graph emulator (published as mediabot/testing) as a standalone process, loaded on demand. */
export async function runEmulatorCommand(argv: string[]): Promise<number> {
  const { runEmulatorCommand: run } = await import('../../testing/emulator/cli.js');
  return run(argv);
}
