/**
 * `npm run bench:peer [-- --quick]`: the whole process's CPU against a peer.
 * The same conference room is run against Janus AudioBridge (Debian's `janus`)
 * and against `mediabot rtp`, in alternating rounds in one run:
 *
 *  - every participant is an ffmpeg Opus/RTP sender (real speech for the talkers,
 *    faint noise for the others; pre-encoded as a softphone would, sent packet for
 *    packet in real time) relayed through its own UDP socket, which collects the
 *    mix-minus the mixer sends back;
 *  - CPU is read from /proc for the mixer's whole process tree (every thread and
 *    any child) over a measured window after a warm-up;
 *  - every participant's returned packet rate is checked (50 packets/s expected).
 *
 * cpu_ms_per_participant_s = CPU ms of the mixer / (participants × seconds).
 * ratio = mediabot's median over rounds / Janus' median over rounds.
 * With --no-janus only mediabot is run (no ratio). --mediabot-arg X passes X to `mediabot rtp`.
 * Prints one JSON object on stdout; progress goes to stderr.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { encodeWavPcm16 } from '../src/emulator/speech.js';
import { speechClips, track } from './lib/ingress-speech.js';
import { startJanusRoom } from './lib/janus.js';
import { treeCpuMs } from './lib/proc-cpu.js';
import { ffmpegOpusArgs, ffmpegSendEncoded, LossyRelay, startRtpMixer } from './lib/rtp-peers.js';
import { median, progress, round } from './lib/stats.js';

const run = promisify(execFile);

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    'no-janus': { type: 'boolean', default: false },
    'mediabot-arg': { type: 'string', multiple: true, default: [] },
    rooms: { type: 'string' },
  },
  strict: true,
});
const quick = args.quick;
const rounds = Number(args.rounds ?? (quick ? 1 : 3));
const measureS = Number(args.seconds ?? (quick ? 8 : 20));
const WARMUP_S = quick ? 2 : 3;
/** Every participant must get its mix back at 50 packets/s, within this fraction. */
const PPS_TOLERANCE = 0.06;
const ROOMS: Array<{ participants: number; talkers: number }> = (args.rooms ?? '10x2,20x3').split(',').map((r) => {
  const [p, t] = r.split('x').map(Number);
  return { participants: p!, talkers: t! };
});

/** One mixer under test: how to start it and how participants join it. */
interface Mixer {
  pid: number;
  /** Resolves with the UDP port that participant's RTP goes to. */
  join: (relayPort: number, index: number) => Promise<number>;
  stop: () => Promise<void>;
}

type PeerName = 'janus' | 'mediabot';

async function startMixer(name: PeerName): Promise<Mixer> {
  if (name === 'janus') {
    const room = await startJanusRoom({ samplingRate: 48_000 });
    return { pid: room.child.pid!, join: (port, i) => room.join(port, `p${i}`), stop: room.stop };
  }
  const m = await startRtpMixer(args['mediabot-arg']);
  return { pid: m.child.pid!, join: async () => m.port, stop: m.stop };
}

