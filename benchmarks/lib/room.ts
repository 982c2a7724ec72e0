/**
 * One conference room over real UDP, for the whole-process benchmarks
 * (bench:peer, profile-room): ffmpeg Opus/RTP senders, each relayed through its
 * own socket (benchmarks/lib/rtp-peers.ts), joined to a mixer under test, and a
 * measured window in which the mixer's whole process tree's CPU and every
 * participant's returned packet rate are read.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { encodeWavPcm16 } from '../../src/media/wire/wav.js';
import { speechClips, track } from './ingress-speech.js';
import { startJanusRoom } from './janus.js';
import { treeCpuMs } from './proc-cpu.js';
import { ffmpegOpusArgs, ffmpegSendEncoded, LossyRelay, startRtpMixer } from './rtp-peers.js';
import { round } from './stats.js';

const run = promisify(execFile);

/** Every participant must get its mix back at 50 packets/s, within this fraction. */
const PPS_TOLERANCE = 0.06;

/** mediabot-batched: `mediabot rtp` on the batched UDP transport prototype (MEDIABOT_RTP_IO=batched). */
export type PeerName = 'janus' | 'mediabot' | 'mediabot-batched';

/** One mixer under test: its process and how a participant joins it. */
export interface Mixer {
  pid: number;
  /** Resolves with the UDP port that participant's RTP goes to. */
  join: (relayPort: number, index: number) => Promise<number>;
  stop: () => Promise<void>;
}

/** Janus AudioBridge at 48 kHz, or `mediabot rtp` with `mediabotArgs` (and `nodeArgs` for its node). */
export async function startMixer(name: PeerName, mediabotArgs: string[] = [], nodeArgs: string[] = []): Promise<Mixer> {
  if (name === 'janus') {
    const room = await startJanusRoom({ samplingRate: 48_000 });
    return { pid: room.child.pid!, join: (port, i) => room.join(port, `p${i}`), stop: room.stop };
  }
  const env = name === 'mediabot-batched' ? { ...process.env, MEDIABOT_RTP_IO: 'batched' } : process.env;
  const m = await startRtpMixer(mediabotArgs, { nodeArgs, env });
  return { pid: m.child.pid!, join: async () => m.port, stop: m.stop };
}

export interface RoomMedia {
  talk: string[];
  quiet: string[];
}

/** The senders' media, encoded once as a softphone would: talkers speak (LibriVox, with pauses), the others send faint noise. */
export async function prepareRoomMedia(dir: string, maxParticipants: number, maxTalkers: number, seconds: number): Promise<RoomMedia> {
  const clips = await speechClips();
  const encode = async (input: string[], out: string): Promise<string> => {
    await run('ffmpeg', ['-nostdin', '-v', 'error', '-y', ...input, '-ar', '48000', '-ac', '1', ...ffmpegOpusArgs(), out]);
    return out;
  };
  const talk = await Promise.all(
    Array.from({ length: maxTalkers }, async (_, i) => {
      const wav = join(dir, `talk${i}.wav`);
      writeFileSync(wav, encodeWavPcm16(track(clips, seconds, i), 16_000));
      return encode(['-i', wav], join(dir, `talk${i}.ogg`));
    }),
  );
  const quiet: string[] = [];
  // Pink noise at about -60 dBFS RMS: a participant whose microphone is open in a quiet room.
  // (sox makes it; ffmpeg's anoisesrc is far slower.) Two at a time.
  const noise = async (i: number): Promise<string> => {
    const wav = join(dir, `quiet${i}.wav`);
    await run('sox', ['-n', '-r', '48000', '-c', '1', '-b', '16', wav, 'synth', String(seconds), 'pinknoise', 'vol', '0.004']);
    return encode(['-i', wav], join(dir, `quiet${i}.ogg`));
  };
  for (let i = 0; i < maxParticipants - 1; i += 2) quiet.push(...(await Promise.all([noise(i), ...(i + 1 < maxParticipants - 1 ? [noise(i + 1)] : [])])));
  return { talk, quiet };
}

export interface RoomResult {
  participants: number;
  talkers: number;
  seconds: number;
  cpu_ms: number;
  cpu_ms_per_participant_s: number;
  /** Returned mix packets per second: the lowest and highest participant. */
  pps_min: number;
  pps_max: number;
  pps_ok: boolean;
}

export interface RoomOptions {
  participants: number;
  talkers: number;
  warmupS: number;
  measureS: number;
  /** Called at the start and the end of the measured window (profilers hook in here). */
  onWindowStart?: (pid: number) => void | Promise<void>;
  onWindowEnd?: (pid: number) => void | Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs one room against `mixer` and stops the mixer at the end. */
export async function runRoom(mixer: Mixer, media: RoomMedia, opts: RoomOptions): Promise<RoomResult> {
  const relays: LossyRelay[] = [];
  const senders: ChildProcess[] = [];
  try {
    for (let i = 0; i < opts.participants; i++) {
      const relay = new LossyRelay(0, { seed: i + 1 });
      relays.push(relay);
      relay.mixerPort = await mixer.join(await relay.bind(), i);
    }
    for (const [i, relay] of relays.entries()) {
      const file = i < opts.talkers ? media.talk[i]! : media.quiet[i - opts.talkers]!;
      senders.push(ffmpegSendEncoded(file, relay.socket.address().port));
    }
    // Everyone must hear back before the warm-up starts.
    const deadline = performance.now() + 15_000;
    while (relays.some((r) => r.received.length === 0)) {
      if (performance.now() > deadline) throw new Error(`${relays.filter((r) => r.received.length === 0).length} participant(s) got no mix back`);
      await sleep(50);
    }
    await sleep(opts.warmupS * 1000);
    await opts.onWindowStart?.(mixer.pid);
    const counts0 = relays.map((r) => r.received.length);
    const cpu0 = treeCpuMs(mixer.pid);
    const t0 = performance.now();
    await sleep(opts.measureS * 1000);
    const cpu1 = treeCpuMs(mixer.pid);
    const seconds = (performance.now() - t0) / 1000;
    const pps = relays.map((r, i) => (r.received.length - counts0[i]!) / seconds);
    await opts.onWindowEnd?.(mixer.pid);
    const cpuMs = cpu1 - cpu0;
    const ppsMin = Math.min(...pps);
    const ppsMax = Math.max(...pps);
    return {
      participants: opts.participants,
      talkers: opts.talkers,
      seconds: round(seconds, 2),
      cpu_ms: cpuMs,
      cpu_ms_per_participant_s: round(cpuMs / (opts.participants * seconds), 2),
      pps_min: round(ppsMin, 1),
      pps_max: round(ppsMax, 1),
      pps_ok: ppsMin >= 50 * (1 - PPS_TOLERANCE) && ppsMax <= 50 * (1 + PPS_TOLERANCE),
    };
  } finally {
    for (const s of senders) if (s.exitCode === null) s.kill('SIGTERM');
    await Promise.all(senders.map((s) => (s.exitCode === null && s.signalCode === null ? once(s, 'exit') : undefined)));
    await mixer.stop();
    for (const r of relays) r.close();
  }
}
