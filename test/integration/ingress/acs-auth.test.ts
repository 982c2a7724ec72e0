import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { MediaThreadPool } from '../../../src/media/core/threads.js';
import { AcsIngress, acsIngressPlugin } from '../../../src/media/ingress/acs/server.js';
import { startServer, waitFor } from './helpers.js';

function connect(url: string, headers: Record<string, string> = {}): Promise<{ code: number; opened: boolean }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers: { 'x-ms-call-connection-id': 'auth-call', ...headers } });
    let opened = false;
    ws.on('open', () => {
      opened = true;
      setTimeout(() => ws.close(1000), 200);
    });
    ws.on('close', (code) => resolve({ code, opened }));
    ws.on('error', () => undefined);
  });
}

describe('ACS ingress limits', () => {
  it('closes a connection for a new call beyond maxCalls with 1013', async () => {
    const pool = new MediaThreadPool(1);
    const ingress = new AcsIngress({ pool, maxCalls: 1, endGraceMs: 50 });
    const s = await startServer(async (app) => app.register(acsIngressPlugin, { ingress }));
    try {
      const first = new WebSocket(`${s.ws}/media/acs`, { headers: { 'x-ms-call-connection-id': 'cap-1' } });
      await new Promise((r) => first.once('open', r));
      const code = await new Promise<number>((resolve) => {
        const second = new WebSocket(`${s.ws}/media/acs`, { headers: { 'x-ms-call-connection-id': 'cap-2' } });
        second.on('close', (c) => resolve(c));
        second.on('error', () => undefined);
      });
      expect(code).toBe(1013);
      expect(pool.hasCall('cap-2')).toBe(false);
      expect(ingress.metrics.get('acs', 'refusedOverCapacity')).toBe(1);
      first.close();
    } finally {
      await ingress.close();
      await s.app.close();
      await pool.close();
    }
  });
});

describe('ACS ingress tokens', () => {
  it('refuses a connection without the token (4401, no call) and accepts ?token= or a bearer header', async () => {
    const pool = new MediaThreadPool(1);
    const started: string[] = [];
    const ingress = new AcsIngress({ pool, tokens: ['acs-secret'], endGraceMs: 50, onCallStarted: (i) => started.push(i.callId) });
    const s = await startServer(async (app) => app.register(acsIngressPlugin, { ingress }));
    try {
      expect((await connect(`${s.ws}/media/acs`)).code).toBe(4401);
      expect((await connect(`${s.ws}/media/acs?token=wrong`)).code).toBe(4401);
      expect(started).toEqual([]);
      expect(pool.hasCall('auth-call')).toBe(false);
      expect(ingress.metrics.get('acs', 'MEDIABOT_INGRESS_UNAUTHORIZED')).toBe(2);
      expect((await connect(`${s.ws}/media/acs?token=acs-secret`)).code).toBe(1000);
      await waitFor(() => started.includes('auth-call'), 5000, 'call started');
      await waitFor(() => !pool.hasCall('auth-call'), 5000, 'call ended');
      expect((await connect(`${s.ws}/media/acs`, { authorization: 'Bearer acs-secret' })).code).toBe(1000);
    } finally {
      await ingress.close();
      await s.app.close();
      await pool.close();
    }
  });
});
