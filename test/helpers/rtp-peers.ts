import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
export { LossyRelay, ffmpegSend, type RelayOptions } from '../../benchmarks/lib/rtp-peers.js';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** Starts `mediabot <args>` (the built CLI) and resolves once it prints a line matching `ready`. */
export async function startCli(args: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; match: RegExpMatchArray; output: () => string }> {
  const child = spawn(process.execPath, ['bin/mediabot.js', ...args], { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`CLI did not get ready: ${out}`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = out.match(ready);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    child.once('exit', (code) => reject(new Error(`CLI exited with ${code}: ${out}`)));
  });
  return { child, match, output: () => out };
}

