import { describe, expect, it } from 'vitest';
import { FaultInjector, parseFaultRule } from '../../../testing/emulator/faults.js';
import { parseIsoDuration } from '../../../testing/emulator/presence.js';
import { isAllowedWebhookUrl, parseSubscriptionResource } from '../../../testing/emulator/subscriptions.js';
import { MediabotError } from '../../../src/errors.js';
import { compareShape, parseLenientJson } from '../../integration/emulator/helpers.js';

describe('fault rules', () => {
  it('validates rules', () => {
    expect(parseFaultRule({ status: 429, count: 2, retryAfterSeconds: 1.5, pathContains: '/calls', method: 'post' })).toEqual({ status: 429, count: 2, retryAfterSeconds: 1.5, pathContains: '/calls', method: 'POST' });
    for (const bad of [null, [], { status: 200 }, { status: 500, count: 1.5 }, { status: 500, pathContains: '' }, { status: 500, method: 'GE T' }]) {
      expect(() => parseFaultRule(bad)).toThrow(MediabotError);
    }
  });

  it('consumes matching rules in order and leaves others untouched', () => {
    const f = new FaultInjector();
    f.add({ status: 429, count: 2, pathContains: '/presence' });
    f.add({ status: 503, count: 1, method: 'POST' });
    expect(f.take('GET', '/v1.0/communications/calls')).toBeUndefined();
    expect(f.take('GET', '/v1.0/users/x/presence')?.status).toBe(429);
    expect(f.take('POST', '/v1.0/users/x/presence')?.status).toBe(429);
    expect(f.take('GET', '/v1.0/users/x/presence')).toBeUndefined();
    expect(f.take('POST', '/v1.0/communications/calls')?.status).toBe(503);
    expect(f.list()).toEqual([]);
  });
});

describe('subscription resources and URLs', () => {
  it('parses callRecords and presence resources', () => {
    expect(parseSubscriptionResource('/communications/callRecords')).toEqual({ kind: 'callRecords' });
    expect(parseSubscriptionResource('communications/presences/abc')).toEqual({ kind: 'presence', userIds: ['abc'] });
    expect(parseSubscriptionResource("/communications/presences?$filter=id in ('a','b')")).toEqual({ kind: 'presence', userIds: ['a', 'b'] });
    expect(parseSubscriptionResource('me/messages')).toBeUndefined();
    expect(parseSubscriptionResource('/communications/presences?$filter=id in ()')).toBeUndefined();
  });

  it('accepts https anywhere and http only on loopback', () => {
    expect(isAllowedWebhookUrl('https://bot.example/api')).toBe(true);
    expect(isAllowedWebhookUrl('http://127.0.0.1:3978/api/notifications')).toBe(true);
    expect(isAllowedWebhookUrl('http://bot.example/api')).toBe(false);
    expect(isAllowedWebhookUrl('not a url')).toBe(false);
  });
});

describe('ISO 8601 durations', () => {
  it.each([
    ['PT1H', 3_600_000],
    ['PT5M', 300_000],
    ['PT1M30S', 90_000],
    ['P1D', 86_400_000],
    ['PT0.5S', 500],
  ])('%s', (s, ms) => expect(parseIsoDuration(s)).toBe(ms));
  it.each(['P', 'PT', '1H', 'PT1X', ''])('rejects %s', (s) => expect(parseIsoDuration(s)).toBeUndefined());
});

describe('shape comparison used by the faithfulness tests', () => {
  it('reports missing keys, type mismatches and @odata.type differences, and tolerates extras and nulls', () => {
    const vector = { '@odata.type': '#microsoft.graph.call', a: 1, b: 'x', c: null, d: { e: true }, list: [{ f: 1 }] };
    expect(compareShape(vector, { '@odata.type': '#Microsoft.Graph.Call', a: 2, b: 'y', c: { any: 1 }, d: { e: false }, list: [{ f: 3 }], extra: 1 })).toEqual([]);
    expect(compareShape(vector, { '@odata.type': '#microsoft.graph.participant', a: '1', d: {}, list: [] })).toEqual([
      '$.@odata.type: vector #microsoft.graph.call, emulator #microsoft.graph.participant',
      '$.a: vector has number, emulator has string',
      '$.b: missing',
      '$.c: missing',
      '$.d.e: missing',
      '$.list: vector has elements, emulator has an empty array',
    ]);
    expect(compareShape(vector, { ...vector, b: 1 }, { '$.b': 'justified' })).toEqual([]);
  });

  it('parses the docs examples that are not strict JSON', () => {
    expect(parseLenientJson('{ "a": 1, // note\n "b": [1, 2,], "c": "http://x//y", }')).toEqual({ a: 1, b: [1, 2], c: 'http://x//y' });
  });
});
