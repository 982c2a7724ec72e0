/**
 * `mediabot doctor` against the embedded emulator: the token's roles are decoded and checked per
 * feature, and the callback route of a started worker is probed.
 */
import { describe, expect, it } from 'vitest';
import { permissionChecks, runDoctor } from '../../../src/cli/doctor.js';
import { DEFAULT_ROLES } from '../../../testing/emulator/index.js';
import { testConfig } from './helpers.js';

describe('doctor', () => {
  it('passes against the emulator with every permission', async () => {
    const { checks, ok } = await runDoctor(testConfig());
    expect(ok).toBe(true);
    const byName = new Map(checks.map((c) => [c.name, c]));
    expect(byName.get('token')!.ok).toBe(true);
    for (const r of DEFAULT_ROLES) expect(byName.get('token')!.detail).toContain(r);
    expect(byName.get('callback route')!.ok).toBe(true);
    expect(byName.get('callback signing keys')!.ok).toBe(true);
    expect(checks.filter((c) => c.name.startsWith('permissions:')).every((c) => c.ok)).toBe(true);
  });

  it('fails and names what is missing when the app lacks media access', async () => {
    const { checks, ok } = await runDoctor(testConfig(), { roles: ['Calls.JoinGroupCall.All', 'OnlineMeetings.Read.All'] });
    expect(ok).toBe(false);
    const media = checks.find((c) => c.name === 'permissions: media access')!;
    expect(media.ok).toBe(false);
    expect(media.detail).toContain('missing Calls.AccessMedia.All');
    expect(checks.find((c) => c.name === 'permissions: joining meetings')!.ok).toBe(true);
    const calling = checks.find((c) => c.name === 'permissions: calling')!;
    expect(calling.ok).toBe(false);
    expect(calling.warning).toBe(true);
    expect(calling.detail).toContain('Calls.Initiate.All');
  });

  it('reads either-or permissions', () => {
    const checks = permissionChecks(['Presence.Read.All', 'Calls.JoinGroupCallAsGuest.All']);
    expect(checks.find((c) => c.name === 'permissions: presence')!.ok).toBe(true);
    expect(checks.find((c) => c.name === 'permissions: joining meetings')!.ok).toBe(true);
    expect(checks.find((c) => c.name === 'permissions: call records')!.detail).toContain('missing CallRecords.Read.All');
  });
});
