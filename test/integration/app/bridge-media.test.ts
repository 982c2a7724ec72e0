/**
 * Signaling over the media bridge: with a sidecar connected to mediabot's /media/bridge (the
 * emulator's bridge-sidecar mode), joining a meeting with app-hosted media takes its blob from the
 * sidecar (createMediaSession); the meeting's simulated people are streamed by the sidecar as
 * unmixed speakers with a sourceMap, so speakers, transcript and recordings carry their names; a
 * prompt goes back through the sidecar. Without a sidecar mediabot uses RTP blobs as before.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMediabot, type ComposedMediabot } from '../../../src/app/mediabot.js';
import { loadConfig } from '../../../src/config/config.js';
import { silentLogger } from '../../../src/logger.js';
import { testConfig, until } from './helpers.js';

const TOKEN = 'bridge-media-test-token-0123456789';
const BRIDGE_TOKEN = 'sidecar-only-token-9876543210';
const HAVE_PS = spawnSync('sh', ['-c', 'command -v pocketsphinx_continuous']).status === 0;
if (!HAVE_PS) console.warn('bridge media test: pocketsphinx_continuous is missing; the transcript assertion is skipped (apt install pocketsphinx)');

let bot: ComposedMediabot;

beforeAll(async () => {
  bot = await startMediabot(testConfig({ MEDIABOT_API_TOKEN: TOKEN, MEDIABOT_BRIDGE_TOKEN: BRIDGE_TOKEN, MEDIABOT_TRANSCRIBER: HAVE_PS ? 'pocketsphinx' : 'none', MEDIABOT_RECORD: 'on' }), {
    logger: silentLogger,
    emulatorOptions: { timing: { joinStaggerMs: 200, stayAfterScriptMs: 1500, emptyGraceMs: 500 } },
  });
});

afterAll(async () => {
  await bot?.close();
});

const bridgeUrl = (): string => `${bot.url.replace('http', 'ws')}/media/bridge`;

describe('app-hosted media through the media bridge', () => {
  it('refuses a sidecar with a wrong token', async () => {
    await expect(bot.emulator!.attachBridgeSidecar({ url: bridgeUrl(), token: 'wrong-token' })).rejects.toThrow(/4401|closed/);
    expect(bot.ingress.sidecarConnected()).toBe(false);
    // MEDIABOT_BRIDGE_TOKEN is validated like every setting.
    expect(() => loadConfig({ MEDIABOT_BRIDGE_TOKEN: 'short' })).toThrow(/MEDIABOT_BRIDGE_TOKEN/);
    // The API token works for a sidecar too.
    const viaApiToken = await bot.emulator!.attachBridgeSidecar({ url: bridgeUrl(), token: TOKEN });
    await until('the sidecar to be connected', () => (bot.ingress.sidecarConnected() ? true : undefined));
    viaApiToken.close();
    await until('the sidecar to be gone', () => (bot.ingress.sidecarConnected() ? undefined : true));
  });

  it('joins with the sidecar blob and names the sidecar speakers from its sourceMap', async () => {
    const sidecar = await bot.emulator!.attachBridgeSidecar({ url: bridgeUrl(), token: BRIDGE_TOKEN });
    await until('the sidecar to be connected', () => (bot.ingress.sidecarConnected() ? true : undefined));

    const script = bot.emulator!.script.slice(0, 2);
    const meeting = bot.emulator!.createMeeting({ subject: 'bridge test', people: script.map((s) => ({ ...s, sentences: s.sentences.slice(0, 2) })) });
    const call = await bot.calls.join({ joinWebUrl: meeting.joinWebUrl });
    expect(sidecar.createRequests).toBe(1);
    const details = (): any => bot.emulator!.callDetails(call.id);
    // The blob Graph got is the sidecar's: the emulator streams this call through it, not RTP.
    await until('media through the sidecar', () => (details()?.media?.target?.bridge ? true : undefined), 20_000);
    expect(details().media.target.bridge.sidecarId).toBe(sidecar.sidecarId);
    expect(details().media.target.rtp).toBeUndefined();

    const named = await until(
      'both people speaking, named',
      () => {
        const s = bot.calls.speakers(call.id).filter((x) => x.sourceId.startsWith('msi-') && x.displayName !== null && x.talkMs > 0);
        return s.length >= 2 ? s : undefined;
      },
      60_000,
      200,
    );
    expect(named.map((s) => s.displayName).sort()).toEqual(script.map((s) => s.name).sort());
    const bridged = bot.ingress.bridge.calls();
    expect(bridged).toHaveLength(1);
    expect(bridged[0]!.sourceMap.map((e) => e.displayName).sort()).toEqual(script.map((s) => s.name).sort());
    expect(bridged[0]!.dominantSpeaker).toMatch(/^msi-\d+$/);

    const played = await bot.calls.play(call.id, { text: 'Thank you all, this is mediabot.' });
    expect(played.via).toBe('media');
    await until('the sidecar to hear the prompt', () => (details().media.botAudio.soundFrames > 25 ? true : undefined), 10_000);

    await bot.calls.hangUp(call.id);
    const artifacts = await bot.calls.whenFinalized(call.id, 60_000);
    const speakers = new Set(artifacts.recordings.filter((r) => r.format === 'ogg' && r.sourceId.startsWith('msi-')).map((r) => r.speaker));
    expect([...speakers].sort()).toEqual(script.map((s) => s.name).sort());
    for (const r of artifacts.recordings.filter((r) => r.format === 'ogg' && r.sourceId.startsWith('msi-'))) expect(r.bytes).toBeGreaterThan(4000);
    if (HAVE_PS) {
      const lines = bot.calls.transcript(call.id).lines;
      expect(lines.length).toBeGreaterThan(0);
      for (const l of lines.filter((x) => x.sourceId.startsWith('msi-'))) expect(script.map((s) => s.name)).toContain(l.speaker);
    }
    sidecar.close();
    await until('the sidecar to be gone', () => (bot.ingress.sidecarConnected() ? undefined : true));
  }, 120_000);

  it('answers an incoming call with a sidecar blob and hears the caller through the sidecar', async () => {
    const sidecar = await bot.emulator!.attachBridgeSidecar({ url: bridgeUrl(), token: BRIDGE_TOKEN });
    await until('the sidecar to be connected', () => (bot.ingress.sidecarConnected() ? true : undefined));
    const id = bot.emulator!.placeIncomingCall({ callbackUri: bot.callbackUri, from: { displayName: 'Dana Caller' } });
    await until('media through the sidecar', () => ((bot.emulator!.callDetails(id) as any)?.media?.target?.bridge ? true : undefined), 20_000);
    expect(sidecar.createRequests).toBe(1);
    expect(bot.calls.get(id).media).toBe('app');
    const dana = await until(
      'the caller talking, named',
      () => bot.calls.speakers(id).find((s) => s.sourceId.startsWith('msi-') && s.displayName === 'Dana Caller' && (s.talkMs > 0 || s.talking)),
      30_000,
      200,
    );
    expect(dana.participantId).not.toBeNull();
    await bot.calls.hangUp(id);
    const art = await bot.calls.whenFinalized(id, 30_000);
    expect(art.recordings.some((r) => r.speaker === 'Dana Caller' && r.format === 'ogg' && r.bytes > 1000)).toBe(true);
    sidecar.close();
    await until('the sidecar to be gone', () => (bot.ingress.sidecarConnected() ? undefined : true));
  }, 60_000);

  it('uses RTP blobs again once no sidecar is connected', async () => {
    const meeting = bot.emulator!.createMeeting({ subject: 'rtp again', people: 1 });
    const call = await bot.calls.join({ joinWebUrl: meeting.joinWebUrl });
    await until('media over RTP', () => ((bot.emulator!.callDetails(call.id) as any)?.media?.target?.rtp ? true : undefined), 20_000);
    await bot.calls.hangUp(call.id);
    await bot.calls.whenFinalized(call.id, 30_000);
  }, 60_000);
});
