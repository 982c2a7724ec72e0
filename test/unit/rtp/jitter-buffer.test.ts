import { describe, expect, it } from 'vitest';
import { codecBackend, createOpusDecoder } from '../../../src/media/codec/opus.js';
import { SAMPLES_48K } from '../../../src/media/core/frame.js';
import { frameLevelDbov } from '../../../src/media/codec/level.js';
import type { FrameOrigin } from '../../../src/media/hooks/api.js';
import { JitterBuffer } from '../../../src/media/session/rtp/jitter-buffer.js';
import { audioLevelExtension, parseRtp, serializeRtp } from '../../../src/media/wire/rtp.js';
import { loadSpeechPackets } from './speech-packets.js';

const speech = loadSpeechPackets();
const FRAME = 20;
const MAX_CONCEALED = 5;

interface Scenario {
  name: string;
  frames?: number;
  seqBase?: number;
  tsBase?: number;
  /** Arrival offsets (ms) after packet i's nominal send time i*20; [] loses it, two entries duplicate it. */
  arrive?: (i: number) => number[];
  /** From this packet on, a new SSRC with its own sequence and timestamp bases. */
  ssrcChangeAt?: number;
  /** The sender pauses (DTX) before packet `at` for `frames` frames: sequence numbers go on, timestamps and time jump. */
  pause?: { at: number; frames: number };
  /** Extra (re)sends of packet `index` at absolute time `atMs`. */
  extra?: { index: number; atMs: number }[];
  // limits, all asserted
  lost: [min: number, max: number];
  /** late + duplicate */
  maxDiscarded: number;
  /** frames from push to playout */
  maxDelay: number;
  maxConcealed: number;
  late?: number;
  duplicate?: number;
  ssrcChanges?: number;
  minSilence?: number;
  minDropped?: number;
  maxJitterMs?: number;
  /** Every decoded frame equals a straight in-order decode of the same packets. */
  bitExact?: boolean;
}

const onTime = (): number[] => [0];
const except = (lost: ReadonlySet<number>) => (i: number): number[] => (lost.has(i) ? [] : [0]);

/** Deterministic 0..maxMs delays (an LCG), so the "jittery" row is reproducible. */
function jittery(maxMs: number, seed: number): (i: number) => number[] {
  const delays: number[] = [];
  let x = seed;
  for (let i = 0; i < 1000; i++) {
    x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0;
    delays.push(((x >>> 8) / 0x100_0000) * maxMs);
  }
  return (i) => [delays[i]!];
}

