/**
 * Fuzz targets, one per parser of untrusted bytes (see harness.ts): RTP, RTCP, bridge media frames
 * and control messages, ACS messages, Ogg Opus files read back, Graph notifications. Every throw
 * must be a MediabotError; nothing may hang. `FUZZ_MS=30000 npx vitest run test/fuzz` runs longer.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeOggOpusFile } from '../../src/media/codec/ogg-opus-file.js';
import { parseControlMessage } from '../../src/ingress/bridge/schemas.js';
import { decodeFrameHeader, FrameCodec, HEADER_BYTES, pcmFromPayload } from '../../src/ingress/bridge/wire.js';
import { parseAcsMessage } from '../../src/ingress/acs/messages.js';
import { parseRtp } from '../../src/media/wire/rtp.js';
import { parseRtcp } from '../../src/media/wire/rtcp.js';
import { parseCallNotifications, parseChangeNotifications, parseNotificationBody } from '../../src/signaling/notifications.js';
import { bytesFrom, FUZZ_MS, fuzz, hex, quote, seeds, textFrom } from './harness.js';

const TIMEOUT = FUZZ_MS + 30_000;
const scratch = mkdtempSync(join(tmpdir(), 'mediabot-fuzz-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('fuzz harness', () => {
  it('reports an untyped throw and a hang (it would not hide a finding)', async () => {
    await expect(fuzz(bytesFrom('rtp'), (b) => {
      if (b.length > 4) throw new TypeError('boom');
    }, hex)).rejects.toThrow(/untyped throw on [0-9a-f]+.*TypeError: boom/s);
    await expect(fuzz(bytesFrom('rtp'), async (b) => {
      if (b.length > 4) await new Promise((r) => setTimeout(r, 1200));
    }, hex)).rejects.toThrow(/took \d+ ms/);
  }, TIMEOUT);
});

describe('fuzz: parsers of untrusted bytes throw only MediabotError and never hang', () => {
  it('RTP packets', async () => {
    const r = await fuzz(bytesFrom('rtp'), (b) => parseRtp(b), hex);
    expect(r.runs).toBeGreaterThan(100);
    // The mutations reach the parser's refusals, not only its happy path.
    expect(r.typedErrors).toBeGreaterThan(10);
    for (const s of seeds('rtp')) expect(parseRtp(s).payloadType).toBeGreaterThan(0);
  }, TIMEOUT);

  it('RTCP compound packets', async () => {
    const r = await fuzz(bytesFrom('rtcp'), (b) => parseRtcp(b), hex);
    expect(r.runs).toBeGreaterThan(100);
    for (const s of seeds('rtcp')) expect(parseRtcp(s).length).toBeGreaterThan(0);
  }, TIMEOUT);

  it('bridge media frames', async () => {
    const r = await fuzz(
      bytesFrom('bridge-frame'),
      (b) => {
        const h = decodeFrameHeader(b);
        if (h.codec === FrameCodec.Pcm16k) pcmFromPayload(b, HEADER_BYTES, h.payloadLength);
        return h;
      },
      hex,
    );
    expect(r.runs).toBeGreaterThan(100);
    for (const s of seeds('bridge-frame')) expect(decodeFrameHeader(s).version).toBe(1);
  }, TIMEOUT);

  it('bridge control messages', async () => {
    const r = await fuzz(textFrom('bridge-control'), (t) => parseControlMessage(t, 'fromSidecar'), quote);
    expect(r.runs).toBeGreaterThan(100);
  }, TIMEOUT);

  it('ACS media streaming messages', async () => {
    const r = await fuzz(textFrom('acs'), (t) => parseAcsMessage(t), quote);
    expect(r.runs).toBeGreaterThan(100);
    for (const s of seeds('acs')) expect(parseAcsMessage(Buffer.from(s).toString('utf8')).kind).toBeDefined();
  }, TIMEOUT);

  it('Graph notification bodies (after JSON parsing, as the routes see them)', async () => {
    const r = await fuzz(
      textFrom('notifications'),
      (t) => {
        let body: unknown;
        try {
          body = JSON.parse(t);
        } catch {
          return null; // the HTTP layer answers 400 before any parser sees it
        }
        parseNotificationBody(body);
        parseChangeNotifications(body);
        return parseCallNotifications(body);
      },
      quote,
    );
    expect(r.runs).toBeGreaterThan(100);
  }, TIMEOUT);

  it('Ogg Opus files read back', async () => {
    let n = 0;
    const r = await fuzz(
      bytesFrom('ogg'),
      async (b) => {
        const file = join(scratch, `in-${n++ % 4}.opus`);
        writeFileSync(file, b);
        return decodeOggOpusFile(file);
      },
      hex,
    );
    expect(r.runs).toBeGreaterThan(20);
    const ok = join(scratch, 'seed.opus');
    writeFileSync(ok, seeds('ogg')[0]!);
    expect((await decodeOggOpusFile(ok)).length).toBeGreaterThan(0);
  }, TIMEOUT);
});
