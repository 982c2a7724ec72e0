import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { MediabotError } from '../../../errors.js';
import { native } from '../../codec/native.js';

/**
 * A UDP socket read and written a batch at a time, for a media thread that
 * works at the 20 ms tick: `recv()` takes every datagram that arrived since the
 * last call into preallocated arrays, `send(n)` sends the first n packets laid
 * out in the send arrays. Two implementations share this interface:
 *
 *  - native (Linux, native/batched_udp.c): one recvmmsg and one sendmmsg per
 *    call, the kernel's arrival time of each datagram (SO_TIMESTAMPNS), no
 *    JavaScript callback and no event-loop wake-up per packet;
 *  - dgram (everywhere): node:dgram's 'message' events copy each datagram into
 *    the same arrays as it arrives (arrival time = when the callback ran).
 *
 * IPv4 only. Addresses are 32-bit numbers in host order (127.0.0.1 = 0x7f000001).
 */
export interface ReceiveArrays {
  /** capacity × slotSize bytes: datagram i is at i × slotSize. */
  readonly data: Uint8Array;
  readonly slotSize: number;
  /** Bytes of datagram i in its slot (at most slotSize). */
  readonly lengths: Int32Array;
  readonly addresses: Uint32Array;
  readonly ports: Uint16Array;
  /** When datagram i arrived, on performance.now()'s timeline (ms). */
  readonly arrivalMs: Float64Array;
  /** 1 when datagram i was longer than slotSize (its tail is lost). */
  readonly truncated: Uint8Array;
  readonly capacity: number;
}

export interface SendArrays {
  readonly data: Uint8Array;
  /** Packet i is lengths[i] bytes at offsets[i] of data, to addresses[i]:ports[i]. */
  readonly offsets: Int32Array;
  readonly lengths: Int32Array;
  readonly addresses: Uint32Array;
  readonly ports: Uint16Array;
  readonly capacity: number;
}

export interface BatchedUdpStats {
  received: number;
  truncated: number;
  /** Datagrams dropped because more than `capacity` arrived between two recv() calls (dgram only; natively they wait in the kernel). */
  overflow: number;
  sent: number;
  sendFailed: number;
}

export interface BatchedUdpSocket {
  readonly kind: 'native' | 'dgram';
  readonly address: string;
  readonly port: number;
  readonly rx: ReceiveArrays;
  readonly tx: SendArrays;
  readonly stats: BatchedUdpStats;
  /**
   * Fills rx with the pending datagrams (at most rx.capacity) and returns how many.
   * rx stays valid until the next recv() and until the caller yields to the event loop.
   * When it returns rx.capacity, more may be pending: call again.
   */
  recv(): number;
  /**
   * Sends tx packets 0..count-1 and returns how many were handed to the kernel
   * (dgram: queued; its failures are counted in stats.sendFailed later). tx may be
   * rewritten as soon as send() returns.
   */
  send(count: number): number;
  close(): Promise<void>;
}

export interface BatchedUdpOptions {
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /** Datagrams per recv() (default 256). */
  recvCapacity?: number;
  /** Bytes per receive slot (default 1500: an Ethernet MTU). */
  slotSize?: number;
  /** Packets per send() (default 256). */
  sendCapacity?: number;
  /** Bytes of the send data buffer (default sendCapacity × slotSize). */
  sendBytes?: number;
  recvBufferBytes?: number;
  /** 'auto' (default): native when built, else dgram. */
  impl?: 'auto' | 'native' | 'dgram';
}

interface BatchedUdpKernels {
  udpOpen(host: string, port: number, recvBufferBytes: number): unknown;
  udpLocalPort(handle: unknown): number;
  udpSetRecvBuffers(handle: unknown, data: Uint8Array, slotSize: number, lengths: Int32Array, addresses: Uint32Array, ports: Uint16Array, arrivalMs: Float64Array, truncated: Uint8Array): number;
  udpRecv(handle: unknown, clockOffsetMs: number): number;
  udpSetSendBuffers(handle: unknown, data: Uint8Array, offsets: Int32Array, lengths: Int32Array, addresses: Uint32Array, ports: Uint16Array): number;
  udpSend(handle: unknown, count: number): number;
  udpClose(handle: unknown): void;
  stampUs(out: Float64Array, index: number): void;
}

