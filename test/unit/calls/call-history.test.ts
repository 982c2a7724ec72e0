/**
 * CallHistory over a real SQLite database (in memory) fed through the speech store: which calls
 * count as ended, order and paging, labels from the stored speaker map or the roster, talk time
 * from the segments, live calls and unknown ids.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CallHistory } from '../../../src/calls/history.js';
import { CallEndingStore } from '../../../src/store/call-endings.js';
import { openDatabase, type Database } from '../../../src/store/db.js';
import { SpeechStore } from '../../../src/store/speech-store.js';

const END = { code: 200, subcode: 5001, message: 'The conversation has ended.', terminationReason: null, explanation: 'The call or meeting is over.', hint: 'Nothing to fix.', reasonCode: null };

let db: Database | undefined;
afterEach(() => db?.close());

function setup(live: string[] = []) {
  db = openDatabase(':memory:');
  db.pragma('foreign_keys = ON');
  const speech = new SpeechStore(db);
  const endings = new CallEndingStore(db);
  const history = new CallHistory({ db, speech, endings, dataDir: mkdtempSync(join(tmpdir(), 'mediabot-history-')), isLive: (id) => live.includes(id), sign: (p) => ({ url: `${p}?sig=x`, expiresAt: '2030-01-01T00:00:00.000Z' }) });
  const talk = (callId: string, sourceId: string, startMs: number, endMs: number): void => {
    speech.recordEvent({ type: 'talk.start', callId, sourceId, mediaTimeMs: startMs });
    speech.recordEvent({ type: 'talk.stop', callId, sourceId, mediaTimeMs: endMs, durationMs: endMs - startMs });
  };
  const state = (callId: string, s: string): void => speech.recordEvent({ type: 'call.state', callId, state: s, previous: null, at: '2026-01-01T00:00:00Z' });
  return { speech, endings, history, talk, state };
}

describe('CallHistory', () => {
  it('lists ended calls newest first, pages with before, and leaves live calls out', async () => {
    const { endings, history, talk, state } = setup(['live-1']);
    for (const [id, ended] of [['a', '2026-01-01T10:00:00.000Z'], ['b', '2026-01-01T12:00:00.000Z'], ['c', '2026-01-01T11:00:00.000Z']] as const) {
      talk(id, 's1', 0, 1000);
      endings.record({ callId: id, mediaMode: 'app', createdAt: '2026-01-01T09:00:00.000Z', endedAt: ended, termination: END, speakers: [{ sourceId: 's1', participantId: 'p1', displayName: 'Ada', prompt: false }] });
    }
    state('live-1', 'established');
    talk('live-1', 's9', 0, 500);
    const page = history.list({ limit: 2 });
    expect(page.calls.map((c) => c.id)).toEqual(['b', 'c']);
    expect(page.next).toBe('2026-01-01T11:00:00.000Z');
    const rest = history.list({ limit: 2, before: page.next! });
    expect(rest.calls.map((c) => c.id)).toEqual(['a']);
    expect(rest.next).toBeNull();
    expect(page.calls[0]).toEqual(expect.objectContaining({ durationMs: 3 * 3600_000, people: ['Ada'], endReason: END, talkMs: 1000, transcriptLines: 0, recordingFiles: 0 }));
    await expect(history.summary('live-1')).rejects.toMatchObject({ code: 'MEDIABOT_CALL_NOT_ENDED' });
    await expect(history.summary('nope')).rejects.toMatchObject({ code: 'MEDIABOT_CALL_NOT_FOUND' });
    expect(() => history.list({ limit: 0 })).toThrow(expect.objectContaining({ code: 'MEDIABOT_BAD_REQUEST' }));
    expect(() => history.list({ before: 'soon' })).toThrow(expect.objectContaining({ code: 'MEDIABOT_BAD_REQUEST' }));
  });

  it('shows a call the store saw terminate without an ending row, named from the roster', async () => {
    const { speech, history, talk, state } = setup();
    speech.recordEvent({ type: 'call.roster', callId: 'old', participants: [{ id: 'src-1', displayName: 'Grace', muted: false }], at: '2026-01-01T00:00:00Z' });
    talk('old', 'src-1', 100, 900);
    talk('old', 'src-2', 500, 1500);
    state('old', 'terminated');
    const [c] = history.list().calls;
    expect(c).toEqual(expect.objectContaining({ id: 'old', endReason: null, talkMs: 1800 }));
    const s = await history.summary('OLD');
    expect(s.id).toBe('old');
    expect(s.speakers.map((p) => [p.name, p.talkMs])).toEqual([
      ['Grace', 800],
      ['src-2', 1000],
    ]);
    expect(s.overlaps).toEqual([{ startMs: 500, endMs: 900, sourceIds: ['src-1', 'src-2'] }]);
    expect(s.mediaEndMs).toBe(1500);
    expect(s.files).toEqual([]);
    expect(s.recordings).toEqual([]);
    expect(s.deliveries).toEqual({ total: 0, delivered: 0, pending: 0, failed: 0, items: [] });
  });
});