const scenarios: Scenario[] = [
  { name: 'in-order put/get', lost: [0, 0], maxDiscarded: 0, maxDelay: 0, maxConcealed: 0, bitExact: true, maxJitterMs: 0.01 },
  { name: 'single loss', arrive: except(new Set([40])), lost: [1, 1], maxDiscarded: 0, maxDelay: 0, maxConcealed: 1 },
  {
    name: 'burst loss longer than maxConcealedFrames',
    arrive: except(new Set([40, 41, 42, 43, 44, 45, 46, 47, 48, 49])),
    lost: [10, 10],
    maxDiscarded: 0,
    maxDelay: 0,
    maxConcealed: MAX_CONCEALED,
    minSilence: 10 - MAX_CONCEALED,
  },
  {
    name: 'duplicate',
    arrive: (i) => (i >= 30 && i < 40 ? [0, 1] : i >= 60 && i < 65 ? [0, 45] : [0]),
    lost: [0, 0],
    maxDiscarded: 15,
    duplicate: 15, // copies before and after the original was played
    late: 0,
    maxDelay: 0,
    maxConcealed: 0,
    bitExact: true,
  },
  // 100 ms late: concealed when due, then the jitter spike deepens the buffer by two inserted frames
  { name: 'late', arrive: (i) => (i === 20 ? [100] : [0]), lost: [1, 1], late: 1, maxDiscarded: 1, maxDelay: 2, maxConcealed: 3 },
  {
    // swapped on the wire, both in before their tick: played in order, none lost; the
    // measured jitter deepens the buffer by one inserted frame
    name: 'reorder within a tick',
    arrive: (i) => ([20, 60, 100].includes(i) ? [8] : [21, 61, 101].includes(i) ? [-15] : [0]),
    lost: [0, 0],
    maxDiscarded: 0,
    maxDelay: 1,
    maxConcealed: 1,
  },
  {
    // the first packet of each swapped pair arrives after its tick
    name: 'reorder across ticks',
    arrive: (i) => ([20, 60, 100].includes(i) ? [25] : [0]),
    lost: [0, 1],
    maxDiscarded: 1,
    maxDelay: 2,
    maxConcealed: 2,
  },
  { name: 'jittery network (0-40 ms, reordering)', arrive: jittery(40, 7), lost: [0, 4], maxDiscarded: 4, maxDelay: 4, maxConcealed: 8 },
  {
    // no packets for 400 ms but no sequence gap: nothing lost, concealment fades to silence
    name: 'sender pause (DTX) between talk spurts',
    pause: { at: 60, frames: 20 },
    lost: [0, 0],
    maxDiscarded: 0,
    maxDelay: 0,
    maxConcealed: MAX_CONCEALED,
    minSilence: 20 - MAX_CONCEALED,
    maxJitterMs: 0.01,
  },
  {
    name: 'network stall then burst',
    arrive: (i) => (i >= 40 && i < 65 ? [(65 - i) * FRAME] : [0]),
    lost: [0, 0],
    maxDiscarded: 0,
    maxDelay: 10, // never more than maxDepthMs
    maxConcealed: MAX_CONCEALED,
    minDropped: 1,
  },
  { name: 'sequence wrap at 65535', seqBase: 65_536 - 70, lost: [0, 0], maxDiscarded: 0, maxDelay: 0, maxConcealed: 0, bitExact: true },
  { name: 'loss across the sequence wrap', seqBase: 65_536 - 70, arrive: except(new Set([69, 70])), lost: [2, 2], maxDiscarded: 0, maxDelay: 0, maxConcealed: 2 },
  { name: 'timestamp wrap at 2^32', tsBase: 2 ** 32 - 960 * 70, lost: [0, 0], maxDiscarded: 0, maxDelay: 0, maxConcealed: 0, bitExact: true, maxJitterMs: 0.01 },
  {
    name: 'timestamp wrap with jitter',
    tsBase: 2 ** 32 - 960 * 70,
    arrive: (i) => [i % 2 === 0 ? 0 : 4],
    lost: [0, 0],
    maxDiscarded: 0,
    maxDelay: 1,
    maxConcealed: 1,
    maxJitterMs: 5,
  },
  {
    name: 'SSRC change',
    ssrcChangeAt: 75,
    extra: [{ index: 74, atMs: 76 * FRAME + 5 }], // a straggler of the old SSRC
    lost: [0, 0],
    late: 1,
    maxDiscarded: 1,
    ssrcChanges: 1,
    maxDelay: 0,
    maxConcealed: 0,
  },
];

const SSRC_A = 0x1234_5678;
const SSRC_B = 0x9abc_def0;

/** The tick at which packet i is sent (its frame's nominal time). */
function sendTick(s: Scenario, i: number): number {
  return s.pause && i >= s.pause.at ? i + s.pause.frames : i;
}

function wire(s: Scenario, i: number): Uint8Array {
  const k = s.ssrcChangeAt ?? Infinity;
  const tsSkip = s.pause && i >= s.pause.at ? 960 * s.pause.frames : 0;
  const second = i >= k;
  const n = second ? i - k : i;
  return serializeRtp({
    payloadType: 111,
    sequence: ((second ? 40_000 : (s.seqBase ?? 1000)) + n) & 0xffff,
    timestamp: ((second ? 7_000_000 : (s.tsBase ?? 123_456)) + 960 * n + tsSkip) >>> 0,
    ssrc: second ? SSRC_B : SSRC_A,
    marker: i === 0,
    extensions: [audioLevelExtension(1, true, 30)],
    payload: speech[i % speech.length]!,
  });
}

