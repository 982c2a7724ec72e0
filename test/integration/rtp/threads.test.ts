import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { createOpusEncoder } from '../../../src/media/codec/opus.js';
import { MediaThreadPool } from '../../../src/media/threads/pool.js';
import type { MediaEvent } from '../../../src/media/hooks/api.js';
import { serializeRtp } from '../../../src/media/wire/rtp.js';
import { speech48 } from '../../helpers/speech.js';

describe('media threads', () => {
  const pool = new MediaThreadPool(2);
  afterAll(() => pool.close());

  it('pins calls to the least loaded thread, runs them off the main thread, and reports events and stats', async () => {
    const events: MediaEvent[] = [];
    pool.onEvent((e) => events.push(e));
    const a = await pool.createCall({ callId: 'a', rtp: { host: '127.0.0.1', port: 0 } });
    const b = await pool.createCall({ callId: 'b', rtp: { host: '127.0.0.1', port: 0 } });
    expect(pool.threadIndexOf('a')).not.toBe(pool.threadIndexOf('b'));
    expect(a.rtp!.port).toBeGreaterThan(0);
    expect(b.rtp!.port).not.toBe(a.rtp!.port);

    // One real participant sends speech to call a.
    const sock = createSocket('udp4');
    sock.bind(0, '127.0.0.1');
    await once(sock, 'listening');
    let back = 0;
    sock.on('message', () => back++);
    const pcm = speech48('The media thread keeps its own clock.');
    const enc = createOpusEncoder();
    const buf = new Uint8Array(1276);
    let seq = 0;
    const timer = setInterval(() => {
      const f = seq % Math.floor(pcm.length / 960);
      const n = enc.encode(pcm.subarray(f * 960, f * 960 + 960), buf);
      sock.send(serializeRtp({ payloadType: 111, sequence: seq, timestamp: seq * 960, ssrc: 4242, payload: buf.subarray(0, n) }), a.rtp!.port, '127.0.0.1');
      seq++;
    }, 20);
    await new Promise((r) => setTimeout(r, 500));
    const before = await pool.callStats('a');

    // Block the main thread: the media threads must keep ticking on time.
    const until = performance.now() + 400;
    while (performance.now() < until);
    clearInterval(timer);
    const after = await pool.callStats('a');
    // 400 ms ≈ 20 ticks, run on time: a media thread that waited for the main thread
    // would show a tick about 400 ms late.
    expect(after.ticks - before.ticks).toBeGreaterThanOrEqual(17);
    expect(after.clock.maxLatenessMs).toBeLessThan(200);
    expect(after.clock.skippedTicks).toBe(before.clock.skippedTicks);
    expect(after.sources.map((s) => s.sourceId)).toEqual(['ssrc-4242']);
    expect(after.sources[0]!.jitter!['received']).toBeGreaterThan(15);
    expect(back).toBeGreaterThan(10); // the participant gets its mix back

    const final = await pool.endCall('a');
    expect(final.encodes).toBeGreaterThan(0);
    await pool.endCall('b');
    expect(events.some((e) => e.type === 'source.added' && e.callId === 'a' && e.sourceId === 'ssrc-4242')).toBe(true);
    await expect(pool.callStats('a')).rejects.toMatchObject({ code: 'MEDIABOT_CALL_NOT_FOUND' });
    sock.close();
  });

  it('rejects a duplicate call id and a port already taken with typed errors, keeping the pool healthy', async () => {
    const c = await pool.createCall({ callId: 'c', rtp: { host: '127.0.0.1', port: 0 } });
    await expect(pool.createCall({ callId: 'c' })).rejects.toMatchObject({ code: 'MEDIABOT_BAD_REQUEST' });
    await expect(pool.createCall({ callId: 'd', rtp: { host: '127.0.0.1', port: c.rtp!.port } })).rejects.toMatchObject({ code: expect.stringMatching(/^MEDIABOT_/) });
    const e = await pool.createCall({ callId: 'e' });
    expect(e.rtp).toBeNull();
    await pool.endCall('c');
    await pool.endCall('e');
  });
});
