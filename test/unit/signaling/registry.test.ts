import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventBus, type MediabotEvent } from '../../../src/events/bus.js';
import { parseCallNotifications, type CallNotification } from '../../../src/signaling/notifications.js';
import { CallRegistry } from '../../../src/signaling/registry.js';
import { transition } from '../../../src/signaling/state-machine.js';
import { HAVE_VECTORS, loadVector } from './vectors.js';

function vectorItems(name: string, callId?: string): CallNotification[] {
  const items = parseCallNotifications(loadVector(name));
  return callId === undefined ? items : items.map((i) => ({ ...i, callId }) as CallNotification);
}

function collect(): { bus: EventBus; events: MediabotEvent[] } {
  const bus = new EventBus();
  const events: MediabotEvent[] = [];
  bus.on((e) => events.push(e));
  return { bus, events };
}

describe('state machine', () => {
  it('moves forward, sideways in-call, never back and never out of terminated', () => {
    expect(transition(null, 'incoming')).toEqual({ accepted: true, next: 'incoming' });
    expect(transition('incoming', 'establishing')).toEqual({ accepted: true, next: 'establishing' });
    expect(transition('establishing', 'established')).toEqual({ accepted: true, next: 'established' });
    expect(transition('established', 'establishing')).toEqual({ accepted: false, why: 'backwards' });
    expect(transition('established', 'hold')).toEqual({ accepted: true, next: 'hold' });
    expect(transition('hold', 'established')).toEqual({ accepted: true, next: 'established' });
    expect(transition('transferring', 'established')).toEqual({ accepted: true, next: 'established' });
    expect(transition('terminating', 'established')).toEqual({ accepted: false, why: 'backwards' });
    expect(transition('terminated', 'established')).toEqual({ accepted: false, why: 'terminated' });
    expect(transition('established', 'established')).toEqual({ accepted: false, why: 'same' });
    expect(transition('established', 'exploded')).toEqual({ accepted: false, why: 'unknown-state' });
  });
});

