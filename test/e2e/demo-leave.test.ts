/**
 * `mediabot demo --leave-when-alone`, the built CLI as a user runs it: the simulated people leave
 * at the end of their script, and mediabot leaves by its own rule instead of hanging up, printing
 * the reason; the artifacts are written as on any end, and call.json carries the reason code.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDemoArgs } from '../../src/cli/demo.js';
import { runCli } from './helpers.js';

describe('mediabot demo --leave-when-alone', () => {
  it('parses the flag (and refuses a value for it)', () => {
    expect(parseDemoArgs(['--leave-when-alone'])).toMatchObject({ leaveWhenAlone: true });
    expect(parseDemoArgs([])).toMatchObject({ leaveWhenAlone: false });
    expect(() => parseDemoArgs(['--leave-when-alone=yes'])).toThrow(expect.objectContaining({ code: 'MEDIABOT_CONFIG_INVALID' }));
  });

  it('lets the people leave and the bot leave by its own rule, printing the reason', async () => {
    const run = runCli(['demo', '--media', 'bridge', '--participants', '1', '--leave-when-alone'], { MEDIABOT_TRANSCRIBER: 'none' });
    expect(await run.exit, `${run.stdout()}\n${run.stderr()}`).toBe(0);
    const out = run.stdout();
    expect(out).toContain('- Alice Moreno left');
    expect(out).toMatch(/call terminated: MEDIABOT_LEFT_ALONE: mediabot left: no human was left in the call for 3 s/);
    expect(out).toContain('mediabot left by its own rule: MEDIABOT_LEFT_ALONE');
    expect(out).not.toContain('hanging up');
    expect(out).not.toContain('playing a prompt');
    expect(out).toContain('demo finished.');
    const callId = /call id\s+(\S+)/.exec(out)![1]!;
    const call = JSON.parse(readFileSync(join(run.dataDir, 'calls', callId, 'call.json'), 'utf8'));
    expect(call.termination.reasonCode).toBe('MEDIABOT_LEFT_ALONE');
    // The person left before the bot did: the bot left 3 s after being alone, not at once and not never.
    const left = Number(/\[\s*([\d.]+)s\] - Alice Moreno left/.exec(out)![1]);
    const ended = Number(/\[\s*([\d.]+)s\] call terminated/.exec(out)![1]);
    expect(ended - left).toBeGreaterThanOrEqual(2.9);
    expect(ended - left).toBeLessThan(10);
  }, 120_000);
});
