/**
 * Attacks on a call's RTP port, over real UDP on 127.0.0.1 against a real media thread: taking over
 * a participant's media (hijack), reflection through one-packet sources, RTCP BYE from a stranger,
 * garbage SSRCs, and senders outside the allowed peers. The rules: src/media/session/rtp/source-guard.ts.
 */
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createMediaMetrics } from '../../src/app/media-metrics.js';
import { loadConfig } from '../../src/config/config.js';
import { createOpusEncoder } from '../../src/media/codec/opus.js';
import type { MediaEvent } from '../../src/media/hooks/api.js';
import type { CallSpec } from '../../src/media/session/spec.js';
import { RELATCH_PACKETS } from '../../src/media/session/rtp/source-guard.js';
import { MediaThreadPool } from '../../src/media/threads/pool.js';
import { isRtcp, serializeRtp } from '../../src/media/wire/rtp.js';
import { serializeRtcp } from '../../src/media/wire/rtcp.js';
import { speech48 } from '../helpers/speech.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Twenty-five seconds' worth of Opus packets of speech, encoded once. */
const PACKETS: Uint8Array[] = (() => {
  const pcm = speech48('Only the address a participant speaks from may hear its mix, and nobody else may take its place in the call.');
  const enc = createOpusEncoder();
  const buf = new Uint8Array(1276);
  const out: Uint8Array[] = [];
  for (let i = 0; i + 960 <= pcm.length; i += 960) out.push(buf.slice(0, enc.encode(pcm.subarray(i, i + 960), buf)));
  return out;
})();

/** A UDP peer on 127.0.0.x that records what the worker sends it. */
class Peer {
  readonly socket: Socket = createSocket('udp4');
  readonly rtpIn: number[] = [];
  rtcpIn = 0;
  seq = 0;
  port = 0;
  constructor(readonly ssrc: number) {
    this.socket.on('message', (m) => {
      if (isRtcp(m)) this.rtcpIn++;
      else this.rtpIn.push(performance.now());
    });
  }

  async bind(address = '127.0.0.1'): Promise<this> {
    this.socket.bind(0, address);
    await once(this.socket, 'listening');
    this.port = this.socket.address().port;
    return this;
  }

  /** One packet of speech as `ssrc` (default its own), continuing `seq`. */
  send(to: number, ssrc = this.ssrc, seq = this.seq++): void {
    const payload = PACKETS[seq % PACKETS.length]!;
    this.socket.send(serializeRtp({ payloadType: 111, sequence: seq & 0xffff, timestamp: (seq * 960) >>> 0, ssrc, payload }), to, '127.0.0.1');
  }

  receivedBetween(from: number, to: number): number {
    return this.rtpIn.filter((t) => t >= from && t <= to).length;
  }

  close(): void {
    this.socket.close();
  }
}

/** Runs `step` every 20 ms for `ms` (drift-corrected, as a real sender paces). */
async function paced(ms: number, step: (n: number) => void): Promise<void> {
  const t0 = performance.now();
  for (let n = 0; n * 20 < ms; n++) {
    step(n);
    await sleep(Math.max(0, t0 + 20 * (n + 1) - performance.now()));
  }
}

