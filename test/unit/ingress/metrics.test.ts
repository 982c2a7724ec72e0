import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { IngressMetrics } from '../../../src/ingress/common/metrics.js';
import { FrameRateGate } from '../../../src/ingress/common/backpressure.js';

describe('IngressMetrics', () => {
  it('counts per adapter and exposes the counters on a Prometheus registry', async () => {
    const m = new IngressMetrics();
    const registry = new Registry();
    m.register(registry);
    m.inc('bridge', 'frames', 3);
    m.fault('bridge', 'MEDIABOT_INGRESS_BAD_FRAME');
    m.fault('acs', 'MEDIABOT_INGRESS_BAD_MESSAGE');
    expect(m.snapshot()).toEqual({ acs: { MEDIABOT_INGRESS_BAD_MESSAGE: 1 }, bridge: { frames: 3, MEDIABOT_INGRESS_BAD_FRAME: 1 } });
    const text = await registry.metrics();
    expect(text).toContain('mediabot_ingress_events_total{adapter="bridge",event="frames"} 3');
    expect(text).toContain('mediabot_ingress_events_total{adapter="acs",event="MEDIABOT_INGRESS_BAD_MESSAGE"} 1');
    m.inc('bridge', 'frames');
    expect(await registry.metrics()).toContain('mediabot_ingress_events_total{adapter="bridge",event="frames"} 4');
  });
});

describe('FrameRateGate', () => {
  it('admits real time plus the burst allowance, and refills at 50 frames per second', () => {
    let now = 0;
    const gate = new FrameRateGate(100, 50, () => now);
    let admitted = 0;
    for (let i = 0; i < 1000; i++) if (gate.admit()) admitted++;
    expect(admitted).toBe(100);
    now += 1000; // one second later: 50 more
    admitted = 0;
    for (let i = 0; i < 1000; i++) if (gate.admit()) admitted++;
    expect(admitted).toBe(50);
    // a sender at exactly real time is never cut
    for (let i = 0; i < 500; i++) {
      now += 20;
      expect(gate.admit()).toBe(true);
    }
  });
});
