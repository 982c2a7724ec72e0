/** The Host/Origin rule as a pure function (the attacks on a real worker are in worker-sockets.test.ts). */
import { describe, expect, it } from 'vitest';
import { checkHostAndOrigin } from '../../src/server/origin.js';

const loopback = { listenHost: '127.0.0.1' };
const exposed = { listenHost: '0.0.0.0', publicUrl: 'https://bot.example.com', allowedOrigins: ['https://ops.example.net'] };

describe('checkHostAndOrigin', () => {
  it('accepts non-browser clients and the worker’s own pages', () => {
    expect(checkHostAndOrigin(loopback, '127.0.0.1:3978', undefined).ok).toBe(true);
    expect(checkHostAndOrigin(loopback, 'localhost:3978', 'http://localhost:3978').ok).toBe(true);
    expect(checkHostAndOrigin(loopback, '[::1]:3978', 'http://[::1]:3978').ok).toBe(true);
    expect(checkHostAndOrigin(exposed, 'bot.example.com', 'https://bot.example.com').ok).toBe(true);
    expect(checkHostAndOrigin(exposed, '10.0.0.5:3978', 'https://ops.example.net').ok).toBe(true);
  });
  it('refuses rebinding hosts, foreign origins, null and odd schemes', () => {
    expect(checkHostAndOrigin(loopback, 'attacker.example:3978', undefined)).toEqual({ ok: false, reason: 'host' });
    expect(checkHostAndOrigin(loopback, undefined, undefined)).toEqual({ ok: false, reason: 'host' });
    expect(checkHostAndOrigin(loopback, '127.0.0.1:3978', 'https://evil.example')).toEqual({ ok: false, reason: 'origin' });
    expect(checkHostAndOrigin(loopback, '127.0.0.1:3978', 'null')).toEqual({ ok: false, reason: 'origin' });
    expect(checkHostAndOrigin(loopback, '127.0.0.1:3978', 'http://127.0.0.1:9999')).toEqual({ ok: false, reason: 'origin' });
    expect(checkHostAndOrigin(exposed, 'bot.example.com.evil.example', 'https://bot.example.com')).toEqual({ ok: false, reason: 'host' });
    expect(checkHostAndOrigin(loopback, '127.0.0.1:3978', 'file:///')).toEqual({ ok: false, reason: 'origin' });
  });
  it('tolerates a public URL template it cannot parse', () => {
    expect(checkHostAndOrigin({ listenHost: '127.0.0.1', publicUrl: 'https://{instance}' }, '127.0.0.1:1', undefined).ok).toBe(true);
  });
});
