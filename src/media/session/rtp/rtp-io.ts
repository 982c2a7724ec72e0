/**
 * The socket under an RTP session, behind one interface with two backends:
 *
 *  - dgram (everywhere, the fallback): node:dgram; each datagram is handed to the session as it
 *    arrives (one event-loop wake-up and one JavaScript callback per packet), each packet sent with
 *    its own send call;
 *  - batched (native, Linux): batched-udp.ts on recvmmsg/sendmmsg. Nothing happens between ticks:
 *    `poll()`, called by the media thread right before the tick, reads every pending datagram in one
 *    system call and hands them to the session with the kernel's arrival time (SO_TIMESTAMPNS);
 *    `send()` only lays the packet out in the send arrays, and `flush()`, right after the tick,
 *    sends them all in one system call.
 *
 * Both call the same packet handler, so parsing, source lookup and the jitter-buffer push are one
 * function whichever backend carries the packets.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { MediabotError } from '../../../errors.js';
import { ipv4ToUint32, loadBatchedUdpKernels, openBatchedUdp, uint32ToIpv4, type BatchedUdpSocket } from './batched-udp.js';

/** `auto`: batched when the native part is built, else dgram. */
export type RtpIoMode = 'auto' | 'batched' | 'dgram';
export const RTP_IO_MODES: readonly RtpIoMode[] = ['auto', 'batched', 'dgram'];

/** One datagram: its bytes (valid as long as the session keeps them, see RING_BYTES), who sent it, when it arrived (performance.now() ms). */
export type RtpPacketHandler = (msg: Uint8Array, rinfo: RemoteInfo, arrivalMs: number) => void;

export interface RtpSocketIo {
  readonly kind: 'dgram' | 'batched';
  /** Binds host:port and starts delivering datagrams to `onPacket`. */
  listen(host: string, port: number, onPacket: RtpPacketHandler): Promise<{ address: string; port: number }>;
  /** Sends (dgram) or queues until flush() (batched) `length` bytes of `buf`; `buf` may be reused once this returns. */
  send(buf: Uint8Array, length: number, port: number, address: string): void;
  /** Delivers every datagram that arrived since the last poll (batched; dgram delivers as they arrive). */
  poll(): void;
  /** Sends what send() queued (batched; dgram has sent it already). */
  flush(): void;
  /** Packets that could not be sent. */
  readonly sendErrors: number;
  /** Datagrams dropped for being longer than a receive slot (batched). */
  readonly truncated: number;
  close(): Promise<void>;
}

/** Whether the native batched UDP is built (and not switched off by MEDIABOT_NATIVE=off). */
export function batchedRtpAvailable(): boolean {
  return loadBatchedUdpKernels() !== null;
}

/** The backend `mode` stands for here. */
export function resolveRtpIo(mode: RtpIoMode = 'auto'): 'batched' | 'dgram' {
  if (mode === 'dgram') return 'dgram';
  if (mode === 'batched') {
    if (!batchedRtpAvailable()) throw new MediabotError('MEDIABOT_UDP_FAILED', 'MEDIABOT_RTP_IO=batched needs the native part built (npm run install; Linux), and MEDIABOT_NATIVE not off');
    return 'batched';
  }
  return batchedRtpAvailable() ? 'batched' : 'dgram';
}

export function createRtpSocketIo(mode: RtpIoMode = 'auto'): RtpSocketIo {
  return resolveRtpIo(mode) === 'batched' ? new BatchedRtpIo() : new DgramRtpIo();
}

class DgramRtpIo implements RtpSocketIo {
  readonly kind = 'dgram';
  sendErrors = 0;
  readonly truncated = 0;
  private socket: Socket | null = null;

  async listen(host: string, port: number, onPacket: RtpPacketHandler): Promise<{ address: string; port: number }> {
    const socket = createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
    this.socket = socket;
    socket.on('message', (msg, rinfo) => onPacket(msg, rinfo, performance.now()));
    // A send error is counted by onSent; nothing else is expected on a bound UDP socket.
    socket.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const a = socket.address();
    return { address: a.address, port: a.port };
  }

  private readonly onSent = (err: Error | null): void => {
    if (err) this.sendErrors++;
  };

  send(buf: Uint8Array, length: number, port: number, address: string): void {
    this.socket?.send(buf, 0, length, port, address, this.onSent);
  }

  poll(): void {}
  flush(): void {}

