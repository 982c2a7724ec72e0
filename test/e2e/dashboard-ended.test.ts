/**
 * The dashboard after the call, in a real browser (Chromium through playwright-core): a real call
 * against the emulator (recording, transcription when pocketsphinx is installed, webhooks to a real
 * receiver that refuses the first one) ends; it shows up under "Ended calls"; its page draws the
 * speaker timeline with overlaps, talk time matching the API, the transcript (a line, clicked or
 * taken with the keyboard, plays the recording from its time), the files, the webhook deliveries
 * and the end reason. Saves a screenshot to test-artifacts/dashboard-ended.png.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { startMediabot, type ComposedMediabot } from '../../src/app/mediabot.js';
import { silentLogger } from '../../src/logger.js';
import { pocketsphinxAvailable } from '../../src/media/hooks/transcribe/pocketsphinx.js';
import { testConfig, until } from '../integration/app/helpers.js';
import { newSecret, startReceiver, type Receiver } from '../integration/webhooks/receiver.js';
import { REPO } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
// The page functions below run in the browser; this file is compiled without the DOM library.
interface AudioLike {
  currentTime: number;
  paused: boolean;
  readyState: number;
}
declare const document: { querySelector(selector: string): unknown };

let browser: BrowserContext | undefined;
let bot: ComposedMediabot | undefined;
let receiver: Receiver | undefined;
afterAll(async () => {
  await browser?.close();
  await bot?.close();
  await receiver?.close();
});

/** The whole page from its top: scrolled down, the sticky header would be drawn over the middle of a full-page shot. */
async function shootFromTop(page: Page): Promise<void> {
  await page.evaluate('window.scrollTo(0, 0)');
  await page.screenshot({ path: join(REPO, 'test-artifacts', 'dashboard-ended.png'), fullPage: true });
}

const audioState = (page: Page): Promise<{ currentTime: number; paused: boolean }> =>
  page.evaluate(() => {
    const a = document.querySelector('#player') as AudioLike;
    return { currentTime: a.currentTime, paused: a.paused };
  });

/** Waits until the player is playing near `atS` seconds, then checks that time moves on. */
async function expectPlayingFrom(page: Page, atS: number): Promise<void> {
  const first = await until(
    `the recording playing from ${atS.toFixed(2)} s`,
    async () => {
      const s = await audioState(page);
      return !s.paused && s.currentTime >= atS - 0.05 && s.currentTime < atS + 1.5 ? s : undefined;
    },
    10_000,
    50,
  );
  await page.waitForTimeout(700);
  const later = await audioState(page);
  expect(later.paused).toBe(false);
  expect(later.currentTime).toBeGreaterThan(first.currentTime + 0.2);
}

