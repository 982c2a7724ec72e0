/** `mediabot bridge-sim`: the bridge conformance peer (published as mediabot/testing), loaded on demand. */
export async function runBridgeSimCommand(argv: string[]): Promise<number> {
  const { runBridgeSimCommand: run } = await import('../../testing/bridge-sim-cli.js');
  return run(argv);
}
