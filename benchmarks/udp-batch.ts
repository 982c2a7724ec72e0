/**
 * Batched UDP, native (recvmmsg/sendmmsg at the tick) against node:dgram (a
 * callback per packet), for one 10-participant tick's packets: 10 peers each
 * send a 72-byte RTP packet every 20 ms, spread evenly over the tick (as
 * independent senders are), and get one back every tick. The mixer side runs
 * on a worker thread; its CPU time per packet (in + out) is what is compared.
 * `npm run bench:udp [-- --quick]`, and a section of `npm run bench`.
 */
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { loadBatchedUdpKernels } from '../src/media/session/rtp/batched-udp.js';
import type { UdpBatchJob, UdpBatchWorkerResult } from './udp-batch-worker.js';
import { median, progress, round } from './lib/stats.js';

export interface UdpBatchResult {
  participants: number;
  seconds_per_round: number;
  rounds: number;
  /** CPU ns of the mixer thread per packet (received + sent), median over rounds. */
  native_ns_per_packet: number | null;
  dgram_ns_per_packet: number;
  /** dgram / native: how many times cheaper the native path is. */
  ratio: number | null;
  /** Every packet sent by the peers was received and every tick's packets were sent (per round). */
  complete: boolean;
}

async function oneRound(impl: 'native' | 'dgram', participants: number, ticks: number): Promise<UdpBatchWorkerResult & { peerSent: number; peerGot: number }> {
  const peers: Socket[] = [];
  let peerGot = 0;
  for (let i = 0; i < participants; i++) {
    const s = createSocket('udp4');
    s.on('message', () => peerGot++);
    s.bind(0, '127.0.0.1');
    await once(s, 'listening');
    peers.push(s);
  }
  const job: UdpBatchJob = { impl, peerPorts: peers.map((p) => p.address().port), ticks };
  const worker = new Worker(fileURLToPath(new URL('./udp-batch-worker.js', import.meta.url)), { workerData: job });
  const [{ port }] = (await once(worker, 'message')) as [{ port: number }];
  const packet = Buffer.alloc(72);
  packet[0] = 0x80;
  let peerSent = 0;
  // One packet every 2 ms, from each peer in turn (every peer at 50 packets/s); a late timer
  // sends what is due, so the rate holds on a busy machine.
  const spacingMs = 20 / participants;
  const t0 = performance.now();
  const sender = setInterval(() => {
    const due = Math.floor((performance.now() - t0) / spacingMs);
    for (; peerSent < due; peerSent++) {
      const i = peerSent % participants;
      packet.writeUInt32BE(0x1000 + i, 8);
      peers[i]!.send(packet, port, '127.0.0.1');
    }
  }, spacingMs);
  worker.postMessage('go');
  const [result] = (await once(worker, 'message')) as [UdpBatchWorkerResult];
  clearInterval(sender);
  await worker.terminate();
  // The last tick's packets back to the peers.
  await new Promise((r) => setTimeout(r, 50));
  for (const p of peers) p.close();
  return { ...result, peerSent, peerGot };
}

export async function benchUdpBatch(opts: { quick: boolean }): Promise<UdpBatchResult> {
  const participants = 10;
  const seconds = opts.quick ? 3 : 10;
  const rounds = opts.quick ? 1 : 3;
  const ticks = seconds * 50;
  const impls: Array<'native' | 'dgram'> = loadBatchedUdpKernels() ? ['native', 'dgram'] : ['dgram'];
  const per: Record<string, number[]> = { native: [], dgram: [] };
  let complete = true;
  for (let r = 0; r < rounds; r++) {
    for (const impl of r % 2 === 0 ? impls : [...impls].reverse()) {
      const res = await oneRound(impl, participants, ticks);
      const packets = res.received + res.sent;
      const ns = res.cpuNs / packets;
      per[impl]!.push(ns);
      // The peers keep sending until the worker's last tick; at most a tick's worth may arrive after it.
      const ok = res.received >= res.peerSent - 2 * participants && res.sent === participants * res.ticks && res.bad === 0;
      complete &&= ok;
      progress(`udp batch ${impl}, round ${r + 1}: ${res.received} in, ${res.sent} out, ${round(ns, 0)} ns CPU per packet (${round(res.cpuNs / 1e6, 1)} ms in ${seconds} s)${ok ? '' : ' INCOMPLETE'}`);
    }
  }
  const nativeNs = per['native']!.length > 0 ? median(per['native']!) : null;
  const dgramNs = median(per['dgram']!);
  return {
    participants,
    seconds_per_round: seconds,
    rounds,
    native_ns_per_packet: nativeNs === null ? null : round(nativeNs, 0),
    dgram_ns_per_packet: round(dgramNs, 0),
    ratio: nativeNs === null ? null : round(dgramNs / nativeNs, 2),
    complete,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await benchUdpBatch({ quick: process.argv.includes('--quick') });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
