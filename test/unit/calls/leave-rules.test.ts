import { describe, expect, it } from 'vitest';
import { LEAVE_DEFAULTS, leaveSettingsFromEnv, type LeaveSettings } from '../../../src/config/leave-settings.js';
import { loadConfig } from '../../../src/config/config.js';
import { parseLeaveOverride, resolveLeave } from '../../../src/calls/leave/input.js';
import { LeaveRuleEngine } from '../../../src/calls/leave/rules.js';

const OFF: LeaveSettings = { whenAloneS: 0, noOneJoinedS: 0, silenceS: 0, silenceGraceS: 0, maxDurationS: 0, lobbyTimeoutS: 0 };
const S = 1000;

/** An engine on a fake clock: `at(ms)` moves time, `due()` asks at the current time. */
function engine(settings: Partial<LeaveSettings>, hearsMedia = true) {
  let now = 0;
  const e = new LeaveRuleEngine({ ...OFF, ...settings }, hearsMedia);
  return {
    e,
    at(ms: number) {
      now = ms;
      return this;
    },
    due: () => e.due(now)?.reasonCode ?? null,
  };
}

describe('leave rules on a fake clock', () => {
  it('leaves when alone: only after someone was there, only humans count, and a rejoin cancels it', () => {
    const t = engine({ whenAloneS: 30 });
    t.e.onPhase('inCall', 0);
    t.e.onHumans(0, 0);
    expect(t.at(3600 * S).due()).toBeNull(); // nobody ever came: that is the other rule's job
    t.e.onHumans(2, 3600 * S);
    t.e.onHumans(0, 3700 * S);
    expect(t.e.nextDeadline()).toBe(3730 * S);
    expect(t.at(3729 * S).due()).toBeNull();
    t.e.onHumans(1, 3729 * S); // someone came back just in time
    expect(t.at(3800 * S).due()).toBeNull();
    t.e.onHumans(0, 3800 * S);
    expect(t.at(3830 * S).due()).toBe('MEDIABOT_LEFT_ALONE');
    // Once decided, the engine is done.
    expect(t.at(9999 * S).due()).toBeNull();
  });

  it('leaves when no one joined within the time, counted from entering the call', () => {
    const t = engine({ noOneJoinedS: 60, whenAloneS: 5 });
    t.e.onPhase('connecting', 0);
    expect(t.e.nextDeadline()).toBeNull();
    t.e.onPhase('inCall', 10 * S);
    expect(t.at(69 * S).due()).toBeNull();
    expect(t.at(70 * S).due()).toBe('MEDIABOT_NO_ONE_JOINED');
    const joined = engine({ noOneJoinedS: 60 });
    joined.e.onPhase('inCall', 0);
    joined.e.onHumans(1, 59 * S);
    expect(joined.at(1000 * S).due()).toBeNull();
  });

  it('leaves after silence: after the grace period, reset by talk, never while someone talks, never without media', () => {
    const t = engine({ silenceS: 60, silenceGraceS: 120 });
    t.e.onPhase('inCall', 0);
    t.e.onHumans(3, 0);
    expect(t.e.nextDeadline()).toBe(180 * S); // grace, then a full silence period
    t.e.onTalking(true, 170 * S);
    expect(t.e.nextDeadline()).toBeNull(); // someone is talking
    expect(t.at(500 * S).due()).toBeNull();
    t.e.onTalking(false, 500 * S);
    expect(t.at(559 * S).due()).toBeNull();
    expect(t.at(560 * S).due()).toBe('MEDIABOT_LEFT_SILENCE');
    const deaf = engine({ silenceS: 60 }, false);
    deaf.e.onPhase('inCall', 0);
    expect(deaf.at(10_000 * S).due()).toBeNull();
  });

  it('leaves at the maximum duration whatever else happens', () => {
    const t = engine({ maxDurationS: 7200, silenceS: 600 });
    t.e.onPhase('inCall', 5 * S);
    t.e.onHumans(4, 5 * S);
    t.e.onTalking(true, 6 * S);
    expect(t.at(7204 * S).due()).toBeNull();
    expect(t.at(7205 * S).due()).toBe('MEDIABOT_LEFT_MAX_DURATION');
  });

  it('leaves the lobby after the lobby timeout; being admitted stops it', () => {
    const t = engine({ lobbyTimeoutS: 300, noOneJoinedS: 10 });
    t.e.onPhase('connecting', 0);
    t.e.onPhase('inLobby', 2 * S);
    expect(t.e.nextDeadline()).toBe(302 * S);
    expect(t.at(301 * S).due()).toBeNull();
    expect(t.at(302 * S).due()).toBe('MEDIABOT_LOBBY_TIMEOUT');
    const admitted = engine({ lobbyTimeoutS: 300 });
    admitted.e.onPhase('inLobby', 0);
    admitted.e.onPhase('connecting', 100 * S);
    admitted.e.onPhase('inCall', 101 * S);
    expect(admitted.at(1000 * S).due()).toBeNull();
  });

  it('picks the earliest due rule, and a tie by rule order; 0 turns a rule off', () => {
    const t = engine({ whenAloneS: 10, maxDurationS: 100 });
    t.e.onPhase('inCall', 0);
    t.e.onHumans(1, 0);
    t.e.onHumans(0, 90 * S);
    // Both are due at 100 s: the roster rule wins the tie.
    expect(t.at(200 * S).due()).toBe('MEDIABOT_LEFT_ALONE');
    const off = engine({});
    off.e.onPhase('inCall', 0);
    expect(off.e.nextDeadline()).toBeNull();
  });

  it('explains each decision with the configured time', () => {
    const t = engine({ whenAloneS: 45 });
    t.e.onPhase('inCall', 0);
    t.e.onHumans(1, 0);
    t.e.onHumans(0, 0);
    const d = t.e.due(45 * S);
    expect(d).toMatchObject({ reasonCode: 'MEDIABOT_LEFT_ALONE', atMs: 45 * S });
    expect(d!.explanation).toContain('45 s');
  });
});

