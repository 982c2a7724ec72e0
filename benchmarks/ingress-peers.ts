/**
 * The remote peers of the ingress benchmark, in their own process so their work
 * (making and sending frames) competes with mediabot only as real peers would:
 * bridge sidecars (the simulator) or ACS media streaming clients.
 * Usage: ingress-peers '<PeersJob JSON>'; prints one PeersResult JSON line.
 */
import { WebSocket } from 'ws';
import { startBridgeSimulator } from '../testing/bridge-peer.js';
import { benchTracks } from './lib/ingress-speech.js';

export interface PeersJob {
  mode: 'bridge' | 'acs';
  port: number;
  callIds: string[];
  speakers: number;
  seconds: number;
}

export interface PeersResult {
  framesIn: number;
  outboundFrames: number;
  errors: number;
  /** The peers' own CPU over their run, in cores. */
  cpuCores?: number;
}

async function runBridge(job: PeersJob & { tracks: Int16Array[][] }): Promise<PeersResult> {
  const sims = await Promise.all(
    job.callIds.map((callId, c) =>
      startBridgeSimulator({
        url: `ws://127.0.0.1:${job.port}/media/bridge`,
        token: 'bench',
        callId,
        sidecarId: `bench-sidecar-${c}`,
        callIndex: 1,
        trailMs: 0,
        speakers: job.tracks[c]!.map((pcm16, i) => ({ sourceId: 100 + i, participantId: `p${i}`, displayName: `P${i}`, pcm16 })),
      }),
    ),
  );
  const reports = await Promise.all(sims.map((s) => s.done));
  return {
    framesIn: reports.reduce((n, r) => n + r.framesSent.mixed + r.framesSent.unmixed, 0),
    outboundFrames: reports.reduce((n, r) => n + r.outbound.frames, 0),
    errors: reports.reduce((n, r) => n + r.errors.length, 0),
  };
}

async function runAcs(job: PeersJob & { tracks: Int16Array[][] }): Promise<PeersResult> {
  let outboundFrames = 0;
  const sockets = await Promise.all(
    job.callIds.map(
      (id) =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(`ws://127.0.0.1:${job.port}/media/acs`, { headers: { 'x-ms-call-connection-id': id, 'x-ms-call-correlation-id': `corr-${id}` } });
          ws.on('message', () => outboundFrames++);
          ws.once('open', () => {
            ws.send(JSON.stringify({ kind: 'AudioMetadata', audioMetadata: { subscriptionId: id, encoding: 'PCM', sampleRate: 16000, channels: 1, length: 640 } }));
            resolve(ws);
          });
          ws.once('error', reject);
        }),
    ),
  );
  let framesIn = 0;
  const t0 = performance.now();
  const epoch = Date.now();
  const frames = job.seconds * 50;
  for (let n = 0; n < frames; n++) {
    const wait = t0 + n * 20 - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const timestamp = new Date(epoch + n * 20).toISOString();
    for (let c = 0; c < sockets.length; c++) {
      const tracks = job.tracks[c]!;
      for (let p = 0; p < tracks.length; p++) {
        const pcm = tracks[p]!.subarray(n * 320, n * 320 + 320);
        let energy = 0;
        for (let i = 0; i < pcm.length; i += 8) energy += Math.abs(pcm[i]!);
        if (energy === 0) continue; // like ACS, a participant who is not talking sends nothing here
        const data = Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength).toString('base64');
        sockets[c]!.send(JSON.stringify({ kind: 'AudioData', audioData: { timestamp, participantRawID: `8:acs:${c}-${p}`, data, silent: false } }));
        framesIn++;
      }
    }
  }
  for (const ws of sockets) ws.close();
  return { framesIn, outboundFrames, errors: 0 };
}

const job = JSON.parse(process.argv[2] ?? '{}') as PeersJob;
const cpu0 = process.cpuUsage();
const wall0 = performance.now();
benchTracks(job.callIds.length, job.speakers, job.seconds)
  .then((tracks) => (job.mode === 'bridge' ? runBridge({ ...job, tracks }) : runAcs({ ...job, tracks })))
  .then(
    (r) => {
      const cpu = process.cpuUsage(cpu0);
      process.stdout.write(`${JSON.stringify({ ...r, cpuCores: Number(((cpu.user + cpu.system) / 1000 / (performance.now() - wall0)).toFixed(2)) })}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stdout.write(`${JSON.stringify({ error: err instanceof Error ? err.message : String(err) })}\n`);
      process.exit(1);
    },
  );
