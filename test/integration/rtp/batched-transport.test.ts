import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpusDecoder, createOpusEncoder } from '../../../src/media/core/codec.js';
import { MediaThreadPool } from '../../../src/media/core/threads.js';
import { frameLevelDbov } from '../../../src/media/core/level.js';
import { loadBatchedUdpKernels } from '../../../src/media/rtp/batched-udp.js';
import { parseRtp, serializeRtp } from '../../../src/media/rtp/packet.js';
import { speech48 } from '../../helpers/speech.js';

/**
 * The batched-UDP RTP transport prototype (MEDIABOT_RTP_IO=batched) in a real
 * media thread: two participants send Opus RTP paced at 20 ms, each must get
 * a continuous RTP stream back, and the listener's mix must carry the talker.
 */
describe('batched RTP transport (MEDIABOT_RTP_IO=batched) over real UDP', () => {
  let pool: MediaThreadPool;
  beforeAll(() => {
    const before = process.env['MEDIABOT_RTP_IO'];
    process.env['MEDIABOT_RTP_IO'] = 'batched';
    // The media thread takes its environment when it starts.
    pool = new MediaThreadPool(1);
    if (before === undefined) delete process.env['MEDIABOT_RTP_IO'];
    else process.env['MEDIABOT_RTP_IO'] = before;
  });
  afterAll(() => pool.close());

  it('mixes two participants and returns each its stream at the tick rate', async () => {
    const call = await pool.createCall({ callId: 'batched', rtp: { host: '127.0.0.1', port: 0 } });
    const port = call.rtp!.port;
    const socks: Socket[] = [];
    const got: Buffer[][] = [[], []];
    for (let i = 0; i < 2; i++) {
      const s = createSocket('udp4');
      s.on('message', (m) => {
        if (!(m[1]! >= 200 && m[1]! <= 204)) got[i]!.push(m);
      });
      s.bind(0, '127.0.0.1');
      await once(s, 'listening');
      socks.push(s);
    }
    const talk = speech48('The batched transport reads every packet at the tick.');
    const silence = new Int16Array(960);
    const encoders = [createOpusEncoder(), createOpusEncoder()];
    const buf = new Uint8Array(1276);
    const frames = 100;
    const t0 = performance.now();
    for (let n = 0; n < frames; n++) {
      for (let i = 0; i < 2; i++) {
        const pcm = i === 0 && (n + 1) * 960 <= talk.length ? talk.subarray(n * 960, (n + 1) * 960) : silence;
        const len = encoders[i]!.encode(pcm, buf);
        socks[i]!.send(serializeRtp({ payloadType: 111, sequence: n, timestamp: n * 960, ssrc: 0x1000 + i, payload: buf.subarray(0, len) }), port, '127.0.0.1');
      }
      const wait = t0 + (n + 1) * 20 - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    await new Promise((r) => setTimeout(r, 200));
    const stats = await pool.callStats('batched');
    await pool.endCall('batched');
    for (const s of socks) s.close();

    expect(stats.transport!['batchedNative']).toBe(loadBatchedUdpKernels() ? 1 : 0);
    expect(stats.transport!['packetsIn']).toBe(2 * frames);
    expect(stats.sources).toHaveLength(2);
    for (let i = 0; i < 2; i++) {
      const packets = got[i]!.map((m) => parseRtp(m));
      // About one packet per tick from the first packet on (a slow machine may lose a few ticks).
      expect(packets.length).toBeGreaterThan(frames * 0.8);
      expect(new Set(packets.map((p) => p.ssrc)).size).toBe(1);
      expect(packets.every((p) => p.payloadType === 111)).toBe(true);
      for (let k = 1; k < packets.length; k++) expect((packets[k]!.sequence - packets[k - 1]!.sequence) & 0xffff).toBe(1);
    }
    // The listener (1) hears the talker (0); the talker hears only the listener's silence
    // (the same levels as on the dgram transport: -14 and -37 dBov on this input).
    const loudest = (i: number): number => {
      const dec = createOpusDecoder();
      const out = new Int16Array(960);
      let max = -127;
      for (const m of got[i]!) {
        dec.decode(parseRtp(m).payload, out);
        max = Math.max(max, frameLevelDbov(out));
      }
      return max;
    };
    const [talker, listener] = [loudest(0), loudest(1)];
    expect(listener).toBeGreaterThan(-30);
    expect(talker).toBeLessThan(listener - 15);
  });
});