describe('RTP sources cannot be hijacked, reflected, removed or invented by strangers', () => {
  const pool = new MediaThreadPool(1);
  const events: MediaEvent[] = [];
  pool.onEvent((e) => events.push(e));
  afterAll(() => pool.close());

  let n = 0;
  const open = async (rtp: Partial<NonNullable<CallSpec['rtp']>> = {}): Promise<{ callId: string; port: number }> => {
    const callId = `rtp-guard-${++n}`;
    const call = await pool.createCall({ callId, rtp: { host: '127.0.0.1', port: 0, ...rtp } });
    return { callId, port: call.rtp!.port };
  };
  const transport = async (callId: string): Promise<Record<string, number>> => (await pool.callStats(callId)).transport!;
  const sourceIds = async (callId: string): Promise<string[]> => (await pool.callStats(callId)).sources.map((s) => s.sourceId).filter((id) => id.startsWith('ssrc-'));

  it('hijack: while A pauses, A\'s SSRC from another port is dropped; A keeps its mix and the attacker gets nothing', async () => {
    const { callId, port } = await open();
    const a = await new Peer(0xa).bind();
    const b = await new Peer(0xb).bind();
    const attacker = await new Peer(0x666).bind();
    await paced(1000, () => {
      a.send(port);
      b.send(port);
    });
    // A pauses for 1.5 s (under the 2 s re-latch silence); the attacker sends A's SSRC, continuing A's numbering.
    const pauseFrom = performance.now();
    await paced(1500, () => {
      b.send(port);
      attacker.send(port, a.ssrc, a.seq++);
    });
    const pauseTo = performance.now();
    await paced(400, () => {
      a.send(port);
      b.send(port);
    });
    await sleep(200);
    const t = await transport(callId);
    const sources = (await pool.callStats(callId)).sources;
    await pool.endCall(callId);
    for (const p of [a, b, attacker]) p.close();

    expect(attacker.rtpIn).toHaveLength(0);
    expect(attacker.rtcpIn).toBe(0);
    // A's mix kept flowing to A's own port during the pause (50 packets a second; the machine may be loaded).
    expect(a.receivedBetween(pauseFrom + 100, pauseTo)).toBeGreaterThan(30);
    expect(t['wrongAddress']).toBeGreaterThanOrEqual(70);
    expect(t['relatched']).toBe(0);
    expect(sources.find((s) => s.sourceId === `ssrc-${a.ssrc}`)?.port).toBe(a.port);
  }, 20_000);

  it('NAT rebinding: after 2 s of silence from the latched address, a new address sending in sequence takes the SSRC over, and hears the mix once proven', async () => {
    const { callId, port } = await open();
    const a = await new Peer(0xa1).bind();
    const b = await new Peer(0xb1).bind();
    const rebound = await new Peer(0xa1).bind();
    await paced(600, () => {
      a.send(port);
      b.send(port);
    });
    await paced(2300, () => b.send(port)); // A's old address goes silent
    await paced(800, () => {
      b.send(port);
      rebound.send(port, a.ssrc, a.seq++);
    });
    await sleep(200);
    const t = await transport(callId);
    const sources = (await pool.callStats(callId)).sources;
    await pool.endCall(callId);
    for (const p of [a, b, rebound]) p.close();
    expect(t['relatched']).toBe(1);
    expect(t['wrongAddress']).toBeGreaterThanOrEqual(RELATCH_PACKETS - 1);
    expect(sources.find((s) => s.sourceId === `ssrc-${a.ssrc}`)?.port).toBe(rebound.port);
    expect(rebound.rtpIn.length).toBeGreaterThan(10);
  }, 20_000);

  it('reflection: 200 packets with 200 new SSRCs from one socket get (almost) nothing back and create no participants', async () => {
    const { callId, port } = await open();
    const attacker = await new Peer(0).bind();
    for (let i = 0; i < 200; i++) {
      attacker.send(port, 0x10000 + i, i);
      if (i % 20 === 19) await sleep(5);
    }
    await sleep(1500);
    const t = await transport(callId);
    const ids = await sourceIds(callId);
    await pool.endCall(callId);
    attacker.close();
    // Before the source guard: about 10,900 packets in 1.5 s (each one-packet source got its mix until the idle timeout).
    expect(attacker.rtpIn.length + attacker.rtcpIn).toBeLessThanOrEqual(5);
    expect(ids).toHaveLength(0);
    expect(t['sourcesAdmitted']).toBe(0);
    expect(t['probationPackets']).toBe(200);
  }, 20_000);

  it('new sources per second and participants per call are capped, counted, and unproven sources get no media', async () => {
    const rated = await open({ newSourcesPerSecond: 10 });
    const capped = await open({ maxParticipants: 4, newSourcesPerSecond: 1000 });
    const attacker = await new Peer(0).bind();
    // 40 SSRCs that each send 3 packets in sequence (enough to be admitted, too few to prove themselves).
    for (let i = 0; i < 40; i++) {
      for (let k = 0; k < 3; k++) {
        attacker.send(rated.port, 0x20000 + i, k);
        attacker.send(capped.port, 0x30000 + i, k);
      }
      if (i % 10 === 9) await sleep(5);
    }
    await sleep(1000);
    const tr = await transport(rated.callId);
    const tc = await transport(capped.callId);
    const ratedIds = await sourceIds(rated.callId);
    const cappedIds = await sourceIds(capped.callId);
    await pool.endCall(rated.callId);
    await pool.endCall(capped.callId);
    attacker.close();
    // A burst of 10 plus 10 a second over however long the burst took to arrive.
    expect(tr['sourcesAdmitted']).toBeGreaterThanOrEqual(10);
    expect(tr['sourcesAdmitted']).toBeLessThanOrEqual(14);
    expect(tr['sourcesRefused']).toBe(40 - tr['sourcesAdmitted']!);
    expect(ratedIds.length).toBe(tr['sourcesAdmitted']);
    expect(tc['sourcesAdmitted']).toBe(4);
    expect(tc['sourcesRefused']).toBe(36);
    expect(cappedIds).toHaveLength(4);
    // None of them decoded five frames: nothing was sent back.
    expect(attacker.rtpIn).toHaveLength(0);
    expect(tr['withheld']! + tc['withheld']!).toBeGreaterThan(0);
  }, 20_000);

  it("RTCP BYE for B from a third address does not remove B; B's own BYE does", async () => {
    const { callId, port } = await open();
    const b = await new Peer(0xb2).bind();
    const stranger = await new Peer(0x5).bind();
    await paced(400, () => b.send(port));
    const bye = serializeRtcp([{ type: 'bye', ssrcs: [b.ssrc], reason: 'bye' }]);
    stranger.socket.send(bye, port, '127.0.0.1');
    await paced(300, () => b.send(port));
    const afterStranger = await sourceIds(callId);
    const t = await transport(callId);
    const removedEarly = events.some((e) => e.type === 'source.removed' && e.callId === callId);
    b.socket.send(bye, port, '127.0.0.1');
    for (let i = 0; i < 50 && !events.some((e) => e.type === 'source.removed' && e.callId === callId); i++) await sleep(20);
    const afterOwn = await sourceIds(callId);
    await pool.endCall(callId);
    b.close();
    stranger.close();
    expect(afterStranger).toEqual([`ssrc-${b.ssrc}`]);
    expect(removedEarly).toBe(false);
    expect(t['rtcpRefused']).toBe(1);
    expect(afterOwn).toEqual([]);
  }, 20_000);

  it('malformed and garbage packets never become participants, and a real sender still joins', async () => {
    const { callId, port } = await open();
    const attacker = await new Peer(0).bind();
    let seed = 12345;
    const rand = (): number => {
      seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
      return seed >>> 16;
    };
    for (let i = 0; i < 400; i++) {
      const len = 12 + (rand() % 200);
      const g = Uint8Array.from({ length: len }, () => rand() & 0xff);
      g[0] = 0x80; // version 2, no padding, extension or CSRCs: it parses as RTP with a random SSRC
      if (i % 4 === 0) g[1] = 111; // some even carry the Opus payload type
      attacker.socket.send(g, port, '127.0.0.1');
      if (i % 50 === 49) await sleep(5);
    }
    attacker.socket.send(Uint8Array.of(0x80, 0x6f, 0x00), port, '127.0.0.1');
    await sleep(500);
    const before = await sourceIds(callId);
    const t = await transport(callId);
    const real = await new Peer(0xc).bind();
    await paced(400, () => real.send(port));
    await sleep(100);
    const after = await sourceIds(callId);
    await pool.endCall(callId);
    attacker.close();
    real.close();
    expect(before).toEqual([]);
    expect(events.some((e) => e.type === 'source.added' && e.callId === callId && e.sourceId !== `ssrc-${real.ssrc}`)).toBe(false);
    expect(t['sourcesAdmitted']).toBe(0);
    expect(t['malformed']! + t['probationPackets']!).toBeGreaterThanOrEqual(400);
    expect(after).toEqual([`ssrc-${real.ssrc}`]);
  }, 20_000);

  it('with allowed peers, only the negotiated address is heard', async () => {
    const { callId, port } = await open({ allowedPeers: ['127.0.0.2'] });
    const outsider = await new Peer(0xd).bind('127.0.0.1');
    const negotiated = await new Peer(0xe).bind('127.0.0.2');
    await paced(400, () => {
      outsider.send(port);
      negotiated.send(port);
    });
    await sleep(100);
    const t = await transport(callId);
    const ids = await sourceIds(callId);
    await pool.endCall(callId);
    outsider.close();
    negotiated.close();
    expect(ids).toEqual([`ssrc-${negotiated.ssrc}`]);
    expect(t['peerRefused']).toBeGreaterThanOrEqual(20);
    expect(outsider.rtpIn).toHaveLength(0);
  }, 20_000);

  it('refuses limits and allowed peers that make no sense, in a call spec and in the environment', async () => {
    await expect(open({ allowedPeers: ['not-an-address'] })).rejects.toMatchObject({ code: 'MEDIABOT_CONFIG_INVALID' });
    await expect(open({ maxParticipants: 0 })).rejects.toMatchObject({ code: 'MEDIABOT_CONFIG_INVALID' });
    expect(() => loadConfig({ MEDIABOT_RTP_PEERS: '10.0.0.0/8,evil.example' })).toThrow(/MEDIABOT_RTP_PEERS/);
    expect(() => loadConfig({ MEDIABOT_RTP_HOST: 'rtp.example' })).toThrow(/MEDIABOT_RTP_HOST/);
    const cfg = loadConfig({ MEDIABOT_RTP_PEERS: '203.0.113.7, 10.1.0.0/16', MEDIABOT_RTP_HOST: '127.0.0.1' });
    expect(cfg.rtpPeers).toEqual(['203.0.113.7', '10.1.0.0/16']);
    expect(cfg.rtpHost).toBe('127.0.0.1');
  });

  it('the guard counters reach the prom-client media metrics', async () => {
    const { callId, port } = await open();
    const attacker = await new Peer(0).bind();
    for (let i = 0; i < 50; i++) attacker.send(port, 0x40000 + i, i);
    await sleep(300);
    const registry = new Registry();
    const metrics = createMediaMetrics(registry, pool, () => [callId], 60_000);
    await metrics.sample();
    metrics.stop();
    await pool.endCall(callId);
    attacker.close();
    const text = await registry.getSingleMetricAsString('mediabot_media_rtp_guard');
    expect(text).toContain('mediabot_media_rtp_guard{kind="probationPackets"} 50');
    expect(text).toContain('mediabot_media_rtp_guard{kind="sourcesAdmitted"} 0');
  });
});
