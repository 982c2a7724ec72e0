/**
 * The dashboard in a real browser (Chromium through playwright-core) shows a bot held in a
 * meeting's lobby as its own state ("in lobby", not connecting), then the lobby timeout's reason
 * code when it gives up. Saves a screenshot to test-artifacts/dashboard-lobby.png.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { startMediabot, type ComposedMediabot } from '../../src/app/mediabot.js';
import { silentLogger } from '../../src/logger.js';
import { testConfig } from '../integration/app/helpers.js';
import { REPO } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';

let browser: BrowserContext | undefined;
let bot: ComposedMediabot | undefined;
afterAll(async () => {
  await browser?.close();
  await bot?.close();
});

describe('dashboard: the lobby', () => {
  it('shows the bot waiting in the lobby, then why it left', async () => {
    bot = await startMediabot(testConfig({ MEDIABOT_TRANSCRIBER: 'none', MEDIABOT_RECORD: 'off' }), { logger: silentLogger });
    browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'mediabot-chromium-')), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 700 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    });
    const page = await browser.newPage();
    await page.goto(`${bot.url}/`);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 15_000 });

    const meeting = bot.emulator!.createMeeting({ people: 1, lobby: true });
    await bot.calls.join({ joinWebUrl: meeting.joinWebUrl, leave: { lobbyTimeoutS: 4 } });
    await page.waitForSelector('.call[data-state="inLobby"] .badge.state-inLobby', { timeout: 15_000 });
    expect(await page.$eval('.call .badge', (e) => e.textContent)).toBe('in lobby');
    mkdirSync(join(REPO, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: join(REPO, 'test-artifacts', 'dashboard-lobby.png'), fullPage: true });

    await page.waitForSelector('.call[data-state="terminated"] .ended .reason-code', { timeout: 20_000 });
    expect(await page.$eval('.call .ended .reason-code', (e) => e.textContent)).toBe('MEDIABOT_LOBBY_TIMEOUT');
    expect(await page.$eval('.call .ended', (e) => e.textContent ?? '')).toContain("waited in the meeting's lobby");
  }, 90_000);
});
