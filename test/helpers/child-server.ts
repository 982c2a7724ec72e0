/**
 * A server the tests run as a child process on a fixed port, which they can stop (SIGKILL) and
 * start again on the same port: redis-server for the fleet tests, Azurite for the storage tests.
 */
import type { ChildProcess } from 'node:child_process';

export interface RestartableChild {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * `launch` spawns the server (stdout and stderr piped); `ready` polls whether it answers.
 * `start` waits for `ready` up to `timeoutMs`, and fails with the server's last output if it exits first.
 */
export function restartableChild(name: string, launch: () => ChildProcess, ready: () => Promise<boolean>, timeoutMs: number, pollMs: number): RestartableChild {
  let child: ChildProcess | null = null;
  return {
    async start() {
      let out = '';
      const c = launch();
      const keep = (d: Buffer): void => void (out = (out + d.toString()).slice(-4000));
      c.stdout?.on('data', keep);
      c.stderr?.on('data', keep);
      child = c;
      const deadline = Date.now() + timeoutMs;
      while (!(await ready())) {
        if (c.exitCode !== null || Date.now() > deadline) throw new Error(`${name} did not start:\n${out}`);
        await new Promise((r) => setTimeout(r, pollMs));
      }
    },
    async stop() {
      const c = child;
      child = null;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise<void>((r) => c.once('exit', () => r()));
      c.kill('SIGKILL');
      await exited;
    },
  };
}
