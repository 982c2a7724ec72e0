/**
 * API errors show callers no machine details: absolute paths become `<path>`, tool stderr after
 * the first line is cut, and query secrets are redacted; the full message stays in the log.
 * A real server on 127.0.0.1 with a route that fails like a prompt tool does.
 */
import type { FastifyPluginAsync } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediabotError } from '../../src/errors.js';
import { publicMessage } from '../../src/util/redact.js';
import { newSigningKey, startBot, startKeyServer, type Bot, type KeyServer } from '../integration/signaling/helpers.js';

let keys: KeyServer;
let bot: Bot;
const failing: FastifyPluginAsync = async (app) => {
  app.get('/fail', async () => {
    throw new MediabotError('MEDIABOT_PROMPT_FAILED', `espeak-ng failed on /var/lib/mediabot/prompts/tmp-1.wav (fetched from https://cdn.example/p.wav?sig=abc123secret)\nespeak-ng: /usr/lib/x86_64-linux-gnu/espeak-ng-data: No such file\n    at spawn (${process.cwd()}/src/app/prompts.ts:40:11)`);
  });
};

beforeAll(async () => {
  keys = await startKeyServer([await newSigningKey('k1')]);
  bot = await startBot({ openIdUrl: keys.openIdUrl, extra: { v1Plugins: [failing] } });
});
afterAll(async () => {
  await bot?.close();
  await keys?.close();
});

describe('error messages', () => {
  it('keep paths, stderr and secrets out of API answers, and in the log', async () => {
    const res = await fetch(`${bot.baseUrl}/v1/fail`);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(res.status).toBe(502);
    expect(body.error.code).toBe('MEDIABOT_PROMPT_FAILED');
    expect(body.error.message).toBe('espeak-ng failed on <path> (fetched from https://cdn.example/p.wav?sig=[redacted])');
    expect(bot.logText()).toContain('/var/lib/mediabot/prompts/tmp-1.wav');
  });

  it('publicMessage keeps URL paths and plain text', () => {
    expect(publicMessage('no call with id abc')).toBe('no call with id abc');
    expect(publicMessage('no route GET /v1/calls/x')).toBe('no route GET /v1/calls/x');
    expect(publicMessage('cannot open C:\\data\\rec\\mix.wav')).toBe('cannot open <path>');
    expect(publicMessage(`read ${process.cwd()}/x/y failed`, [process.cwd()])).toBe('read <path>/x/y failed');
  });
});
