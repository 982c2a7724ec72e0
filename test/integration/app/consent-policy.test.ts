/**
 * Policy-based (compliance) recording calls against the emulator, which accepts updateRecordingStatus
 * only on such calls: nothing is kept before Graph accepted `recording`; a pause tells it
 * `notRecording` and a resume `recording`; when Graph refuses the status, the call goes on and no
 * recording or transcript is made of it.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMediabot, type ComposedMediabot } from '../../../src/app/mediabot.js';
import type { LiveEventOf } from '../../../src/app/events-api.js';
import { isMediabotError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/logger.js';
import { testConfig, until } from './helpers.js';

let bot: ComposedMediabot;

beforeAll(async () => {
  bot = await startMediabot(testConfig({ MEDIABOT_TRANSCRIBER: 'pocketsphinx', MEDIABOT_RECORD: 'on', MEDIABOT_CONSENT_REPEAT_S: '2' }), { logger: silentLogger });
});

afterAll(async () => {
  await bot?.close();
});

const emulated = (id: string): any => bot.emulator!.callDetails(id);

describe('policy-based recording calls', () => {
  it('keeps nothing until Graph accepted the recording status, then records, announces, and reports pause and resume', async () => {
    const changes: Array<LiveEventOf<'call.recording'>> = [];
    const consent: Array<LiveEventOf<'call.consent'>> = [];
    const offs = [bot.events.on('call.recording', (e) => changes.push(e)), bot.events.on('call.consent', (e) => consent.push(e))];
    const id = bot.emulator!.placeIncomingCall({ callbackUri: bot.callbackUri, policyBasedRecording: true });
    await until('the recording status confirmed', () => changes.find((e) => e.callId === id && e.reason === 'policy-confirmed'), 30_000);
    expect(changes.filter((e) => e.callId === id).map((e) => [e.state, e.reason])).toEqual([
      ['paused', 'policy-pending'],
      ['recording', 'policy-confirmed'],
    ]);
    expect(emulated(id).recordingStatus).toBe('recording');
    expect(bot.calls.recordingState(id)).toMatchObject({ state: 'recording', policy: 'confirmed' });
    await until('the announcement', () => consent.find((e) => e.callId === id), 15_000);

    const paused = await bot.calls.setRecording(id, 'paused');
    expect(paused).toMatchObject({ state: 'paused', operatorPaused: true, policy: 'confirmed' });
    expect(emulated(id).recordingStatus).toBe('notRecording');
    const resumed = await bot.calls.setRecording(id, 'recording');
    expect(resumed.state).toBe('recording');
    expect(emulated(id).recordingStatus).toBe('recording');

    await new Promise((r) => setTimeout(r, 3000));
    await bot.calls.hangUp(id);
    const artifacts = await bot.calls.whenFinalized(id, 60_000);
    for (const off of offs) off();
    // What the refused call below must not have: the same caller, recorded and transcribed.
    expect(artifacts.recordings.some((r) => r.sourceId === 'mix')).toBe(true);
    expect(artifacts.transcript.length).toBeGreaterThan(0);
    const callJson = JSON.parse(readFileSync(artifacts.files.find((f) => f.endsWith('call.json'))!, 'utf8'));
    expect(callJson.recordingPauses).toEqual([
      { fromMs: 0, toMs: expect.any(Number), reason: 'policy' },
      { fromMs: paused.mediaTimeMs, toMs: resumed.mediaTimeMs, reason: 'operator' },
    ]);
  }, 90_000);

  it('records and transcribes nothing when Graph refuses the recording status; the call goes on', async () => {
    const changes: Array<LiveEventOf<'call.recording'>> = [];
    const consent: Array<LiveEventOf<'call.consent'>> = [];
    const offs = [bot.events.on('call.recording', (e) => changes.push(e)), bot.events.on('call.consent', (e) => consent.push(e))];
    bot.emulator!.injectFault({ status: 503, count: 1000, retryAfterSeconds: 0, pathContains: 'updateRecordingStatus' });
    try {
      const id = bot.emulator!.placeIncomingCall({ callbackUri: bot.callbackUri, policyBasedRecording: true });
      const refused = await until('the recording status refused', () => changes.find((e) => e.callId === id && e.reason === 'policy-refused'), 30_000);
      expect(refused).toMatchObject({ state: 'paused', code: 'MEDIABOT_RECORDING_STATUS_FAILED' });
      expect(bot.calls.get(id).state).toBe('established');

      // Resuming asks Graph again first; refused again, the call stays paused.
      const err = await bot.calls.setRecording(id, 'recording').catch((e: unknown) => e);
      expect(isMediabotError(err) && err.code).toBe('MEDIABOT_RECORDING_STATUS_FAILED');
      expect(bot.calls.recordingState(id)).toMatchObject({ state: 'paused', policy: 'refused' });

      // The caller speaks for a while; nothing of it may be kept.
      await until('the caller talking', () => (bot.calls.speakers(id).some((s) => !s.prompt && s.talkMs > 2000) ? true : undefined), 30_000);
      await bot.calls.hangUp(id);
      const artifacts = await bot.calls.whenFinalized(id, 60_000);
      expect(artifacts.recordings).toEqual([]);
      const callJson = JSON.parse(readFileSync(artifacts.files.find((f) => f.endsWith('call.json'))!, 'utf8'));
      expect(callJson.recordingPauses).toEqual([{ fromMs: 0, toMs: null, reason: 'policy' }]);
      expect(artifacts.transcript).toEqual([]);
      // No announcement: there was nothing it could have been about.
      expect(consent.filter((e) => e.callId === id)).toEqual([]);
    } finally {
      bot.emulator!.clearFaults();
      for (const off of offs) off();
    }
  }, 90_000);
});
