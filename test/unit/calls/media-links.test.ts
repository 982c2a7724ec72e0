/** Media id ↔ call id: events are renamed to the Graph call id, and those that came early wait for the link. */
import { describe, expect, it } from 'vitest';
import { EventBus, type MediabotEvent } from '../../../src/events/bus.js';
import { MediaLinks } from '../../../src/calls/media-links.js';
import { LiveEvents, type LiveEvent } from '../../../src/events/live.js';

function collect(bus: EventBus): MediabotEvent[] {
  const seen: MediabotEvent[] = [];
  bus.on((e) => seen.push(e));
  return seen;
}

describe('MediaLinks', () => {
  it('holds events of an unlinked media id and replays them, renamed and in order, once linked', () => {
    const bus = new EventBus();
    const seen = collect(bus);
    const links = new MediaLinks(bus);
    links.ingest({ type: 'source.added', callId: 'media-1', sourceId: 'ssrc-7', mediaTimeMs: 20 });
    links.ingest({ type: 'talk.start', callId: 'media-1', sourceId: 'ssrc-7', mediaTimeMs: 40 });
    expect(seen).toHaveLength(0);
    links.link('media-1', 'graph-call-1');
    expect(links.callIdOf('media-1')).toBe('graph-call-1');
    expect(seen.map((e) => [e.type, 'callId' in e ? e.callId : null])).toEqual([
      ['source.added', 'graph-call-1'],
      ['talk.start', 'graph-call-1'],
    ]);
    links.ingest({ type: 'talk.start', callId: 'media-1', sourceId: 'ssrc-8', mediaTimeMs: 60 });
    expect(seen).toHaveLength(3);
    expect(seen[2]).toMatchObject({ callId: 'graph-call-1', sourceId: 'ssrc-8' });
  });

  it('bounds what waits, drops it when the call was never created, and forgets unlinked ids', () => {
    const bus = new EventBus();
    const seen = collect(bus);
    const links = new MediaLinks(bus);
    for (let i = 0; i < 2500; i++) links.ingest({ type: 'talk.start', callId: 'm2', sourceId: `s${i}`, mediaTimeMs: i });
    links.link('m2', 'c2');
    expect(seen).toHaveLength(2000);
    links.ingest({ type: 'talk.start', callId: 'm3', sourceId: 's', mediaTimeMs: 0 });
    links.dropEarly('m3');
    links.link('m3', 'c3');
    expect(seen).toHaveLength(2000);
    links.unlink('m3');
    expect(links.has('m3')).toBe(false);
  });
});

describe('LiveEvents', () => {
  it('fans the bus and other sources out to every listener; a failing listener does not stop the others', () => {
    const errors: unknown[] = [];
    const live = new LiveEvents((err) => errors.push(err));
    const bus = new EventBus();
    live.feedFrom(bus);
    const got: LiveEvent[] = [];
    live.on(() => {
      throw new Error('listener bug');
    });
    const off = live.on((e) => got.push(e));
    bus.emit({ type: 'talk.start', callId: 'c', sourceId: 's', mediaTimeMs: 0 });
    live.emit({ type: 'call.speakers', callId: 'c', speakers: [], at: new Date(0).toISOString() });
    expect(got.map((e) => e.type)).toEqual(['talk.start', 'call.speakers']);
    expect(errors).toHaveLength(2);
    off();
    bus.emit({ type: 'talk.start', callId: 'c', sourceId: 's', mediaTimeMs: 20 });
    expect(got).toHaveLength(2);
  });
});
