/**
 * The ended-calls list in Chromium with more calls than one page, stored earlier (as a worker finds
 * them after a restart): the newest 50 first, "Show older calls" adds the rest; a call with nothing
 * but its end reason left (no speech, recordings, files or webhooks) gets a page that says so, and
 * an unknown id a clear message. The API token comes from ?token= as on the live page.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { startMediabot, type ComposedMediabot } from '../../src/app/mediabot.js';
import { silentLogger } from '../../src/logger.js';
import { testConfig } from '../integration/app/helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'dashboard-paging-token-0123456789abcdef';

let browser: BrowserContext | undefined;
let bot: ComposedMediabot | undefined;
afterAll(async () => {
  await browser?.close();
  await bot?.close();
});

const LEFT_ALONE = { code: null, subcode: null, message: 'MEDIABOT_LEFT_ALONE', terminationReason: 'MEDIABOT_LEFT_ALONE', explanation: 'mediabot left because no human was left in the call.', hint: 'Raise MEDIABOT_LEAVE_WHEN_ALONE_S to stay longer.', reasonCode: 'MEDIABOT_LEFT_ALONE' };

describe('dashboard: many ended calls', () => {
  it('pages the ended calls and shows a call with nothing but its end reason', async () => {
    bot = await startMediabot(testConfig({ MEDIABOT_API_TOKEN: TOKEN, MEDIABOT_TRANSCRIBER: 'none', MEDIABOT_RECORD: 'off' }), { logger: silentLogger });
    await bot.listen();
    const t0 = Date.parse('2026-03-01T12:00:00Z');
    for (let i = 0; i < 60; i++) {
      const endedAt = new Date(t0 - i * 60_000).toISOString();
      bot.history.endings.record({ callId: `stored-${i}`, mediaMode: 'app', createdAt: new Date(t0 - i * 60_000 - 45_000).toISOString(), endedAt, termination: i === 0 ? LEFT_ALONE : null, speakers: [] });
    }
    browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'mediabot-chromium-')), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    });
    const page = await browser.newPage();
    await page.goto(`${bot.url}/?token=${TOKEN}`);
    const rows = page.locator('#history-list tr');
    await page.waitForFunction(() => (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll('#history-list tr').length === 50, undefined, { timeout: 15_000 });
    expect(await rows.first().getAttribute('data-call-id')).toBe('stored-0');
    expect(await rows.last().getAttribute('data-call-id')).toBe('stored-49');
    expect(await rows.first().textContent()).toContain('45 s');
    expect(await rows.first().textContent()).toContain('MEDIABOT_LEFT_ALONE');
    expect(await page.isVisible('#history-more')).toBe(true);
    await page.click('#history-more');
    await page.waitForFunction(() => (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll('#history-list tr').length === 60, undefined, { timeout: 15_000 });
    expect(await rows.last().getAttribute('data-call-id')).toBe('stored-59');
    expect(await page.isHidden('#history-more')).toBe(true);

    // Its page (the token kept from the main page): the end reason, and plain words for what is missing.
    await Promise.all([page.waitForURL(/\/call\.html\?id=stored-0$/), page.click('#history-list tr[data-call-id="stored-0"] a.open')]);
    await page.waitForSelector('#content:not([hidden])', { timeout: 15_000 });
    expect(await page.textContent('#end-reason .explanation')).toBe(LEFT_ALONE.explanation);
    expect(await page.textContent('#end-reason .reason-code')).toBe('MEDIABOT_LEFT_ALONE');
    expect(await page.textContent('#end-reason .hint')).toBe(LEFT_ALONE.hint);
    expect(await page.textContent('#timeline')).toContain('Nobody was heard');
    expect(await page.textContent('#transcript')).toContain('No speech was transcribed');
    expect(await page.textContent('#files')).toContain('No files are left');
    expect(await page.textContent('#webhooks-summary')).toContain('No webhooks were sent');
    expect(await page.textContent('#player-note')).toContain('not recorded');
    expect(await page.isHidden('#player')).toBe(true);

    await page.goto(`${bot.url}/call.html?id=never-was`);
    await page.waitForSelector('#message:not([hidden])');
    await page.waitForFunction(() => !(globalThis as unknown as { document: { querySelector(s: string): { textContent: string } } }).document.querySelector('#message').textContent.startsWith('Loading'));
    expect(await page.textContent('#message')).toContain('Nothing is stored for this call');
  }, 120_000);
});
