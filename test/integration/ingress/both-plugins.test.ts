import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { MediaThreadPool } from '../../../src/media/threads/pool.js';
import { AcsIngress, acsIngressPlugin } from '../../../src/ingress/acs/adapter.js';
import { BridgeIngress, bridgeIngressPlugin } from '../../../src/ingress/bridge/adapter.js';

describe('ingress plugins on one fastify app', () => {
  it('mounts /media/acs and /media/bridge side by side (each registers @fastify/websocket only if needed)', async () => {
    const pool = new MediaThreadPool(1);
    const bridge = new BridgeIngress({ pool, tokens: ['t'] });
    const acs = new AcsIngress({ pool, endGraceMs: 50 });
    const app = Fastify();
    await app.register(acsIngressPlugin, { ingress: acs });
    await app.register(bridgeIngressPlugin, { ingress: bridge });
    app.get('/plain', async () => ({ ok: true }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    const port = (app.server.address() as { port: number }).port;
    try {
      const b = new WebSocket(`ws://127.0.0.1:${port}/media/bridge`);
      await new Promise((r) => b.once('open', r));
      b.send(JSON.stringify({ type: 'hello', protocol: 'mediabot-bridge', versions: [1], token: 't', sidecarId: 's' }));
      const welcome = await new Promise<Record<string, unknown>>((r) => b.once('message', (d) => r(JSON.parse(d.toString()) as Record<string, unknown>)));
      expect(welcome.type).toBe('welcome');
      const a = new WebSocket(`ws://127.0.0.1:${port}/media/acs`, { headers: { 'x-ms-call-connection-id': 'both-1' } });
      await new Promise((r) => a.once('open', r));
      expect(acs.listCalls().map((c) => c.callId)).toEqual(['both-1']);
      expect((await fetch(`http://127.0.0.1:${port}/plain`)).status).toBe(200);
      a.close();
      b.close();
    } finally {
      await bridge.close();
      await acs.close();
      await app.close();
      await pool.close();
    }
  });
});
