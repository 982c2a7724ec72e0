/**
 * The consent announcement's schedule: once at media start after the roster settled, again for
 * people who join later (debounced, never sooner than the repeat interval), never for the bot,
 * another application or someone in the lobby, held while the recording status is awaited, and
 * not at all when nothing is kept or it is turned off.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ConsentAnnouncer } from '../../../src/calls/consent/announcer.js';
import type { ConsentAnnouncement } from '../../../src/config/consent-settings.js';
import type { WorkerEvent } from '../../../src/events/live.js';
import { silentLogger } from '../../../src/logger.js';
import type { CallView, ParticipantView } from '../../../src/signaling/registry.js';

const person = (id: string, extra: Partial<ParticipantView> = {}): ParticipantView => ({ id, identityKind: 'user', identityId: id, displayName: id, muted: false, inLobby: false, mediaTypes: ['audio'], ...extra });

function setup(o: { keepsMedia?: boolean; held?: () => boolean; override?: ConsentAnnouncement | null; repeatMs?: number } = {}) {
  const view = { id: 'call-1', state: 'established', participants: [person('bot', { identityKind: 'application', identityId: 'app' })] } as unknown as CallView;
  const played: Array<{ text: string; at: number }> = [];
  const events: WorkerEvent[] = [];
  const t0 = Date.now();
  let n = 0;
  const a = new ConsentAnnouncer({
    announcement: { kind: 'text', text: 'recorded' },
    repeatMs: o.repeatMs ?? 400,
    settleMs: 60,
    maxSettleMs: 300,
    isSelf: (kind, id) => kind === 'application' && id === 'app',
    keepsMedia: () => o.keepsMedia ?? true,
    held: o.held ?? (() => false),
    play: async (_callId, ann, started) => {
      played.push({ text: ann.kind === 'text' ? ann.text : ann.path, at: Date.now() - t0 });
      started(`prompt-${n++}`);
      await sleep(50);
    },
    view: () => view,
    emit: (e) => events.push(e),
    logger: silentLogger,
  });
  if (o.override !== undefined) a.configure('call-1', o.override);
  const roster = (...people: ParticipantView[]): void => {
    view.participants = [view.participants[0]!, ...people];
    a.rosterChanged(view);
  };
  return { a, view, played, events, roster };
}

describe('ConsentAnnouncer', () => {
  it('announces once for the people there at media start, then once per burst of joins, no sooner than the repeat interval', async () => {
    const { a, played, events, roster } = setup();
    roster(person('ann'));
    a.mediaStarted('call-1');
    roster(person('ann'), person('bea'));
    await sleep(250);
    expect(played).toHaveLength(1);
    roster(person('ann'), person('bea'), person('cy'));
    roster(person('ann'), person('bea'), person('cy'), person('dee'));
    await sleep(150);
    expect(played).toHaveLength(1); // the repeat interval is not over
    await sleep(450);
    expect(played).toHaveLength(2);
    expect(played[1]!.at - played[0]!.at).toBeGreaterThanOrEqual(390);
    expect(events.map((e) => e.type === 'call.consent' && e.reason)).toEqual(['media-start', 'joined']);
    expect(events.map((e) => e.type === 'call.consent' && e.sourceId)).toEqual(['prompt-0', 'prompt-1']);
    // Someone leaving and coming back, the bot, another application or the lobby: no new announcement.
    roster(person('ann'), person('bea'), person('cy'));
    roster(person('ann'), person('bea'), person('cy'), person('dee'), person('app2', { identityKind: 'applicationInstance' }), person('eve', { inLobby: true }));
    await sleep(600);
    expect(played).toHaveLength(2);
    a.close();
  });

  it('says nothing when the call keeps nothing or its announcement is off, and uses its own text', async () => {
    const none = setup({ keepsMedia: false });
    none.a.mediaStarted('call-1');
    const off = setup({ override: { kind: 'off' } });
    off.a.mediaStarted('call-1');
    const own = setup({ override: { kind: 'text', text: 'this call is kept' } });
    own.a.mediaStarted('call-1');
    await sleep(250);
    expect(none.played).toEqual([]);
    expect(off.played).toEqual([]);
    expect(own.played.map((p) => p.text)).toEqual(['this call is kept']);
    for (const s of [none, off, own]) s.a.close();
  });

  it('holds the announcement while the recording status is awaited, and plays it once released', async () => {
    let held = true;
    const s = setup({ held: () => held });
    s.a.mediaStarted('call-1');
    await sleep(200);
    expect(s.played).toEqual([]);
    held = false;
    s.a.released('call-1');
    await sleep(100);
    expect(s.played).toHaveLength(1);
    s.a.close();
  });
});
