import { describe, expect, it } from 'vitest';
import { permissionChecks, rscCheck } from '../../../src/cli/doctor.js';

describe('doctor: meeting artifact permissions and their RSC variants', () => {
  it('lists the artifact permissions, missing ones as warnings', () => {
    const checks = permissionChecks(['Calls.JoinGroupCall.All', 'Calls.AccessMedia.All', 'OnlineMeetingTranscript.Read.All']);
    const by = (n: string) => checks.find((c) => c.name === `permissions: ${n}`)!;
    expect(by('Teams transcripts').ok).toBe(true);
    expect(by('attendance reports')).toMatchObject({ ok: false, warning: true });
    expect(by('attendance reports').detail).toContain('OnlineMeetingArtifact.Read.All');
    expect(by('Teams recordings').detail).toContain('missing OnlineMeetingRecording.Read.All');
  });

  it('names the resource-specific consent alternatives for what is missing', () => {
    const c = rscCheck(['Calls.AccessMedia.All']);
    expect(c.ok).toBeNull();
    expect(c.detail).toContain('Calls.JoinGroupCalls.Chat (instead of Calls.JoinGroupCall.All');
    expect(c.detail).not.toContain('Calls.AccessMedia.Chat');
    expect(rscCheck([]).detail).toContain('Calls.AccessMedia.Chat');
  });
});
