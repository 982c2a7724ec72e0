import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { MediaThreadPool } from '../../../src/media/threads/pool.js';
import { BridgeIngress, bridgeIngressPlugin } from '../../../src/ingress/bridge/adapter.js';
import { encodeFrame, FrameCodec, FrameKind, payloadFromPcm } from '../../../src/ingress/bridge/wire.js';
import { startServer, waitFor } from './helpers.js';

describe('media bridge backpressure', () => {
  it('a sidecar that stops reading gets outbound frames dropped and counted, then is disconnected; its calls wait for a resume', async () => {
    const pool = new MediaThreadPool(1);
    const ingress = new BridgeIngress({ pool, tokens: ['t'], outbound: 'mix', sendHighWaterBytes: 16 * 1024, slowConsumerMs: 1000, heartbeatMs: 60_000, resumeWindowMs: 60_000 });
    const s = await startServer(async (app) => app.register(bridgeIngressPlugin, { ingress }));
    try {
      const ws = new WebSocket(`${s.ws}/media/bridge`);
      await new Promise((r) => ws.once('open', r));
      ws.send(JSON.stringify({ type: 'hello', protocol: 'mediabot-bridge', versions: [1], token: 't', sidecarId: 'slow' }));
      await new Promise((r) => ws.once('message', r));
      const calls = 20;
      for (let i = 0; i < calls; i++) ws.send(JSON.stringify({ type: 'sessionStarted', callId: `slow-${i}`, callIndex: i }));
      // every call gets a tone, so every call has outbound audio ('mix'): 20 × 50 frames/s × 660 bytes
      const tone = payloadFromPcm(new Int16Array(320).map((_, i) => Math.round(5000 * Math.sin(i / 5))));
      let n = 0;
      const sender = setInterval(() => {
        for (let i = 0; i < calls; i++) ws.send(encodeFrame({ kind: FrameKind.Unmixed, codec: FrameCodec.Pcm16k, flags: 0, callIndex: i, sourceId: 1, sequence: n, timestampMs: n * 20 }, tone));
        n++;
      }, 20);
      await waitFor(() => ingress.metrics.get('bridge', 'outboundFrames') > 500, 15_000, 'outbound flowing');
      // stop reading: the kernel buffers fill, then the socket's queue, then frames are dropped
      (ws as unknown as { _socket: { pause(): void } })._socket.pause();
      await waitFor(() => ingress.metrics.get('bridge', 'MEDIABOT_INGRESS_SLOW_CONSUMER') === 1, 45_000, 'slow consumer disconnected');
      clearInterval(sender);
      expect(ingress.metrics.get('bridge', 'outboundDropped')).toBeGreaterThanOrEqual(40); // ≥ 1 s of drops before the cut
      await waitFor(() => ingress.stats().connected === 0, 5000, 'detached');
      // the calls survive the disconnect (resume window), still in the media pool
      expect(ingress.calls().filter((c) => !c.connected)).toHaveLength(calls);
      for (let i = 0; i < calls; i++) expect(pool.hasCall(`slow-${i}`)).toBe(true);
      ws.terminate();
    } finally {
      await ingress.close();
      await s.app.close();
      await pool.close();
    }
  }, 90_000);
});