function referenceDecode(count: number): Int16Array[] {
  const dec = createOpusDecoder();
  return Array.from({ length: count }, (_, i) => {
    const out = new Int16Array(SAMPLES_48K);
    dec.decode(speech[i % speech.length]!, out);
    return out;
  });
}

function run(s: Scenario) {
  const frames = s.frames ?? 150;
  const arrive = s.arrive ?? onTime;
  const events: { atMs: number; index: number }[] = [];
  for (let i = 0; i < frames; i++) for (const d of arrive(i)) events.push({ atMs: sendTick(s, i) * FRAME + d, index: i });
  for (const e of s.extra ?? []) events.push(e);
  events.sort((a, b) => a.atMs - b.atMs);

  const jb = new JitterBuffer({ createDecoder: createOpusDecoder, maxConcealedFrames: MAX_CONCEALED, now: () => 0 });
  const indexOf = new Map<Uint8Array, number>();
  const out = new Int16Array(SAMPLES_48K);
  const origins: Record<FrameOrigin, number> = { packet: 0, fec: 0, plc: 0, silence: 0 };
  const played: { index: number; tick: number; pcm: Int16Array }[] = [];
  let e = 0;
  let tick = 0;
  // Run until every packet was pushed and the buffer is empty (no concealed tail after the end).
  for (; tick < frames + 50 && (e < events.length || jb.buffered > 0); tick++) {
    const pullAt = tick * FRAME + FRAME / 2;
    for (; e < events.length && events[e]!.atMs <= pullAt; e++) {
      const p = parseRtp(wire(s, events[e]!.index));
      indexOf.set(p.payload, events[e]!.index);
      jb.push(p, events[e]!.atMs);
    }
    out.fill(12_345);
    const origin = jb.pull(out);
    origins[origin]++;
    if (origin === 'packet') {
      expect(jb.lastPayload).not.toBeNull();
      expect(jb.lastAudioLevel).toEqual({ voice: true, level: 30 });
      played.push({ index: indexOf.get(jb.lastPayload!)!, tick, pcm: out.slice() });
    } else {
      expect(jb.lastPayload).toBeNull();
      if (origin === 'silence') expect(out.every((v) => v === 0)).toBe(true);
    }
  }
  return { jb, origins, played: played.map((p) => ({ ...p, delay: p.tick - sendTick(s, p.index) })), ticks: tick };
}

