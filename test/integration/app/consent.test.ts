/**
 * Consent and recording pause, end to end: a real mediabot (media threads, recorder, pocketsphinx)
 * joins an emulated meeting whose two simulated people join 4 s apart and then speak known
 * sentences with 2 s of silence between turns.
 *
 * - The consent announcement plays when media starts and again when the second person joins, and
 *   is heard in the recording of the mix (pocketsphinx on the mix hears what it hears in the
 *   announcement played directly; the mix's envelope follows the announcement's).
 * - A pause around one sentence leaves a silent gap in the mix (exact zeros, on the call's timeline)
 *   and nothing of that sentence in the transcript; the sentence after the resume is transcribed.
 *
 * pocketsphinx is far from exact on synthetic speech, so every word check is against pocketsphinx's
 * own direct run on the same sentence (DESIGN.md): the words it does hear there.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMediabot, type ComposedMediabot } from '../../../src/app/mediabot.js';
import type { LiveEventOf } from '../../../src/app/events-api.js';
import { silentLogger } from '../../../src/logger.js';
import { encodeWavPcm16 } from '../../../src/media/wire/wav.js';
import { readWav16k } from '../transcribe/audio.js';
import { bestLaggedCorrelation, envelope } from '../../helpers/speech.js';
import { testConfig, until } from './helpers.js';

const HAVE_TOOLS = spawnSync('sh', ['-c', 'command -v pocketsphinx_continuous && command -v espeak-ng && command -v sox']).status === 0;

const VOICE = 'en-us+m3';
const ANNOUNCEMENT = 'Hello and welcome. This call is being recorded and transcribed.';
const ADA = ['Thank you very much.', 'The price is twelve thousand dollars.', 'Thank you for coming to the meeting.'];
const BEN = ['We need more money for the project.'];

const work = mkdtempSync(join(tmpdir(), 'mediabot-consent-'));

/** pocketsphinx_continuous on 16 kHz samples: its words. */
function hear(samples: Int16Array, name: string): string[] {
  const file = join(work, `${name}.wav`);
  writeFileSync(file, encodeWavPcm16(samples, 16_000));
  const out = execFileSync('pocketsphinx_continuous', ['-infile', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000 });
  return words(out);
}

/** `text` spoken by espeak-ng at 16 kHz, as the emulator and the prompt store render it. */
function render(text: string, voice: string): Int16Array {
  const raw = join(work, 'raw.wav');
  const out = join(work, 'render.wav');
  execFileSync('espeak-ng', ['-v', voice, '-s', '160', '-w', raw, '--', text]);
  execFileSync('sox', [raw, '-r', '16000', '-c', '1', '-b', '16', out]);
  return readWav16k(out);
}

