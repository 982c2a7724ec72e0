/** `mediabot doctor` from the built CLI: exit 0 against the embedded emulator, 2 on a bad config. */
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

describe('mediabot doctor', () => {
  it('passes against the embedded emulator (no credentials)', async () => {
    const run = runCli(['doctor']);
    expect(await run.exit, run.stdout() + run.stderr()).toBe(0);
    expect(run.stdout()).toContain('[ ok ] callback route');
    expect(run.stdout()).toContain('doctor: all required checks passed');
  }, 60_000);

  it('exits 2 naming the variable on a bad config', async () => {
    const run = runCli(['doctor'], { MEDIABOT_RTP_PORTS: 'many' });
    expect(await run.exit).toBe(2);
    expect(run.stderr()).toContain('MEDIABOT_RTP_PORTS');
  }, 30_000);
});