  async close(): Promise<void> {
    const s = this.socket;
    this.socket = null;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

/** Datagrams per recvmmsg and packets per sendmmsg (more wait for the next call). */
const BATCH = 1024;
const SLOT = 1500;
/**
 * Received datagrams are copied into this ring, since the receive slots are reused at the next poll
 * while the jitter buffer (and the source guard's probation) keep payloads until they play: 4 MiB is
 * over 2 s of the largest packets at 1000 packets a second, ten times the deepest jitter buffer.
 */
const RING_BYTES = 4 * 1024 * 1024;
/** Address strings by number and back: a call hears from few addresses (cleared past this size). */
const ADDRESS_CACHE = 1024;

class BatchedRtpIo implements RtpSocketIo {
  readonly kind = 'batched';
  sendErrors = 0;
  truncated = 0;
  private sock: BatchedUdpSocket | null = null;
  private onPacket: RtpPacketHandler | null = null;
  private queued = 0;
  private queuedBytes = 0;
  private readonly ring = new Uint8Array(RING_BYTES);
  private ringAt = 0;
  /** One sender record, rewritten for each datagram (the handler copies what it keeps). */
  private readonly rinfo: RemoteInfo = { address: '', family: 'IPv4', port: 0, size: 0 };
  private readonly names = new Map<number, string>();
  private readonly numbers = new Map<string, number>();

  async listen(host: string, port: number, onPacket: RtpPacketHandler): Promise<{ address: string; port: number }> {
    this.onPacket = onPacket;
    this.sock = await openBatchedUdp({ host, port, impl: 'native', recvCapacity: BATCH, sendCapacity: BATCH, slotSize: SLOT, sendBytes: BATCH * 512 });
    return { address: this.sock.address, port: this.sock.port };
  }

  send(buf: Uint8Array, length: number, port: number, address: string): void {
    const s = this.sock;
    if (!s) return;
    const tx = s.tx;
    if (this.queued === tx.capacity || this.queuedBytes + length > tx.data.length) {
      this.sendErrors++;
      return;
    }
    let a = this.numbers.get(address);
    if (a === undefined) {
      a = ipv4ToUint32(address);
      if (this.numbers.size >= ADDRESS_CACHE) this.numbers.clear();
      this.numbers.set(address, a);
    }
    const at = this.queuedBytes;
    // A byte loop, not set(subarray): no view object per packet (packets are a few hundred bytes).
    const d = tx.data;
    for (let k = 0; k < length; k++) d[at + k] = buf[k]!;
    const q = this.queued++;
    tx.offsets[q] = at;
    tx.lengths[q] = length;
    tx.addresses[q] = a;
    tx.ports[q] = port;
    this.queuedBytes += length;
  }

  poll(): void {
    const s = this.sock;
    const onPacket = this.onPacket;
    if (!s || !onPacket) return;
    const rx = s.rx;
    const ri = this.rinfo;
    for (;;) {
      const n = s.recv();
      for (let i = 0; i < n; i++) {
        const len = rx.lengths[i]!;
        // Longer than a slot (an MTU) is no RTP packet of ours: dropped, counted.
        if (rx.truncated[i] === 1) {
          this.truncated++;
          continue;
        }
        if (this.ringAt + len > RING_BYTES) this.ringAt = 0;
        const at = i * rx.slotSize;
        const ring = this.ring;
        const data = rx.data;
        for (let k = 0, o = this.ringAt; k < len; k++) ring[o + k] = data[at + k]!;
        const msg = this.ring.subarray(this.ringAt, this.ringAt + len);
        this.ringAt += len;
        const a = rx.addresses[i]!;
        let name = this.names.get(a);
        if (name === undefined) {
          name = uint32ToIpv4(a);
          if (this.names.size >= ADDRESS_CACHE) this.names.clear();
          this.names.set(a, name);
        }
        ri.address = name;
        ri.port = rx.ports[i]!;
        ri.size = len;
        onPacket(msg, ri, rx.arrivalMs[i]!);
      }
      if (n < rx.capacity) return;
    }
  }

  flush(): void {
    const s = this.sock;
    if (this.queued === 0 || !s) return;
    const sent = s.send(this.queued);
    this.sendErrors += this.queued - sent;
    this.queued = 0;
    this.queuedBytes = 0;
  }

  async close(): Promise<void> {
    this.flush();
    const s = this.sock;
    this.sock = null;
    if (s) await s.close();
  }
}
