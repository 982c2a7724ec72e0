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
 * `--warmup S` (default 10 s, quick 2 s): how long every peer runs before its CPU is measured, the same
 * for Janus and mediabot: V8 is still compiling the media path's hot functions for several seconds,
 * and a mixer runs for hours, so the window measures the steady state.
 * `mediabot` is `mediabot rtp` on node:dgram (MEDIABOT_RTP_IO=dgram); when the native part is built,
 * a third peer runs in the same rotation, `mediabot rtp` on the batched socket I/O
 * (MEDIABOT_RTP_IO=batched), reported as mediabot_batched_* and batched_ratio (--no-batched: not run;
 * --no-dgram: only the batched peer runs for mediabot, reported as both).
 * Prints one JSON object on stdout; progress goes to stderr.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { prepareRoomMedia, runRoom, startMixer, type PeerName, type RoomResult } from './lib/room.js';
import { median, progress, round } from './lib/stats.js';
import { batchedRtpAvailable } from '../src/media/session/rtp/rtp-io.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    'no-janus': { type: 'boolean', default: false },
    'no-batched': { type: 'boolean', default: false },
    'no-dgram': { type: 'boolean', default: false },
    warmup: { type: 'string' },
    'mediabot-arg': { type: 'string', multiple: true, default: [] },
    rooms: { type: 'string' },
  },
  strict: true,
});
const quick = args.quick;
const batched = !args['no-batched'] && batchedRtpAvailable();
const rounds = Number(args.rounds ?? (quick ? 1 : 3));
const measureS = Number(args.seconds ?? (quick ? 8 : 20));
const WARMUP_S = Number(args.warmup ?? (quick ? 2 : 10));
const ROOMS: Array<{ participants: number; talkers: number }> = (args.rooms ?? '10x2,20x3').split(',').map((r) => {
  const [p, t] = r.split('x').map(Number);
  return { participants: p!, talkers: t! };
});

type RoundResult = RoomResult & { peer: PeerName };

async function main(): Promise<void> {
  const dgram = !(args['no-dgram'] && batched);
  const peers: PeerName[] = [...(args['no-janus'] ? [] : ['janus' as const]), ...(dgram ? ['mediabot' as const] : []), ...(batched ? ['mediabot-batched' as const] : [])];
  const dir = mkdtempSync(join(tmpdir(), 'mediabot-peer-'));
  const maxP = Math.max(...ROOMS.map((r) => r.participants));
  const maxT = Math.max(...ROOMS.map((r) => r.talkers));
  progress(`mode ${quick ? 'quick' : 'full'}: ${rounds} round(s) of ${measureS} s per peer and room; preparing ${maxP} senders' media`);
  const media = await prepareRoomMedia(dir, maxP, maxT, WARMUP_S + measureS + 20);
  const rooms = [];
  try {
    for (const room of ROOMS) {
      const results: Array<RoundResult> = [];
      for (let r = 0; r < rounds; r++) {
        // Alternate which peer goes first, so a drift of the machine's load hits both alike.
        const order = r % 2 === 0 ? peers : [...peers].reverse();
        for (const peer of order) {
          progress(`${room.participants} participants / ${room.talkers} talkers, round ${r + 1}: ${peer}`);
          const mixer = await startMixer(peer, args['mediabot-arg']);
          const res: RoundResult = { peer, ...(await runRoom(mixer, media, { participants: room.participants, talkers: room.talkers, warmupS: WARMUP_S, measureS })) };
          progress(`  ${res.cpu_ms} CPU-ms in ${res.seconds} s: ${res.cpu_ms_per_participant_s} CPU-ms per participant-second; returned ${res.pps_min}-${res.pps_max} packets/s${res.pps_ok ? '' : ' (NOT 50)'}`);
          results.push(res);
        }
      }
      const per = (peer: PeerName): number => median(results.filter((x) => x.peer === peer).map((x) => x.cpu_ms_per_participant_s));
      const mediabot = per(dgram ? 'mediabot' : 'mediabot-batched');
      const janus = args['no-janus'] ? null : per('janus');
      rooms.push({
        participants: room.participants,
        talkers: room.talkers,
        mediabot_cpu_ms_per_participant_s: mediabot,
        janus_cpu_ms_per_participant_s: janus,
        ratio: janus ? round(mediabot / janus, 3) : null,
        ...(batched ? { mediabot_batched_cpu_ms_per_participant_s: per('mediabot-batched'), batched_ratio: janus ? round(per('mediabot-batched') / janus, 3) : null } : {}),
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
    warmup_s: WARMUP_S,
    mediabot_args: args['mediabot-arg'],
    native: process.env['MEDIABOT_NATIVE'] !== 'off',
    rooms,
    /** The worst (highest) ratio over the rooms: the figure held against the target. */
    ratio: rooms.every((r) => r.ratio !== null) ? Math.max(...rooms.map((r) => r.ratio!)) : null,
    ...(batched ? { batched_ratio: Math.max(...rooms.map((r) => r.batched_ratio ?? Number.NaN)) } : {}),
    pps_ok: rooms.every((r) => r.pps_ok),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