function words(text: string): string[] {
  return text.toLowerCase().split(/[^a-z']+/).filter((w) => w.length > 0);
}

function slice(samples: Int16Array, fromMs: number, toMs: number): Int16Array {
  return samples.subarray(Math.max(0, Math.round(fromMs * 16)), Math.min(samples.length, Math.round(toMs * 16)));
}

function peak(samples: Int16Array): number {
  let p = 0;
  for (const v of samples) p = Math.max(p, Math.abs(v));
  return p;
}

const sleepUntil = (at: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));

describe.skipIf(!HAVE_TOOLS)('consent announcement and recording pause', () => {
  let bot: ComposedMediabot;

  beforeAll(async () => {
    bot = await startMediabot(
      testConfig({ MEDIABOT_TRANSCRIBER: 'pocketsphinx', MEDIABOT_RECORD: 'on', MEDIABOT_CONSENT_ANNOUNCEMENT: ANNOUNCEMENT, MEDIABOT_CONSENT_REPEAT_S: '2' }),
      { logger: silentLogger, emulatorOptions: { timing: { joinStaggerMs: 4000, speechLeadInMs: 4500, turnGapMs: 2000, turnOverlapMs: -2000 } } },
    );
  });

  afterAll(async () => {
    await bot?.close();
  });

  it('announces at media start and for a joiner, in the mix; a paused sentence is neither in the mix nor in the transcript', async () => {
    const consent: Array<LiveEventOf<'call.consent'>> = [];
    const recordingEvents: Array<LiveEventOf<'call.recording'>> = [];
    const files: Array<LiveEventOf<'recording.file'>> = [];
    const offs = [bot.events.on('call.consent', (e) => consent.push(e)), bot.events.on('call.recording', (e) => recordingEvents.push(e)), bot.events.on('recording.file', (e) => files.push(e))];

    const meeting = bot.emulator!.createMeeting({
      subject: 'consent test',
      people: [
        { name: 'Ada Quinn', voice: VOICE, sentences: ADA },
        { name: 'Ben Ortiz', voice: VOICE, sentences: BEN },
      ],
    });
    const call = await bot.calls.join({ joinWebUrl: meeting.joinWebUrl });
    const id = call.id;
    const script = await until('the call script', () => {
      const d = bot.emulator!.callDetails(id) as any;
      return d?.establishedAt && d.script.length === 2 && d.script.every((s: any) => s.utterances.length > 0) ? d : undefined;
    });
    const t0 = Date.parse(script.establishedAt);
    const ada = script.script.find((s: any) => s.name === 'Ada Quinn');
    const paused = ada.utterances[1] as { startMs: number; endMs: number };
    const last = ada.utterances[2] as { startMs: number; endMs: number };

    // Pause in the 2 s of silence before the second sentence, resume in the silence after it.
    await sleepUntil(t0 + paused.startMs - 1000);
    const pause = await bot.calls.setRecording(id, 'paused');
    expect(pause.state).toBe('paused');
    expect(bot.calls.recordingState(id).state).toBe('paused');
    await sleepUntil(t0 + paused.endMs + 1000);
    const resume = await bot.calls.setRecording(id, 'recording');
    expect(resume.state).toBe('recording');
    expect(resume.mediaTimeMs! - pause.mediaTimeMs!).toBeGreaterThan(paused.endMs - paused.startMs);

    await sleepUntil(t0 + last.endMs + 1500);
    await bot.calls.hangUp(id);
    const artifacts = await bot.calls.whenFinalized(id, 60_000);
    for (const off of offs) off();
    const callJson = JSON.parse(readFileSync(artifacts.files.find((f) => f.endsWith('call.json'))!, 'utf8'));
    expect(callJson.recordingPauses).toEqual([{ fromMs: pause.mediaTimeMs, toMs: resume.mediaTimeMs, reason: 'operator' }]);

    // Two announcements: media start, then the second person joining (4 s later, past the 2 s repeat).
    expect(consent.map((e) => e.reason)).toEqual(['media-start', 'joined']);
    expect(recordingEvents.map((e) => [e.state, e.reason])).toEqual([
      ['paused', 'operator'],
      ['recording', 'operator'],
    ]);

    const mixFile = files.find((f) => f.sourceId === null && f.format === 'wav')!;
    const mix = readWav16k(await bot.calls.recordingPath(id, mixFile.path.split('/').pop()!));
    const mixAt = (mediaMs: number): number => mediaMs - mixFile.mediaTimeMs;

    // The announcement in the mix: where its own source starts, with its envelope and its words.
    const first = files.find((f) => f.sourceId === consent[0]!.sourceId && f.format === 'wav')!;
    const announced = render(ANNOUNCEMENT, 'en-us');
    const lengthMs = announced.length / 16;
    const inMix = slice(mix, mixAt(first.mediaTimeMs) - 200, mixAt(first.mediaTimeMs) + lengthMs + 200);
    expect(bestLaggedCorrelation(envelope(announced, 20, 16_000), envelope(inMix, 20, 16_000), 20).corr).toBeGreaterThan(0.8);
    const direct = new Set(hear(announced, 'announcement-direct'));
    const fromMix = hear(inMix, 'announcement-mix');
    const shared = fromMix.filter((w) => direct.has(w));
    expect(direct.size).toBeGreaterThan(0);
    expect(shared.length / direct.size).toBeGreaterThanOrEqual(0.5);

    // The paused stretch is a silent gap in the mix, on the call's timeline; speech before and after is there.
    expect(peak(slice(mix, mixAt(pause.mediaTimeMs!), mixAt(resume.mediaTimeMs!)))).toBe(0);
    expect(mix.length / 16).toBeGreaterThan(mixAt(resume.mediaTimeMs!) + 1000);
    expect(peak(slice(mix, mixAt(resume.mediaTimeMs!), mix.length / 16))).toBeGreaterThan(1000);

    // The transcript: nothing of the paused sentence, the sentence after the resume is there.
    const heardPaused = hear(render(ADA[1]!, VOICE), 'paused-direct');
    const heardOthers = new Set([...ADA.filter((_, i) => i !== 1), ...BEN, ANNOUNCEMENT].flatMap((s, i) => hear(render(s, i === 3 ? 'en-us' : VOICE), `other-${i}`)));
    const onlyInPaused = heardPaused.filter((w) => !heardOthers.has(w));
    expect(onlyInPaused.length).toBeGreaterThan(0);
    const heardLast = new Set(hear(render(ADA[2]!, VOICE), 'last-direct'));
    const transcript = bot.calls.transcript(id).lines;
    const transcribed = new Set(transcript.flatMap((l) => words(l.text)));
    expect(onlyInPaused.filter((w) => transcribed.has(w))).toEqual([]);
    const afterResume = transcript.filter((l) => l.startMs >= resume.mediaTimeMs!).flatMap((l) => words(l.text));
    expect(afterResume.filter((w) => heardLast.has(w)).length).toBeGreaterThan(0);
    // No line of the transcript lies in the paused stretch.
    expect(transcript.filter((l) => l.startMs >= pause.mediaTimeMs! + 100 && l.endMs <= resume.mediaTimeMs! - 100)).toEqual([]);
  }, 120_000);

  it('answers 400 for a bad body, 404 for an unknown call and 409 once the call ended, changing nothing', async () => {
    const base = bot.url;
    const post = (path: string, body: unknown) => fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
    const unknown = await post('/v1/calls/00000000-0000-4000-8000-000000000000/recording', { state: 'paused' });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as any).error.code).toBe('MEDIABOT_CALL_NOT_FOUND');
    const ended = bot.calls.list().find((c) => c.state === 'terminated')!;
    for (const body of [{}, { state: 'stopped' }, { state: { value: 'paused' } }, '{not json']) {
      const r = await post(`/v1/calls/${ended.id}/recording`, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(((await r.json()) as any).error.code).toBe('MEDIABOT_BAD_REQUEST');
    }
    const late = await post(`/v1/calls/${ended.id}/recording`, { state: 'paused' });
    expect(late.status).toBe(409);
    expect(((await late.json()) as any).error.code).toBe('MEDIABOT_CALL_TERMINATED');
    expect(bot.calls.recordingState(ended.id).state).toBe('recording');
  });

  it("takes a call's own announcement in POST /v1/calls: off means none; bad values are 400 and create nothing", async () => {
    const post = async (body: unknown) => {
      const r = await fetch(`${bot.url}/v1/calls`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: r.status, json: (await r.json()) as any };
    };
    const meeting = bot.emulator!.createMeeting({ subject: 'no announcement', people: [{ name: 'Ada Quinn', voice: VOICE, sentences: [ADA[0]!] }] });
    const before = bot.calls.list().length;
    for (const consent of [{ announcement: '' }, { announcement: { text: 'x' } }, { announcement: 'off', when: 'now' }, 'off']) {
      const r = await post({ joinWebUrl: meeting.joinWebUrl, consent });
      expect(r.status, JSON.stringify(consent)).toBe(400);
      expect(r.json.error.code).toBe('MEDIABOT_BAD_REQUEST');
    }
    const service = await post({ joinWebUrl: meeting.joinWebUrl, media: 'service', consent: { announcement: 'Recorded.' } });
    expect(service.status).toBe(400);
    expect(bot.calls.list().length).toBe(before);

    const consent: Array<LiveEventOf<'call.consent'>> = [];
    const off = bot.events.on('call.consent', (e) => consent.push(e));
    const created = await post({ joinWebUrl: meeting.joinWebUrl, consent: { announcement: 'off' } });
    expect(created.status).toBe(201);
    const id: string = created.json.id;
    await until('someone talking', () => (bot.calls.speakers(id).some((s) => !s.prompt && s.talkMs > 500) ? true : undefined), 30_000);
    await bot.calls.hangUp(id);
    await bot.calls.whenFinalized(id, 60_000);
    off();
    expect(consent.filter((e) => e.callId === id)).toEqual([]);
    expect(bot.calls.transcript(id).lines.every((l) => !l.sourceId.startsWith('prompt-'))).toBe(true);
  }, 90_000);
});