describe(`JitterBuffer with real Opus speech (${codecBackend} libopus)`, () => {
  it.each(scenarios)('$name', (s) => {
    const { jb, origins, played, ticks } = run(s);
    const st = jb.stats;
    const frames = s.frames ?? 150;

    expect(st.lost).toBeGreaterThanOrEqual(s.lost[0]);
    expect(st.lost).toBeLessThanOrEqual(s.lost[1]);
    expect(st.late + st.duplicate).toBeLessThanOrEqual(s.maxDiscarded);
    expect(st.concealed).toBeLessThanOrEqual(s.maxConcealed);
    const maxDelay = Math.max(...played.map((p) => p.delay));
    expect(maxDelay).toBeLessThanOrEqual(s.maxDelay);
    if (s.late !== undefined) expect(st.late).toBe(s.late);
    if (s.duplicate !== undefined) expect(st.duplicate).toBe(s.duplicate);
    expect(st.ssrcChanges).toBe(s.ssrcChanges ?? 0);
    if (s.minSilence !== undefined) expect(origins.silence).toBeGreaterThanOrEqual(s.minSilence);
    if (s.minDropped !== undefined) expect(st.dropped).toBeGreaterThanOrEqual(s.minDropped);
    if (s.maxJitterMs !== undefined) expect(st.jitterMs).toBeLessThanOrEqual(s.maxJitterMs);

    // Every frame is accounted for, nothing is played twice or out of order.
    expect(origins.packet + origins.fec + origins.plc + origins.silence).toBe(ticks);
    expect(origins.plc).toBe(st.concealed);
    expect(origins.fec).toBe(st.fecRecovered);
    expect(origins.silence).toBe(st.silence);
    for (let i = 1; i < played.length; i++) expect(played[i]!.index).toBeGreaterThan(played[i - 1]!.index);
    // From the first frame played on, each frame is played, counted lost, or dropped to shrink the delay.
    expect(played.length + st.lost + st.dropped).toBe(frames - played[0]!.index);

    if (s.bitExact) {
      const ref = referenceDecode(frames);
      expect(played.length).toBe(frames);
      for (const p of played) expect(Buffer.from(p.pcm.buffer).equals(Buffer.from(ref[p.index]!.buffer))).toBe(true);
    }
    // Real speech comes out: decoded frames carry signal.
    const loud = played.filter((p) => p.pcm.some((v) => Math.abs(v) > 1000)).length;
    expect(loud).toBeGreaterThan(played.length / 3);
  });

  it('burst loss: concealment is bounded, then silence until speech resumes', () => {
    const s = scenarios.find((x) => x.name.startsWith('burst'))!;
    const jb = new JitterBuffer({ createDecoder: createOpusDecoder, maxConcealedFrames: MAX_CONCEALED });
    const out = new Int16Array(SAMPLES_48K);
    const seen: FrameOrigin[] = [];
    for (let tick = 0; tick < 60; tick++) {
      if (s.arrive!(tick).length > 0) jb.push(parseRtp(wire(s, tick)), tick * FRAME);
      seen.push(jb.pull(out));
    }
    expect(seen.slice(40, 50)).toEqual(['plc', 'plc', 'plc', 'plc', 'plc', 'silence', 'silence', 'silence', 'silence', 'silence']);
    expect(seen.slice(50)).toEqual(Array(10).fill('packet'));
  });

  it('single loss with the next packet buffered uses in-band FEC when the codec has it', () => {
    const jb = new JitterBuffer({ createDecoder: createOpusDecoder, minDepthMs: 60 });
    const s: Scenario = { name: 'fec', lost: [1, 1], maxDiscarded: 0, maxDelay: 3, maxConcealed: 1 };
    const out = new Int16Array(SAMPLES_48K);
    const seen: FrameOrigin[] = [];
    for (let tick = 0; tick < 60; tick++) {
      if (tick !== 30) jb.push(parseRtp(wire(s, tick)), tick * FRAME);
      seen.push(jb.pull(out));
    }
    expect(jb.stats.lost).toBe(1);
    expect(jb.stats.fecRecovered + jb.stats.concealed).toBe(1);
    if (codecBackend === 'native') expect(jb.stats.fecRecovered).toBe(1);
  });

  it('adapts depth: grows on jitter, stays within maxDepthMs, shrinks back when the network calms', () => {
    const jb = new JitterBuffer({ createDecoder: createOpusDecoder, minDepthMs: 20, maxDepthMs: 200 });
    const s: Scenario = { name: 'adapt', lost: [0, 0], maxDiscarded: 0, maxDelay: 0, maxConcealed: 0 };
    const out = new Int16Array(SAMPLES_48K);
    const noisy = jittery(60, 3);
    let peakTarget = 0;
    for (let tick = 0; tick < 600; tick++) {
      // ticks 0-199: 0-60 ms jitter; afterwards a clean network
      const d = tick < 200 ? noisy(tick)[0]! : 0;
      jb.push(parseRtp(wire(s, tick)), tick * FRAME + d);
      jb.pull(out);
      peakTarget = Math.max(peakTarget, jb.stats.targetMs);
      expect(jb.stats.depthMs).toBeLessThanOrEqual(200);
    }
    expect(peakTarget).toBeGreaterThanOrEqual(60);
    expect(jb.stats.targetMs).toBe(20);
    expect(jb.stats.depthMs).toBeLessThanOrEqual(40);
  });

  it('reports the mean playout depth: one frame on a clean path, more once jitter deepened it', () => {
    const s: Scenario = { name: 'mean depth', lost: [0, 0], maxDiscarded: 0, maxDelay: 0, maxConcealed: 0 };
    const out = new Int16Array(SAMPLES_48K);
    const run = (delay: (tick: number) => number): number => {
      const jb = new JitterBuffer({ createDecoder: createOpusDecoder });
      for (let tick = 0; tick < 300; tick++) {
        jb.push(parseRtp(wire(s, tick)), tick * FRAME + delay(tick));
        jb.pull(out);
      }
      return jb.stats.meanDepthMs;
    };
    expect(run(() => 0)).toBe(20);
    const noisy = jittery(60, 5);
    const jittered = run((tick) => noisy(tick)[0]!);
    expect(jittered).toBeGreaterThan(40);
    expect(jittered).toBeLessThanOrEqual(200);
  });

  it('SSRC change resets the decoder; the old SSRC is a straggler for a second, then a switch back', () => {
    let resets = 0;
    const jb = new JitterBuffer({
      createDecoder: () => {
        const real = createOpusDecoder();
        return { decode: (p, o) => real.decode(p, o), decodeFec: (p, o) => real.decodeFec(p, o), conceal: (o) => real.conceal(o), reset: () => (resets++, real.reset()) };
      },
    });
    const pkt = (ssrc: number, seq: number) => parseRtp(serializeRtp({ payloadType: 111, sequence: seq, timestamp: seq * 960, ssrc, payload: speech[seq % speech.length]! }));
    const out = new Int16Array(SAMPLES_48K);
    expect(jb.push(pkt(1, 10), 0)).toBe('accepted');
    expect(jb.pull(out)).toBe('packet');
    expect(jb.push(pkt(2, 500), 20)).toBe('reset');
    expect(resets).toBe(1);
    expect(jb.stats.ssrc).toBe(2);
    expect(jb.push(pkt(1, 11), 30)).toBe('late');
    const second = pkt(2, 500);
    expect(jb.pull(out)).toBe('packet');
    expect([...jb.lastPayload!]).toEqual([...second.payload]); // the new source's first packet
    expect(jb.push(pkt(2, 501), 40)).toBe('accepted');
    expect(jb.push(pkt(1, 12), 2000)).toBe('reset');
    expect(resets).toBe(2);
    expect(jb.stats).toMatchObject({ ssrcChanges: 2, late: 1, ssrc: 1 });
  });

  it.each([1, 2, 3])('jitter that starts mid-speech: depth changes go into pauses, not words (seed %i)', (seed) => {
    // A sender without RFC 6464 levels: on time for 3 s, then 0-50 ms of jitter. The buffer
    // must deepen (inserting frames) and later shed delay (dropping frames); both should wait
    // for a quiet frame rather than stretch or cut a word.
    const levels = referenceDecode(speech.length).map((pcm) => frameLevelDbov(pcm));
    const loud = (i: number): boolean => levels[i % speech.length]! > -45;
    let x = seed;
    const arrivals = Array.from({ length: 600 }, (_, i) => {
      x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0;
      return { i, atMs: i * FRAME + (i < 150 ? 0 : ((x >>> 8) / 0x100_0000) * 50) };
    }).sort((a, b) => a.atMs - b.atMs);
    const jb = new JitterBuffer({ createDecoder: createOpusDecoder });
    const index = new Map<Uint8Array, number>();
    const out = new Int16Array(SAMPLES_48K);
    let e = 0;
    let last = 0;
    let concealedInWords = 0;
    let droppedInWords = 0;
    for (let tick = 0; tick < 600; tick++) {
      for (; e < arrivals.length && arrivals[e]!.atMs <= tick * FRAME + FRAME / 2; e++) {
        const i = arrivals[e]!.i;
        const p = parseRtp(serializeRtp({ payloadType: 111, sequence: i, timestamp: i * 960, ssrc: 7, payload: speech[i % speech.length]! }));
        index.set(p.payload, i);
        jb.push(p, arrivals[e]!.atMs);
      }
      const dropped = jb.stats.dropped;
      const origin = jb.pull(out);
      if (origin === 'plc' && loud(last)) concealedInWords++;
      if (origin === 'packet') last = index.get(jb.lastPayload!)!;
      if (jb.stats.dropped > dropped && loud(last)) droppedInWords++;
    }
    expect(jb.stats.targetMs).toBeGreaterThanOrEqual(60); // it did deepen
    // Three quarters of this speech is loud frames: placing changes blindly would put most in words.
    expect(concealedInWords).toBeLessThanOrEqual(Math.ceil(jb.stats.concealed / 2));
    expect(droppedInWords).toBeLessThanOrEqual(1);
  });

  it('rejects a too-small output buffer and bad options with typed errors', () => {
    const jb = new JitterBuffer({ createDecoder: createOpusDecoder });
    expect(() => jb.pull(new Int16Array(100))).toThrow(expect.objectContaining({ code: 'MEDIABOT_BUFFER_TOO_SMALL' }));
    expect(() => new JitterBuffer({ createDecoder: createOpusDecoder, minDepthMs: 300, maxDepthMs: 200 })).toThrow(expect.objectContaining({ code: 'MEDIABOT_CONFIG_INVALID' }));
  });
});