/** The native batched UDP kernels, or null when the addon is not built, was built without them (not Linux) or MEDIABOT_NATIVE=off. */
export function loadBatchedUdpKernels(): BatchedUdpKernels | null {
  const k = native as unknown as Partial<BatchedUdpKernels> | null;
  return k && typeof k.udpOpen === 'function' && typeof k.udpRecv === 'function' ? (k as BatchedUdpKernels) : null;
}

const kernels = loadBatchedUdpKernels();

export function ipv4ToUint32(address: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
  const parts = m ? m.slice(1).map(Number) : [];
  if (parts.length !== 4 || parts.some((p) => p > 255)) throw new MediabotError('MEDIABOT_UDP_FAILED', `not an IPv4 address: ${JSON.stringify(address)}`);
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

export function uint32ToIpv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function receiveArrays(capacity: number, slotSize: number): ReceiveArrays {
  return {
    data: new Uint8Array(capacity * slotSize),
    slotSize,
    lengths: new Int32Array(capacity),
    addresses: new Uint32Array(capacity),
    ports: new Uint16Array(capacity),
    arrivalMs: new Float64Array(capacity),
    truncated: new Uint8Array(capacity),
    capacity,
  };
}

function sendArrays(capacity: number, bytes: number): SendArrays {
  return { data: new Uint8Array(bytes), offsets: new Int32Array(capacity), lengths: new Int32Array(capacity), addresses: new Uint32Array(capacity), ports: new Uint16Array(capacity), capacity };
}

const emptyStats = (): BatchedUdpStats => ({ received: 0, truncated: 0, overflow: 0, sent: 0, sendFailed: 0 });

class NativeBatchedUdp implements BatchedUdpSocket {
  readonly kind = 'native';
  readonly stats = emptyStats();
  /** performance.now() minus CLOCK_MONOTONIC in ms: puts the kernel's arrival times on performance.now()'s timeline. */
  private readonly clockOffsetMs: number;

  constructor(
    private readonly k: BatchedUdpKernels,
    private handle: unknown,
    readonly address: string,
    readonly port: number,
    readonly rx: ReceiveArrays,
    readonly tx: SendArrays,
  ) {
    const mono = new Float64Array(1);
    const before = performance.now();
    k.stampUs(mono, 0);
    const after = performance.now();
    this.clockOffsetMs = (before + after) / 2 - mono[0]! / 1000;
  }

  recv(): number {
    if (this.handle === null) return 0;
    const n = this.k.udpRecv(this.handle, this.clockOffsetMs);
    this.stats.received += n;
    for (let i = 0; i < n; i++) this.stats.truncated += this.rx.truncated[i]!;
    return n;
  }

  send(count: number): number {
    if (this.handle === null) return 0;
    const sent = this.k.udpSend(this.handle, count);
    this.stats.sent += sent;
    this.stats.sendFailed += count - sent;
    return sent;
  }

  async close(): Promise<void> {
    if (this.handle === null) return;
    this.k.udpClose(this.handle);
    this.handle = null;
  }
}

class DgramBatchedUdp implements BatchedUdpSocket {
  readonly kind = 'dgram';
  readonly stats = emptyStats();
  private pending = 0;
  private closed = false;
  /** Address strings seen or sent to, and their numbers: a call has a handful of peers. */
  private readonly toNumber = new Map<string, number>();
  private readonly toString = new Map<number, string>();

  constructor(
    private readonly socket: Socket,
    readonly address: string,
    readonly port: number,
    readonly rx: ReceiveArrays,
    readonly tx: SendArrays,
  ) {
    socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    const rx = this.rx;
    if (this.pending === rx.capacity) {
      this.stats.overflow++;
      return;
    }
    const i = this.pending++;
    const kept = Math.min(msg.length, rx.slotSize);
    rx.data.set(kept === msg.length ? msg : msg.subarray(0, kept), i * rx.slotSize);
    rx.lengths[i] = kept;
    rx.truncated[i] = kept < msg.length ? 1 : 0;
    let a = this.toNumber.get(rinfo.address);
    if (a === undefined) {
      a = ipv4ToUint32(rinfo.address);
      this.toNumber.set(rinfo.address, a);
    }
    rx.addresses[i] = a;
    rx.ports[i] = rinfo.port;
    rx.arrivalMs[i] = performance.now();
  }

  recv(): number {
    const n = this.pending;
    this.pending = 0;
    this.stats.received += n;
    for (let i = 0; i < n; i++) this.stats.truncated += this.rx.truncated[i]!;
    return n;
  }

  private readonly onSent = (err: Error | null): void => {
    if (err) {
      this.stats.sendFailed++;
      this.stats.sent--;
    }
  };

  send(count: number): number {
    if (this.closed) return 0;
    if (!Number.isInteger(count) || count < 0 || count > this.tx.capacity) throw new RangeError('send: count must be 0..capacity');
    const tx = this.tx;
    for (let i = 0; i < count; i++) {
      const a = tx.addresses[i]!;
      let host = this.toString.get(a);
      if (host === undefined) {
        host = uint32ToIpv4(a);
        this.toString.set(a, host);
      }
      // dgram sends on a later turn of the event loop: copy, so tx can be reused at once (as natively).
      const at = tx.offsets[i]!;
      const len = tx.lengths[i]!;
      if (at < 0 || len < 0 || at + len > tx.data.length) throw new RangeError("send: a packet's offset and length fall outside the data buffer");
      this.socket.send(Buffer.from(tx.data.subarray(at, at + len)), tx.ports[i]!, host, this.onSent);
    }
    this.stats.sent += count;
    return count;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}

/** Opens a batched UDP socket bound to host:port (native when built, unless `impl` says otherwise). */
export async function openBatchedUdp(opts: BatchedUdpOptions): Promise<BatchedUdpSocket> {
  const host = opts.host ?? '127.0.0.1';
  ipv4ToUint32(host);
  const slotSize = opts.slotSize ?? 1500;
  const recvCapacity = opts.recvCapacity ?? 256;
  const sendCapacity = opts.sendCapacity ?? 256;
  const sendBytes = opts.sendBytes ?? sendCapacity * slotSize;
  if (![slotSize, recvCapacity, sendCapacity, sendBytes].every((n) => Number.isInteger(n) && n > 0)) {
    throw new MediabotError('MEDIABOT_UDP_FAILED', 'slotSize, recvCapacity, sendCapacity and sendBytes must be positive integers');
  }
  const recvBufferBytes = opts.recvBufferBytes ?? 4 * 1024 * 1024;
  const impl = opts.impl ?? 'auto';
  if (impl === 'native' && !kernels) throw new MediabotError('MEDIABOT_UDP_FAILED', 'the native batched UDP is not built (or MEDIABOT_NATIVE=off)');
  const rx = receiveArrays(recvCapacity, slotSize);
  const tx = sendArrays(sendCapacity, sendBytes);
  if (impl !== 'dgram' && kernels) {
    let handle: unknown;
    try {
      handle = kernels.udpOpen(host, opts.port, recvBufferBytes);
      kernels.udpSetRecvBuffers(handle, rx.data, slotSize, rx.lengths, rx.addresses, rx.ports, rx.arrivalMs, rx.truncated);
      kernels.udpSetSendBuffers(handle, tx.data, tx.offsets, tx.lengths, tx.addresses, tx.ports);
      return new NativeBatchedUdp(kernels, handle, host, kernels.udpLocalPort(handle), rx, tx);
    } catch (err) {
      if (handle !== undefined) kernels.udpClose(handle);
      throw new MediabotError('MEDIABOT_UDP_FAILED', `cannot open UDP ${host}:${opts.port}: ${(err as Error).message}`);
    }
  }
  const socket = createSocket({ type: 'udp4', recvBufferSize: recvBufferBytes });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', (err) => reject(new MediabotError('MEDIABOT_UDP_FAILED', `cannot open UDP ${host}:${opts.port}: ${err.message}`)));
    socket.bind(opts.port, host, () => resolve());
  });
  socket.removeAllListeners('error');
  // A send error is counted by the send callback; nothing else is expected on a bound UDP socket.
  socket.on('error', () => {});
  return new DgramBatchedUdp(socket, host, socket.address().port, rx, tx);
}
