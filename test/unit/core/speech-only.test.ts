import { describe, expect, it } from 'vitest';
import { createOpusDecoder, createOpusEncoder } from '../../../src/media/codec/opus.js';
import { SAMPLES_16K, SAMPLES_48K } from '../../../src/media/core/frame.js';
import { CallPipeline } from '../../../src/media/core/pipeline.js';
import { JitterBuffer } from '../../../src/media/session/rtp/jitter-buffer.js';
import { emptyRtpPacket } from '../../../src/media/wire/rtp.js';
import { correlation, speech48 } from '../../helpers/speech.js';

/** 20 ms Opus packets of espeak speech, encoded with the pipeline's own encoder settings. */
function speechPackets(): Uint8Array[] {
  const pcm = speech48('The quarterly numbers look better than expected this time.', 'en-us+m3');
  const enc = createOpusEncoder();
  const out = new Uint8Array(1276);
  const packets: Uint8Array[] = [];
  for (let o = 0; o + SAMPLES_48K <= pcm.length; o += SAMPLES_48K) {
    const n = enc.encode(pcm.subarray(o, o + SAMPLES_48K), out);
    packets.push(out.slice(0, n));
  }
  return packets;
}

/** Runs one call with one RTP-fed source; returns its 16 kHz tap, whether pcm48 ever held sound, and its talking ticks. */
function runCall(speechOnly: boolean, packets: Uint8Array[]): { tap: Int16Array; pcm48Loud: boolean; talkingTicks: number } {
  const pipeline = new CallPipeline({ callId: 'c', mixing: false, speechOnly });
  const jitter = new JitterBuffer({ createDecoder: createOpusDecoder, sampleRate: speechOnly ? 16_000 : 48_000, now: () => 0 });
  const source = pipeline.addSource('p0', jitter);
  const tap = new Int16Array((packets.length + 2) * SAMPLES_16K);
  const p = emptyRtpPacket();
  p.ssrc = 9;
  p.payloadType = 111;
  let pcm48Loud = false;
  let talkingTicks = 0;
  for (let t = 0; t < packets.length + 2; t++) {
    if (t < packets.length) {
      p.sequence = t;
      p.timestamp = t * 960;
      p.payload = packets[t]!;
      jitter.push(p, t * 20);
    }
    pipeline.tick();
    tap.set(source.pcm16, t * SAMPLES_16K);
    pcm48Loud ||= source.pcm48.some((v) => v !== 0);
    if (source.talking) talkingTicks++;
  }
  return { tap, pcm48Loud, talkingTicks };
}

describe('speech-only calls: RTP sources decode straight to the 16 kHz tap', () => {
  const packets = speechPackets();

  it('gives the same speech on the tap as decoding at 48 kHz and decimating, and leaves pcm48 silent', () => {
    const full = runCall(false, packets);
    const direct = runCall(true, packets);
    expect(full.pcm48Loud).toBe(true);
    expect(direct.pcm48Loud).toBe(false);
    // Decimator and libopus's own 16 kHz output differ in filter delay by a few samples: compare at the best lag.
    let best = 0;
    for (let lag = -24; lag <= 24; lag++) {
      const a = direct.tap.subarray(Math.max(0, lag));
      const b = full.tap.subarray(Math.max(0, -lag));
      best = Math.max(best, correlation(a, b));
    }
    expect(best).toBeGreaterThan(0.95);
    // Talk detection works on the 16 kHz frame alone.
    expect(direct.talkingTicks).toBeGreaterThan(packets.length / 3);
    expect(Math.abs(direct.talkingTicks - full.talkingTicks)).toBeLessThanOrEqual(full.talkingTicks * 0.1);
  });

  it('refuses a speech-only call that mixes, and a 16 kHz source in a mixing call', () => {
    expect(() => new CallPipeline({ callId: 'x', speechOnly: true })).toThrow(expect.objectContaining({ code: 'MEDIABOT_CONFIG_INVALID' }));
    const mixing = new CallPipeline({ callId: 'y' });
    const jitter16 = new JitterBuffer({ createDecoder: createOpusDecoder, sampleRate: 16_000 });
    expect(() => mixing.addSource('p', jitter16)).toThrow(expect.objectContaining({ code: 'MEDIABOT_CONFIG_INVALID' }));
    expect(mixing.listSources()).toHaveLength(0);
  });

  it('a 16 kHz jitter buffer conceals and fills exactly 320 samples', () => {
    const jb = new JitterBuffer({ createDecoder: createOpusDecoder, sampleRate: 16_000, now: () => 0 });
    const out = new Int16Array(SAMPLES_16K);
    const p = emptyRtpPacket();
    p.ssrc = 1;
    for (let t = 0; t < 40; t++) {
      if (t !== 20) {
        p.sequence = t;
        p.timestamp = t * 960;
        p.payload = packets[t]!;
        jb.push(p, t * 20);
      }
      jb.pull(out);
    }
    expect(jb.stats.lost).toBe(1);
    expect(jb.stats.concealed + jb.stats.fecRecovered).toBe(1);
    expect(() => jb.pull(new Int16Array(100))).toThrow(expect.objectContaining({ code: 'MEDIABOT_BUFFER_TOO_SMALL' }));
    expect(() => createOpusDecoder(8000 as 16_000)).toThrow(expect.objectContaining({ code: 'MEDIABOT_CONFIG_INVALID' }));
  });
});
