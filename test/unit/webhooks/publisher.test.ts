/**
 * Live events → webhook messages in the outbox (real SQLite in memory, the dispatcher not started):
 * participants joined and left from roster differences, the lobby, partial transcripts only when
 * the call asked, the call's own URL and metadata on every message of the call.
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/logger.js';
import { openDatabase } from '../../../src/store/db.js';
import { CallSettingsStore } from '../../../src/store/call-settings.js';
import { WebhookOutbox } from '../../../src/store/webhook-outbox.js';
import { WebhookDispatcher } from '../../../src/webhooks/dispatcher.js';
import { WebhookPublisher } from '../../../src/webhooks/publisher.js';
import { parseWebhookSettings } from '../../../src/config/webhooks.js';

const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const at = '2030-01-01T00:00:00.000Z';

function setup() {
  const db = openDatabase(':memory:');
  const outbox = new WebhookOutbox(db);
  const store = new CallSettingsStore(db);
  const dispatcher = new WebhookDispatcher({ outbox, secret: SECRET, allowlist: [], logger: silentLogger });
  const publisher = new WebhookPublisher({ dispatcher, globalUrl: 'https://hooks.example.com/all', settings: (id) => store.settings(id), speakerName: () => 'Ada', logger: silentLogger });
  const rows = () => outbox.list({ limit: 1000 }).reverse().map((r) => ({ url: r.url, type: r.type, body: JSON.parse(r.body) as { type: string; data: Record<string, unknown> } }));
  return { db, store, publisher, rows };
}

describe('webhook publisher', () => {
  it('maps roster changes to joined, left and lobby messages with the call metadata, to both URLs', () => {
    const { store, publisher, rows } = setup();
    store.saveSettings({ callId: 'c1', webhookUrl: 'https://hooks.example.com/c1', metadata: { ticket: 7 }, partialTranscripts: false });
    publisher.onEvent({ type: 'call.roster', callId: 'c1', participants: [{ id: 'p1', displayName: 'Ada', muted: false }, { id: 'p2', displayName: 'Bo', muted: false, inLobby: true }], at });
    publisher.onEvent({ type: 'call.roster', callId: 'c1', participants: [{ id: 'p2', displayName: 'Bo', muted: false, inLobby: false }], at });
    const got = rows().filter((r) => r.url.endsWith('/c1'));
    expect(got.map((r) => r.type)).toEqual(['participant.joined', 'participant.joined', 'call.lobby', 'participant.left', 'call.lobby']);
    expect(got[2]!.body.data['waiting']).toEqual([{ id: 'p2', displayName: 'Bo' }]);
    expect(got[3]!.body.data['participant']).toEqual({ id: 'p1', displayName: 'Ada' });
    expect(got[4]!.body.data['waiting']).toEqual([]);
    for (const r of got) expect(r.body.data).toMatchObject({ callId: 'c1', metadata: { ticket: 7 } });
    expect(rows().filter((r) => r.url.endsWith('/all'))).toHaveLength(got.length);
  });

  it('sends partial transcripts only for calls that asked, final ones always', () => {
    const { store, publisher, rows } = setup();
    store.saveSettings({ callId: 'wants', webhookUrl: null, metadata: null, partialTranscripts: true });
    for (const callId of ['wants', 'plain']) {
      publisher.onEvent({ type: 'transcript.partial', callId, sourceId: 's1', text: 'hel', startMs: 0, endMs: 100, mediaTimeMs: 100 });
      publisher.onEvent({ type: 'transcript.final', callId, sourceId: 's1', text: 'hello', startMs: 0, endMs: 400, mediaTimeMs: 400 });
    }
    expect(rows().map((r) => `${String(r.body.data['callId'])}:${r.type}`)).toEqual(['wants:transcript.partial', 'wants:transcript.final', 'plain:transcript.final']);
    expect(rows()[1]!.body.data).toMatchObject({ speaker: 'Ada', text: 'hello', metadata: null });
  });

  it('carries the end reason of call.state, and writes nothing without a target', () => {
    const { publisher, rows } = setup();
    const reason = { code: 0, subcode: 0, message: 'ok', explanation: 'the call was ended by the app', hint: '' };
    publisher.onEvent({ type: 'call.state', callId: 'c2', state: 'terminated', previous: 'established', reason, at });
    expect(rows()[0]!.body).toMatchObject({ type: 'call.state', data: { state: 'terminated', previous: 'established', reason } });
    const db = openDatabase(':memory:');
    const outbox = new WebhookOutbox(db);
    const none = new WebhookPublisher({ dispatcher: new WebhookDispatcher({ outbox, secret: SECRET, allowlist: [], logger: silentLogger }), globalUrl: undefined, settings: () => undefined, logger: silentLogger });
    expect(none.publish('c3', 'data.deleted', {})).toBe(0);
    expect(outbox.count('pending')).toBe(0);
  });
});

describe('webhook settings (MEDIABOT_WEBHOOK_*)', () => {
  const env = (e: Record<string, string>) => (k: string) => e[k];
  it('needs a whsec_ secret of 24-64 bytes, and one whenever a URL is set', () => {
    expect(parseWebhookSettings(env({ MEDIABOT_WEBHOOK_URL: 'https://x.example/h', MEDIABOT_WEBHOOK_SECRET: SECRET }))).toEqual({ url: 'https://x.example/h', secret: SECRET });
    expect(() => parseWebhookSettings(env({ MEDIABOT_WEBHOOK_URL: 'https://x.example/h' }))).toThrow(/MEDIABOT_WEBHOOK_SECRET/);
    expect(() => parseWebhookSettings(env({ MEDIABOT_WEBHOOK_SECRET: 'whsec_c2hvcnQ=' }))).toThrow(/24-64 bytes/);
    expect(() => parseWebhookSettings(env({ MEDIABOT_WEBHOOK_URL: 'ftp://x', MEDIABOT_WEBHOOK_SECRET: SECRET }))).toThrow(/MEDIABOT_WEBHOOK_URL/);
    expect(() => parseWebhookSettings(env({ MEDIABOT_WEBHOOK_URL: 'https://u:p@x.example/', MEDIABOT_WEBHOOK_SECRET: SECRET }))).toThrow(/without credentials/);
    expect(parseWebhookSettings(env({}))).toEqual({ url: undefined, secret: undefined });
  });

  it('sends recording pauses and resumes and consent announcements', () => {
    const { publisher, rows } = setup();
    publisher.onEvent({ type: 'call.recording', callId: 'c1', state: 'paused', reason: 'policy-refused', code: 'MEDIABOT_RECORDING_STATUS_FAILED', mediaTimeMs: null, at });
    publisher.onEvent({ type: 'call.recording', callId: 'c1', state: 'recording', reason: 'operator', mediaTimeMs: 61_240, at });
    publisher.onEvent({ type: 'call.consent', callId: 'c1', reason: 'joined', announcement: 'text', sourceId: 'prompt-1', at });
    expect(rows().map((r) => [r.type, r.body.data])).toEqual([
      ['recording.state', { callId: 'c1', state: 'paused', reason: 'policy-refused', code: 'MEDIABOT_RECORDING_STATUS_FAILED', mediaTimeMs: null, at, metadata: null }],
      ['recording.state', { callId: 'c1', state: 'recording', reason: 'operator', mediaTimeMs: 61_240, at, metadata: null }],
      ['consent.announced', { callId: 'c1', reason: 'joined', announcement: 'text', at, metadata: null }],
    ]);
  });
});
