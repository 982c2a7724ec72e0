/**
 * The mixer side of the batched-UDP micro-benchmark (benchmarks/udp-batch.ts),
 * on its own thread as a media thread would be: at every 20 ms tick it takes
 * the packets that arrived (one recv()), reads each one's SSRC, and sends every
 * participant a 72-byte RTP packet (one send()). It measures its own thread's
 * CPU time from /proc/thread-self/schedstat (ns on the CPU).
 */
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { openBatchedUdp } from '../src/media/session/rtp/batched-udp.js';

export interface UdpBatchJob {
  impl: 'native' | 'dgram';
  peerPorts: number[];
  ticks: number;
}

export interface UdpBatchWorkerResult {
  impl: string;
  cpuNs: number;
  received: number;
  sent: number;
  ticks: number;
  /** Packets whose first byte was not RTP version 2 (should be 0). */
  bad: number;
  /** A sum of the SSRCs read (so the reads are not optimized away). */
  ssrcSum: number;
}

const threadCpuNs = (): number => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);

const PACKET = 72;

async function main(): Promise<void> {
  const port = parentPort!;
  const job = workerData as UdpBatchJob;
  const s = await openBatchedUdp({ port: 0, impl: job.impl, recvCapacity: 256, sendCapacity: job.peerPorts.length, slotSize: 1500 });
  const n = job.peerPorts.length;
  for (let i = 0; i < n; i++) {
    s.tx.offsets[i] = i * PACKET;
    s.tx.lengths[i] = PACKET;
    s.tx.addresses[i] = 0x7f000001;
    s.tx.ports[i] = job.peerPorts[i]!;
    s.tx.data[i * PACKET] = 0x80;
  }
  port.postMessage({ port: s.port });
  await new Promise<void>((resolve) => port.once('message', () => resolve()));
  let bad = 0;
  let ssrcSum = 0;
  let ticks = 0;
  const cpu0 = threadCpuNs();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const got = s.recv();
      const rx = s.rx;
      for (let i = 0; i < got; i++) {
        const at = i * rx.slotSize;
        if (rx.data[at]! >> 6 !== 2) bad++;
        ssrcSum = (ssrcSum + ((rx.data[at + 8]! << 24) | (rx.data[at + 9]! << 16) | (rx.data[at + 10]! << 8) | rx.data[at + 11]!)) | 0;
      }
      for (let i = 0; i < n; i++) s.tx.data[i * PACKET + 3] = ticks & 0xff;
      s.send(n);
      if (++ticks === job.ticks) {
        clearInterval(timer);
        resolve();
      }
    }, 20);
  });
  const cpuNs = threadCpuNs() - cpu0;
  const result: UdpBatchWorkerResult = { impl: s.kind, cpuNs, received: s.stats.received, sent: s.stats.sent, ticks, bad, ssrcSum };
  await s.close();
  port.postMessage(result);
}

void main();
