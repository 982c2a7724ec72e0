/**
 * The live dashboard in a real browser (Chromium through playwright-core) during a demo call:
 * the call appears with its roster, level meters move, the talking indicator and the dominant
 * speaker show, live captions appear and change, and the end reason is explained at the end.
 * Saves a screenshot to test-artifacts/dashboard.png.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO, runCli } from './helpers.js';
import { pocketsphinxAvailable } from '../../src/media/hooks/transcribe/pocketsphinx.js';

const CHROMIUM = '/usr/bin/chromium';
// The page functions below run in the browser; this file is compiled without the DOM library.
declare const document: { querySelectorAll(selector: string): ArrayLike<{ textContent: string | null }> & Iterable<{ textContent: string | null }> };


let browser: BrowserContext | undefined;
afterAll(async () => {
  await browser?.close();
});

describe('dashboard', () => {
  it('shows a demo call live: meters, talking, dominant speaker, captions and the end reason', async () => {
    const run = runCli(['demo', '--seconds', '22'], { MEDIABOT_TRANSCRIBER: 'pocketsphinx' });
    try {
      const url = (await run.waitFor(/worker\s+(http:\/\/127\.0\.0\.1:\d+)/, 60_000))[1]!;
      // A fresh user-data-dir per run (playwright wants it as the persistent context's folder).
      browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'mediabot-chromium-')), {
        executablePath: CHROMIUM,
        headless: true,
        viewport: { width: 1280, height: 900 },
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
      });
      const page = await browser.newPage();
      await page.goto(`${url}/`);
      await page.waitForSelector('#status[data-state="live"]', { timeout: 15_000 });
      await page.waitForSelector('.call', { timeout: 30_000 });
      await page.waitForFunction(() => document.querySelectorAll('.call .person').length >= 3, undefined, { timeout: 30_000 });

      // Level meters: sample them for a few seconds; they must move.
      const seen = new Set<string>();
      for (let i = 0; i < 20; i++) {
        for (const w of await page.$$eval('.call[data-state="established"] .meter .fill', (els) => els.map((e) => (e as unknown as { style: { width: string } }).style.width))) seen.add(w);
        await page.waitForTimeout(200);
      }
      const nonZero = [...seen].filter((w) => w !== '' && w !== '0%' && w !== '0.0%');
      expect(nonZero.length).toBeGreaterThan(2);
      await page.waitForSelector('.person.talking', { timeout: 15_000 });
      await page.waitForSelector('.person.dominant', { timeout: 15_000 });

      mkdirSync(join(REPO, 'test-artifacts'), { recursive: true });
      const shot = (): Promise<Buffer> => page.screenshot({ path: join(REPO, 'test-artifacts', 'dashboard.png'), fullPage: true });
      if (pocketsphinxAvailable()) {
        await page.waitForSelector('.caption', { timeout: 40_000 });
        await shot();
        const first = await page.$$eval('.caption', (els) => els.map((e) => e.textContent ?? ''));
        await page.waitForFunction((before) => {
          const now = [...document.querySelectorAll('.caption')].map((e) => e.textContent ?? '');
          return now.length > before.length || now.join('|') !== before.join('|');
        }, first, { timeout: 40_000 });
        // Captions are attributed to people by name.
        const who = await page.$$eval('.caption .who', (els) => els.map((e) => e.textContent ?? ''));
        expect(who.some((n) => /Alice|Brian|Chen/.test(n))).toBe(true);
      } else {
        await shot();
      }

      // At the end the call shows why it ended, in plain words.
      await page.waitForSelector('.call[data-state="terminated"] .ended', { timeout: 90_000 });
      const ended = await page.$eval('.call[data-state="terminated"] .ended', (e) => e.textContent ?? '');
      expect(ended).toContain('Call ended');
      expect(ended.length).toBeGreaterThan(20);
      expect(await run.exit).toBe(0);
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGTERM');
    }
  }, 240_000);
});