/** The senders' media, encoded once: talkers speak (LibriVox, with pauses), the others send faint noise. */
async function prepareMedia(dir: string, maxParticipants: number, maxTalkers: number, seconds: number): Promise<{ talk: string[]; quiet: string[] }> {
  const clips = await speechClips();
  const encode = async (input: string[], out: string): Promise<string> => {
    await run('ffmpeg', ['-v', 'error', '-y', ...input, '-ar', '48000', '-ac', '1', ...ffmpegOpusArgs(), out]);
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
  // About -60 dBFS pink noise: a participant whose microphone is open in a quiet room.
  for (let i = 0; i < maxParticipants - 1; i++) quiet.push(await encode(['-f', 'lavfi', '-i', `anoisesrc=c=pink:a=0.002:s=${i + 1}:d=${seconds}`], join(dir, `quiet${i}.ogg`)));
  return { talk, quiet };
}

interface RoundResult {
  peer: PeerName;
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

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function runRound(peer: PeerName, participants: number, talkers: number, media: { talk: string[]; quiet: string[] }): Promise<RoundResult> {
  const mixer = await startMixer(peer);
  const relays: LossyRelay[] = [];
  const senders: ChildProcess[] = [];
  try {
    for (let i = 0; i < participants; i++) {
      const relay = new LossyRelay(0, { seed: i + 1 });
      relays.push(relay);
      relay.mixerPort = await mixer.join(await relay.bind(), i);
    }
    for (const [i, relay] of relays.entries()) {
      const file = i < talkers ? media.talk[i]! : media.quiet[i - talkers]!;
      senders.push(ffmpegSendEncoded(file, relay.socket.address().port));
    }
    // Everyone must hear back before the warm-up starts.
    const deadline = performance.now() + 15_000;
    while (relays.some((r) => r.received.length === 0)) {
      if (performance.now() > deadline) throw new Error(`${peer}: ${relays.filter((r) => r.received.length === 0).length} participant(s) got no mix back`);
      await sleep(50);
    }
    await sleep(WARMUP_S * 1000);
    const counts0 = relays.map((r) => r.received.length);
    const cpu0 = treeCpuMs(mixer.pid);
    const t0 = performance.now();
    await sleep(measureS * 1000);
    const cpu1 = treeCpuMs(mixer.pid);
    const seconds = (performance.now() - t0) / 1000;
    const pps = relays.map((r, i) => (r.received.length - counts0[i]!) / seconds);
    const cpuMs = cpu1 - cpu0;
    const ppsMin = Math.min(...pps);
    const ppsMax = Math.max(...pps);
    return {
      peer,
      participants,
      talkers,
      seconds: round(seconds, 2),
      cpu_ms: cpuMs,
      cpu_ms_per_participant_s: round(cpuMs / (participants * seconds), 2),
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

async function main(): Promise<void> {
  const peers: PeerName[] = args['no-janus'] ? ['mediabot'] : ['janus', 'mediabot'];
  const dir = mkdtempSync(join(tmpdir(), 'mediabot-peer-'));
  const maxP = Math.max(...ROOMS.map((r) => r.participants));
  const maxT = Math.max(...ROOMS.map((r) => r.talkers));
  progress(`mode ${quick ? 'quick' : 'full'}: ${rounds} round(s) of ${measureS} s per peer and room; preparing ${maxP} senders' media`);
  const media = await prepareMedia(dir, maxP, maxT, WARMUP_S + measureS + 20);
  const rooms = [];
  try {
    for (const room of ROOMS) {
      const results: RoundResult[] = [];
      for (let r = 0; r < rounds; r++) {
        // Alternate which peer goes first, so a drift of the machine's load hits both alike.
        const order = r % 2 === 0 ? peers : [...peers].reverse();
        for (const peer of order) {
          progress(`${room.participants} participants / ${room.talkers} talkers, round ${r + 1}: ${peer}`);
          const res = await runRound(peer, room.participants, room.talkers, media);
          progress(`  ${res.cpu_ms} CPU-ms in ${res.seconds} s: ${res.cpu_ms_per_participant_s} CPU-ms per participant-second; returned ${res.pps_min}-${res.pps_max} packets/s${res.pps_ok ? '' : ' (NOT 50)'}`);
          results.push(res);
        }
      }
      const per = (peer: PeerName): number => median(results.filter((x) => x.peer === peer).map((x) => x.cpu_ms_per_participant_s));
      const mediabot = per('mediabot');
      const janus = args['no-janus'] ? null : per('janus');
      rooms.push({
        participants: room.participants,
        talkers: room.talkers,
        mediabot_cpu_ms_per_participant_s: mediabot,
        janus_cpu_ms_per_participant_s: janus,
        ratio: janus ? round(mediabot / janus, 3) : null,
        pps_ok: results.every((x) => x.pps_ok),
        rounds: results,
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const result = {
    mode: quick ? 'quick' : 'full',
    measure_s: measureS,
    mediabot_args: args['mediabot-arg'],
    native: process.env['MEDIABOT_NATIVE'] !== 'off',
    rooms,
    /** The worst (highest) ratio over the rooms: the figure held against the target. */
    ratio: rooms.every((r) => r.ratio !== null) ? Math.max(...rooms.map((r) => r.ratio!)) : null,
    pps_ok: rooms.every((r) => r.pps_ok),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