describe.skipIf(!HAVE_VECTORS)('registry driven by the vectors', () => {
  it('answer flow: incoming → establishing → established, a late establishing changes nothing', async () => {
    const { bus, events } = collect();
    const r = new CallRegistry({ bus });
    await r.enqueue(vectorItems('notification-call-answer-incoming.json'));
    await r.enqueue(vectorItems('notification-call-answer-establishing.json'));
    await r.enqueue(vectorItems('notification-call-answer-established.json'));
    await r.enqueue(vectorItems('notification-call-answer-establishing.json'));
    const call = r.get('57DAB8B1894C409AB240BD8BEAE78896');
    expect(call?.state).toBe('established');
    expect(call?.previousState).toBe('establishing');
    expect(events.filter((e) => e.type === 'call.state').map((e) => (e as { state: string }).state)).toEqual(['incoming', 'establishing', 'established']);
  });

  it('hang-up flow: terminating then terminated with explanation, and a late established stays terminated', async () => {
    const { bus, events } = collect();
    const r = new CallRegistry({ bus });
    const id = '57dab8b1-894c-409a-b240-bd8beae78896';
    r.track(id, { state: 'established' });
    await r.enqueue(vectorItems('notification-call-delete-terminating.json'));
    await r.enqueue(vectorItems('notification-call-delete-terminated.json'));
    await r.enqueue(vectorItems('notification-call-answer-established.json', id));
    const call = r.get(id)!;
    expect(call.state).toBe('terminated');
    expect(call.termination).toMatchObject({ code: 200, subcode: 5001, message: 'The conversation has ended.' });
    expect(call.termination?.explanation.length).toBeGreaterThan(5);
    const last = events.filter((e) => e.type === 'call.state').at(-1) as Extract<MediabotEvent, { type: 'call.state' }>;
    expect(last.state).toBe('terminated');
    expect(last.reason?.subcode).toBe(5001);
  });

  it('transfer flows: completed ends the call, failed returns to established', async () => {
    const r = new CallRegistry();
    const ok = '341a0500-d4bf-4224-8b19-1581168d328b';
    r.track(ok, { state: 'established' });
    await r.enqueue(vectorItems('notification-call-transfer-transferring.json'));
    expect(r.get(ok)?.state).toBe('transferring');
    await r.enqueue(vectorItems('notification-call-transfer-transfer-accepted.json'));
    expect(r.get(ok)?.transfer).toBe('transferAccepted');
    await r.enqueue(vectorItems('notification-call-transfer-transfer-completed.json'));
    expect(r.get(ok)).toMatchObject({ state: 'terminated', transfer: 'transferCompleted' });
    expect(r.get(ok)?.termination?.subcode).toBe(7015);

    const bad = 'failing-transfer';
    r.track(bad, { state: 'established' });
    await r.enqueue(vectorItems('notification-call-transfer-transferring.json', bad));
    await r.enqueue(vectorItems('notification-call-transfer-transfer-failed.json', bad));
    expect(r.get(bad)).toMatchObject({ state: 'established', transfer: 'transferFailed' });
    expect(r.get(bad)?.lastResult).toMatchObject({ code: 500, subcode: 7000 });
  });

  it('consultative transfer end by terminationReason is explained', async () => {
    const r = new CallRegistry();
    await r.enqueue(vectorItems('notification-call-transfer-consultative-completed.json'));
    const call = r.get('341a0500-d4bf-4224-8b19-1581168d328b')!;
    expect(call.state).toBe('terminated');
    expect(call.termination?.terminationReason).toBe('AppTransferred');
    expect(call.termination?.explanation).toMatch(/transfer/i);
  });

  it('an incoming call is still handled when a roster item for it came first', async () => {
    const r = new CallRegistry();
    const changed: boolean[] = [];
    r.use((item, _call, c) => {
      if (item.kind === 'incomingCall') changed.push(c);
    });
    const id = '57DAB8B1894C409AB240BD8BEAE78896';
    await r.enqueue(vectorItems('notification-call-unmute-roster-updated-participant-unmuted.json', id));
    await r.enqueue(vectorItems('notification-call-answer-incoming.json'));
    await r.enqueue(vectorItems('notification-call-answer-incoming.json'));
    expect(changed).toEqual([true, false]);
    expect(r.get(id)).toMatchObject({ state: 'incoming', direction: 'incoming' });
    expect(r.get(id)?.participants).toHaveLength(1);
  });

  it('reject flow: a deleted call without state is terminated', async () => {
    const r = new CallRegistry();
    await r.enqueue(vectorItems('notification-call-reject-incoming.json'));
    await r.enqueue(vectorItems('notification-call-reject-deleted.json'));
    expect(r.get('57dab8b1-894c-409a-b240-bd8beae78896')?.state).toBe('terminated');
  });

  it('roster: join, mute, unmute, leave', async () => {
    const { bus, events } = collect();
    const r = new CallRegistry({ bus });
    const id = '57dab8b1-894c-409a-b240-bd8beae78896';
    r.track(id, { state: 'established' });
    await r.enqueue(vectorItems('notification-call-unmute-roster-updated-participant-unmuted.json'));
    expect(r.get(id)?.participants).toEqual([
      { id: '2765eb15-01f8-47c6-b12b-c32111a4a86f', identityKind: 'user', identityId: '5810cede-f3cc-42eb-b2c1-e9bd5d53ec96', displayName: 'Bob', muted: false, inLobby: false, mediaTypes: ['audio'] },
    ]);
    await r.enqueue(vectorItems('notification-call-mute-roster-updated-participant-muted.json'));
    expect(r.get(id)?.participants[0]?.muted).toBe(true);
    await r.enqueue(vectorItems('notification-call-mute-roster-updated-participant-muted.json'));
    await r.enqueue(vectorItems('notification-call-unmute-roster-updated-participant-unmuted.json'));
    expect(r.get(id)?.participants[0]?.muted).toBe(false);
    const deleted = vectorItems('notification-call-unmute-roster-updated-participant-unmuted.json').map((i) => ({ ...i, changeType: 'deleted' }) as CallNotification);
    await r.enqueue(deleted);
    expect(r.get(id)?.participants).toEqual([]);
    const rosterEvents = events.filter((e) => e.type === 'call.roster') as Array<Extract<MediabotEvent, { type: 'call.roster' }>>;
    // join, mute, (replayed mute: nothing), unmute, leave
    expect(rosterEvents).toHaveLength(4);
    expect(rosterEvents[0]?.added).toEqual(['2765eb15-01f8-47c6-b12b-c32111a4a86f']);
    expect(rosterEvents[3]?.removed).toEqual(['2765eb15-01f8-47c6-b12b-c32111a4a86f']);
  });

  it('roster entries without a participant id are keyed by identity', async () => {
    const r = new CallRegistry();
    await r.enqueue(vectorItems('notification-participant-invite-multiple-roster-updated.json'));
    expect(r.get('7531d31f-d10d-44de-802f-c569dbca451c')?.participants.map((p) => p.id)).toEqual([
      'application:7e1b4346-85a6-4bdd-abe3-d11c5d420efe',
      'user:1e126418-44a0-4a94-a6f8-0efe1ad71acb',
    ]);
  });

  it('a tone is emitted once per sequence id', async () => {
    const { bus, events } = collect();
    const r = new CallRegistry({ bus });
    for (let i = 0; i < 3; i++) await r.enqueue(vectorItems('notification-call-subscribetotone-tone.json'));
    expect(events.filter((e) => e.type === 'call.tone')).toHaveLength(1);
    expect(r.get('57dab8b1-894c-409a-b240-bd8beae78896')?.state).toBe('established');
  });

  it('content sharing sessions start and end', async () => {
    const r = new CallRegistry();
    const id = '421f4c00-4436-4c3a-9d9a-c4924cf98e67';
    r.track(id, { state: 'established' });
    await r.enqueue(vectorItems('notification-create-call-content-sharing-started.json'));
    expect(r.get(id)?.contentSharingSessions).toHaveLength(1);
    await r.enqueue(vectorItems('notification-create-call-content-sharing-ended.json'));
    expect(r.get(id)?.contentSharingSessions).toEqual([]);
  });

  it('the same notification ten times gives one state change', async () => {
    const { bus, events } = collect();
    const r = new CallRegistry({ bus });
    const items = vectorItems('notification-create-call-established.json');
    await Promise.all(Array.from({ length: 10 }, () => r.enqueue(items)));
    expect(r.stateChanges).toBe(1);
    expect(events.filter((e) => e.type === 'call.state')).toHaveLength(1);
  });

  it('a replayed earlier in-call state does not undo a later one', async () => {
    const r = new CallRegistry();
    const established = vectorItems('notification-call-answer-established.json');
    await r.enqueue(established);
    const hold = established.map((i) => ({ ...i, state: 'hold', etag: 'W/"5446"' }) as CallNotification);
    await r.enqueue(hold);
    await r.enqueue(established); // a replay of the first notification
    expect(r.get('57DAB8B1894C409AB240BD8BEAE78896')?.state).toBe('hold');
  });
});