describe('dashboard: ended calls', () => {
  it('lists the ended call and shows its timeline, talk time, transcript that plays, files, webhooks and end reason', async () => {
    const transcribe = pocketsphinxAvailable();
    const secret = newSecret();
    receiver = await startReceiver(secret);
    // The first message is refused (503): its delivery shows two attempts.
    receiver.refuse = (_r, i) => i === 0;
    bot = await startMediabot(
      testConfig({
        MEDIABOT_TRANSCRIBER: transcribe ? 'pocketsphinx' : 'none',
        MEDIABOT_RECORD: 'on',
        MEDIABOT_WEBHOOK_URL: `${receiver.url}/hooks`,
        MEDIABOT_WEBHOOK_SECRET: secret,
        MEDIABOT_FETCH_ALLOWLIST: '127.0.0.1',
      }),
      { logger: silentLogger },
    );
    await bot.listen();
    browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'mediabot-chromium-')), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--autoplay-policy=no-user-gesture-required'],
    });
    const page = await browser.newPage();
    await page.goto(`${bot.url}/`);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 15_000 });
    expect(await page.isVisible('#history-empty')).toBe(true);

    const meeting = bot.emulator!.createMeeting({ subject: 'dashboard history test', people: 3 });
    const id = (await bot.calls.join({ joinWebUrl: meeting.joinWebUrl })).id;
    await until('three people talked', () => (new Set(bot!.store.speech.getTalkSegments(id).map((s) => s.sourceId)).size >= 3 ? true : undefined), 90_000, 250);
    if (transcribe) await until('transcript lines', () => (bot!.store.speech.getTranscript(id).length >= 3 ? true : undefined), 60_000, 250);
    // mediabot speaks too: its prompts (the consent announcement and the one played below) share a lane of their own.
    await bot.calls.play(id, { text: 'This meeting was recorded by mediabot. Goodbye.' });
    await bot.calls.hangUp(id);
    await bot.calls.whenFinalized(id, 60_000);
    expect(await bot.webhooks.whenIdle(30_000, id)).toBe(0);

    // The live card of the ended call links to its page once the artifacts are written.
    await page.waitForSelector(`.call[data-state="terminated"] a.call-page-link[href="/call.html?id=${encodeURIComponent(id)}"]`, { timeout: 15_000 });
    // The main page lists it (refreshed by the call.artifacts event) and links to its page.
    const row = `#history-list tr[data-call-id="${id}"]`;
    await page.waitForSelector(row, { timeout: 15_000 });
    const summary = await bot.calls.summary(id);
    const rowText = (await page.textContent(row)) ?? '';
    mkdirSync(join(REPO, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: join(REPO, 'test-artifacts', 'dashboard-history.png'), fullPage: true });
    expect(rowText).toContain(summary.endReason!.explanation);
    for (const name of summary.people) expect(rowText).toContain(name);
    await Promise.all([page.waitForURL(/\/call\.html\?id=/), page.click(`${row} a.open`)]);
    await page.waitForSelector('#content:not([hidden])', { timeout: 15_000 });

    // The timeline: a bar per talk segment, in a lane per speaker; overlaps hatched on each speaker involved.
    const bars = await page.$$eval('#timeline rect.seg', (els) => els.map((e) => (e as unknown as { getAttribute(n: string): string }).getAttribute('data-source-id')));
    expect(bars.length).toBe(summary.segments.length);
    expect(new Set(bars).size).toBeGreaterThanOrEqual(2);
    expect(await page.locator('#timeline rect.overlap').count()).toBe(summary.overlaps.reduce((a, o) => a + o.sourceIds.length, 0));
    expect(summary.overlaps.length).toBeGreaterThan(0);
    const laneNames = await page.$$eval('#timeline text.lane-label', (els) => els.map((e) => (e as unknown as { textContent: string }).textContent));
    expect(laneNames.filter((n) => n === 'mediabot (prompt)')).toHaveLength(1);
    for (const name of summary.people) expect(laneNames).toContain(name);

    // Talk time per speaker: the API's numbers, mediabot's prompts added up in one row.
    const shown = await page.$$eval('.share', (els) =>
      els.map((e) => {
        const li = e as unknown as { getAttribute(n: string): string; querySelector(s: string): { getAttribute(n: string): string; textContent: string } };
        return { voice: li.getAttribute('data-voice'), talkMs: Number(li.querySelector('.val').getAttribute('data-talk-ms')), text: li.querySelector('.val').textContent };
      }),
    );
    const voices = new Map<string, { talkMs: number; share: number }>();
    for (const s of summary.speakers.filter((x) => x.talkMs > 0)) {
      const key = s.prompt ? 'prompt' : s.sourceId;
      const v = voices.get(key) ?? { talkMs: 0, share: 0 };
      voices.set(key, { talkMs: v.talkMs + s.talkMs, share: v.share + s.share });
    }
    expect(voices.has('prompt')).toBe(true);
    expect(shown.length).toBe(voices.size);
    for (const [key, v] of voices) {
      const on = shown.find((x) => x.voice === key)!;
      expect(on.talkMs).toBe(v.talkMs);
      expect(on.text).toContain(`${(v.talkMs / 1000).toFixed(1)}s`);
      expect(on.text).toContain(`${Math.round(v.share * 1000) / 10}%`);
    }

    // Why it ended, in words.
    expect(await page.textContent('#end-reason .explanation')).toBe(summary.endReason!.explanation);
    expect(await page.textContent('#end-reason')).not.toContain('null');

    // Files, with working links.
    const files = await page.$$eval('#files a.file', (els) => els.map((e) => (e as unknown as { textContent: string }).textContent));
    expect(files).toEqual(expect.arrayContaining(['mix.wav', 'mix.opus', 'call.json', 'analytics.json']));
    const callJsonStatus = await page.evaluate(async () => (await fetch((document.querySelector('#files a.file[download="call.json"]') as { href: string }).href)).status);
    expect(callJsonStatus).toBe(200);

    // Webhook deliveries: type, status, attempts.
    const hooks = await page.$$eval('#webhooks tr', (els) => els.map((e) => (e as unknown as { textContent: string }).textContent));
    expect(hooks.length).toBe(summary.deliveries.items.length);
    expect(hooks.length).toBeGreaterThan(0);
    expect(summary.deliveries.items.some((d) => d.attempts >= 2 && d.status === 'delivered')).toBe(true);
    expect(hooks.some((t) => t.includes('delivered'))).toBe(true);

    const mix = summary.recordings.find((r) => r.file === 'mix.wav')!;
    if (transcribe) {
      const lines = page.locator('#transcript button.line');
      expect(await lines.count()).toBe(summary.transcript.length);
      expect(summary.transcript.length).toBeGreaterThan(0);
      // A line a few seconds in: clicking it plays the recording from its start.
      const pick = summary.transcript.findIndex((l) => l.startMs > 3000);
      const i = pick >= 0 ? pick : summary.transcript.length - 1;
      const line = summary.transcript[i]!;
      await lines.nth(i).click();
      await expectPlayingFrom(page, (line.startMs - mix.startMediaTimeMs) / 1000);
      await page.waitForSelector('#transcript button.line.current', { timeout: 5_000 });
      await shootFromTop(page);
      // The keyboard: the first line, focused and taken with Enter.
      await lines.nth(0).focus();
      await page.keyboard.press('Enter');
      await expectPlayingFrom(page, (summary.transcript[0]!.startMs - mix.startMediaTimeMs) / 1000);
    } else {
      // Without a transcriber, a timeline bar plays from its start.
      const seg = summary.segments[1] ?? summary.segments[0]!;
      await page.locator('#timeline rect.seg').nth(summary.segments.indexOf(seg)).click();
      await expectPlayingFrom(page, (seg.startMs - mix.startMediaTimeMs) / 1000);
      await shootFromTop(page);
    }
  }, 240_000);
});