describe('JitterBuffer plays packets known silent without decoding them', () => {
  /** The real libopus decoder, counting the decodes asked of it. */
  function countingDecoder(): { decodes: number; resets: number; create: typeof createOpusDecoder } {
    const c = {
      decodes: 0,
      resets: 0,
      create: ((rate?: Parameters<typeof createOpusDecoder>[0]) => {
        const d = createOpusDecoder(rate);
        return {
          decode: (p: Uint8Array, out: Int16Array) => {
            c.decodes++;
            return d.decode(p, out);
          },
          decodeFec: (p: Uint8Array, out: Int16Array) => d.decodeFec(p, out),
          conceal: (out: Int16Array) => d.conceal(out),
          reset: () => {
            c.resets++;
            d.reset();
          },
        };
      }) as typeof createOpusDecoder,
    };
    return c;
  }

  it('DTX frames (a TOC byte alone) and RFC 6464 level -127 dBov packets give silence and no decode; speech around them decodes', () => {
    const c = countingDecoder();
    const jb = new JitterBuffer({ createDecoder: c.create, now: () => 0 });
    const out = new Int16Array(SAMPLES_48K);
    
    const silentLevel = audioLevelExtension(1, false, 127);
    let silentOut = 0;
    let loudSpeech = 0;
    for (let i = 0; i < 60; i++) {
      let payload = speech[i]!;
      let extensions: Array<ReturnType<typeof audioLevelExtension>> = [];
      let kind = 'speech';
      if (i >= 20 && i < 30) {
        payload = Uint8Array.of(speech[i]![0]!); // the TOC byte only: a DTX frame
        kind = 'dtx';
      } else if (i >= 30 && i < 40) {
        extensions = [silentLevel]; // a full packet the sender marks as digital silence
        kind = 'level';
      }

      const p = parseRtp(serializeRtp({ payloadType: 111, sequence: i, timestamp: i * SAMPLES_48K, ssrc: 9, payload, extensions }), { audioLevelExtId: 1 });
      jb.push(p, i * FRAME);
      expect(jb.pull(out)).toBe('packet');
      const peak = out.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      if (kind !== 'speech' && peak === 0) silentOut++;
      if (kind === 'speech' && peak > 1000) loudSpeech++;
    }
    expect(silentOut).toBe(20);
    expect(jb.stats.silentSkipped).toBe(20);
    expect(c.decodes).toBe(40);
    expect(c.resets).toBe(1); // once, at the first silent packet after speech
    expect(loudSpeech).toBeGreaterThan(20);
  });
});