describe('registry ordering and robustness', () => {
  const stateItem = (callId: string, state: string, n: number): CallNotification => ({
    kind: 'callState',
    callId,
    changeType: state === 'terminated' ? 'deleted' : 'updated',
    state,
    resultInfo: null,
    terminationReason: null,
    transfer: null,
    etag: `W/"${n}"`,
  });

  it('processes each call in arrival order even when handlers are slow', async () => {
    const r = new CallRegistry();
    const seen: string[] = [];
    r.use(async (item) => {
      if (item.kind === 'callState' && item.state === 'establishing') await new Promise((res) => setTimeout(res, 20));
      if (item.kind === 'callState') seen.push(`${item.callId}:${item.state}`);
    });
    void r.enqueue([stateItem('a', 'establishing', 1)]);
    void r.enqueue([stateItem('b', 'established', 1)]);
    void r.enqueue([stateItem('a', 'established', 2)]);
    await r.idle();
    expect(seen).toEqual(['b:established', 'a:establishing', 'a:established']);
  });

  it('ends calls stuck before established, and only those', async () => {
    let t = Date.parse('2026-01-01T00:00:00Z');
    const r = new CallRegistry({ now: () => new Date(t) });
    await r.enqueue([stateItem('stuck', 'establishing', 1), stateItem('fine', 'established', 1)]);
    t += 5 * 60_000;
    expect(r.expireUnestablished(10 * 60_000)).toEqual([]);
    t += 6 * 60_000;
    expect(r.expireUnestablished(10 * 60_000)).toEqual(['stuck']);
    await r.idle();
    expect(r.get('stuck')).toMatchObject({ state: 'terminated', termination: { terminationReason: 'NeverEstablished' } });
    expect(r.get('stuck')?.termination?.explanation).toMatch(/never got established/);
    expect(r.get('fine')?.state).toBe('established');
  });

  it('a handler that throws does not stop later items', async () => {
    const r = new CallRegistry();
    r.use(() => {
      throw new Error('boom');
    });
    await r.enqueue([stateItem('x', 'establishing', 1), stateItem('x', 'established', 2)]);
    expect(r.get('x')?.state).toBe('established');
  });

  it('no sequence of states revives a terminated call', () => {
    const states = ['incoming', 'establishing', 'established', 'hold', 'transferring', 'transferAccepted', 'terminating', 'terminated', 'bogus'];
    fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...states), { minLength: 1, maxLength: 30 }), async (seq) => {
        const r = new CallRegistry();
        let terminated = false;
        for (const [n, s] of seq.entries()) {
          await r.enqueue([stateItem('c', s, n)]);
          const st = r.get('c')?.state;
          if (terminated) expect(st).toBe('terminated');
          if (st === 'terminated') terminated = true;
        }
      }),
      { numRuns: 200 },
    );
  });
});