describe('leave settings: config and per-call input', () => {
  it('has documented defaults, reads MEDIABOT_LEAVE_* and MEDIABOT_LOBBY_TIMEOUT_S, refuses bad values naming the variable', () => {
    expect(loadConfig({}).leave).toEqual(LEAVE_DEFAULTS);
    const c = loadConfig({ MEDIABOT_LEAVE_WHEN_ALONE_S: '0', MEDIABOT_LEAVE_SILENCE_S: '1.5', MEDIABOT_LOBBY_TIMEOUT_S: '120' });
    expect(c.leave).toMatchObject({ whenAloneS: 0, silenceS: 1.5, lobbyTimeoutS: 120, maxDurationS: LEAVE_DEFAULTS.maxDurationS });
    for (const [name, value] of [['MEDIABOT_LEAVE_MAX_DURATION_S', '-1'], ['MEDIABOT_LOBBY_TIMEOUT_S', 'ten'], ['MEDIABOT_LEAVE_NO_ONE_JOINED_S', '9999999']]) {
      let err: unknown;
      try {
        leaveSettingsFromEnv((k) => (k === name ? value : undefined));
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: 'MEDIABOT_CONFIG_INVALID', details: { variable: name } });
    }
  });

  it('validates a per-call override and lays it over the defaults', () => {
    expect(resolveLeave(LEAVE_DEFAULTS, parseLeaveOverride({ whenAloneS: 2, maxDurationS: 0 }))).toEqual({ ...LEAVE_DEFAULTS, whenAloneS: 2, maxDurationS: 0 });
    expect(parseLeaveOverride(undefined)).toEqual({});
    for (const bad of [[], 'x', { whenAlone: 3 }, { silenceS: -1 }, { silenceS: '3' }, { lobbyTimeoutS: Number.POSITIVE_INFINITY }]) {
      expect(() => parseLeaveOverride(bad)).toThrow(expect.objectContaining({ code: 'MEDIABOT_BAD_REQUEST' }));
    }
  });
});

describe('the registry: the inLobby state and an own end reason', () => {
  it('moves establishing → inLobby → establishing → established, and ends with the reason code mediabot gave', async () => {
    const { CallRegistry } = await import('../../../src/signaling/registry.js');
    const { EventBus } = await import('../../../src/events/bus.js');
    const bus = new EventBus();
    const events: any[] = [];
    bus.on((e) => events.push(e));
    const r = new CallRegistry({ bus });
    r.track('c1');
    expect(r.setLobby('c1', true)).toBe(true);
    expect(r.get('c1')?.state).toBe('inLobby');
    expect(r.setLobby('c1', true)).toBe(false);
    expect(r.setLobby('c1', false)).toBe(true);
    expect(r.get('c1')?.state).toBe('establishing');
    r.setLobby('c1', true);
    const base = { kind: 'callState', callId: 'c1', changeType: 'updated', resultInfo: null, terminationReason: null, transfer: null, etag: null } as const;
    r.apply({ ...base, state: 'established' });
    expect(r.get('c1')?.state).toBe('established');
    // Once in the call, a lobby flag changes nothing.
    expect(r.setLobby('c1', true)).toBe(false);
    r.setOwnEndReason('c1', { reasonCode: 'MEDIABOT_LEFT_ALONE', explanation: 'mediabot left: alone.', hint: 'none' });
    r.apply({ ...base, state: 'terminated', resultInfo: { code: 200, subcode: 5001, message: 'The conversation has ended.' } });
    expect(r.get('c1')?.termination).toMatchObject({ code: 200, subcode: 5001, reasonCode: 'MEDIABOT_LEFT_ALONE', explanation: 'mediabot left: alone.' });
    expect(events.filter((e) => e.type === 'call.state').map((e) => e.state)).toEqual(['inLobby', 'establishing', 'inLobby', 'established', 'terminated']);
    expect(events.at(-1).reason).toMatchObject({ reasonCode: 'MEDIABOT_LEFT_ALONE', subcode: 5001 });
    // A call that ended by itself has no reason code.
    r.track('c2');
    r.apply({ ...base, callId: 'c2', state: 'terminated', resultInfo: { code: 200, subcode: 5002, message: 'all left' } });
    expect(r.get('c2')?.termination?.reasonCode).toBeNull();
  });
});
