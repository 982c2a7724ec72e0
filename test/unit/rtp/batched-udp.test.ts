import { spawnSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { native } from '../../../src/media/codec/native.js';
import { ipv4ToUint32, loadBatchedUdpKernels, openBatchedUdp, uint32ToIpv4, type BatchedUdpSocket } from '../../../src/media/session/rtp/batched-udp.js';

const LOCALHOST = 0x7f000001;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const open: Array<BatchedUdpSocket | Socket> = [];
afterEach(async () => {
  for (const s of open.splice(0)) {
    if ('kind' in s) await s.close();
    else s.close();
  }
});

async function peer(): Promise<{ socket: Socket; port: number; got: Buffer[] }> {
  const socket = createSocket('udp4');
  open.push(socket);
  const got: Buffer[] = [];
  socket.on('message', (m) => got.push(m));
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return { socket, port: socket.address().port, got };
}

async function sock(impl: 'native' | 'dgram', opts: { slotSize?: number; recvCapacity?: number; sendCapacity?: number } = {}): Promise<BatchedUdpSocket> {
  const s = await openBatchedUdp({ port: 0, impl, ...opts });
  open.push(s);
  return s;
}

/** Calls recv() until `want` datagrams came in (or 2 s passed); returns copies of them. */
async function receiveAll(s: BatchedUdpSocket, want: number): Promise<Array<{ bytes: Buffer; port: number; address: number; arrivalMs: number; truncated: number }>> {
  const out: Array<{ bytes: Buffer; port: number; address: number; arrivalMs: number; truncated: number }> = [];
  const deadline = performance.now() + 2000;
  while (out.length < want && performance.now() < deadline) {
    const n = s.recv();
    for (let i = 0; i < n; i++) {
      const at = i * s.rx.slotSize;
      out.push({ bytes: Buffer.from(s.rx.data.subarray(at, at + s.rx.lengths[i]!)), port: s.rx.ports[i]!, address: s.rx.addresses[i]!, arrivalMs: s.rx.arrivalMs[i]!, truncated: s.rx.truncated[i]! });
    }
    if (n === 0) await sleep(5);
  }
  return out;
}

const packet = (n: number, size = 80): Buffer => {
  const b = Buffer.alloc(size, n & 0xff);
  if (size >= 4) b.writeUInt32BE(n, 0);
  return b;
};

const impls = (['native', 'dgram'] as const).filter((k) => k === 'dgram' || loadBatchedUdpKernels() !== null);

describe('batched UDP: loading', () => {
  it('has the native kernels exactly when the addon is loaded on Linux', () => {
    expect(loadBatchedUdpKernels() !== null).toBe(native !== null && process.platform === 'linux');
  });

  it('falls back to dgram with MEDIABOT_NATIVE=off', () => {
    const code = `import { openBatchedUdp, loadBatchedUdpKernels } from './src/media/session/rtp/batched-udp.ts';
      const s = await openBatchedUdp({ port: 0 });
      console.log(JSON.stringify({ kernels: loadBatchedUdpKernels() !== null, kind: s.kind }));
      await s.close();`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { env: { ...process.env, MEDIABOT_NATIVE: 'off' }, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toEqual({ kernels: false, kind: 'dgram' });
  });

  it('converts IPv4 addresses both ways and rejects others', () => {
    expect(ipv4ToUint32('127.0.0.1')).toBe(LOCALHOST);
    expect(ipv4ToUint32('255.1.2.3')).toBe(0xff010203);
    expect(uint32ToIpv4(0xff010203)).toBe('255.1.2.3');
    expect(() => ipv4ToUint32('::1')).toThrow(expect.objectContaining({ code: 'MEDIABOT_UDP_FAILED' }));
    expect(() => ipv4ToUint32('1.2.3.256')).toThrow(expect.objectContaining({ code: 'MEDIABOT_UDP_FAILED' }));
  });
});

describe.each(impls)('batched UDP (%s)', (impl) => {
  it('receives datagrams from several peers and sends a batch back', async () => {
    const s = await sock(impl);
    expect(s.kind).toBe(impl);
    const [b, c] = [await peer(), await peer()];
    b.socket.send(packet(1), s.port, '127.0.0.1');
    c.socket.send(packet(2, 120), s.port, '127.0.0.1');
    const got = await receiveAll(s, 2);
    expect(got).toHaveLength(2);
    const byPort = new Map(got.map((g) => [g.port, g]));
    expect(byPort.get(b.port)!.bytes.equals(packet(1))).toBe(true);
    expect(byPort.get(c.port)!.bytes.equals(packet(2, 120))).toBe(true);
    expect(got.every((g) => g.address === LOCALHOST && g.truncated === 0)).toBe(true);
    expect(s.recv()).toBe(0);

    // Two packets laid out back to back in the send buffer, one to each peer.
    const one = packet(10, 60);
    const two = packet(11, 172);
    s.tx.data.set(one, 0);
    s.tx.data.set(two, 60);
    s.tx.offsets.set([0, 60]);
    s.tx.lengths.set([60, 172]);
    s.tx.addresses.set([LOCALHOST, LOCALHOST]);
    s.tx.ports.set([b.port, c.port]);
    expect(s.send(2)).toBe(2);
    const deadline = performance.now() + 2000;
    while ((b.got.length < 1 || c.got.length < 1) && performance.now() < deadline) await sleep(5);
    expect(b.got.map((m) => m.toString('hex'))).toEqual([one.toString('hex')]);
    expect(c.got.map((m) => m.toString('hex'))).toEqual([two.toString('hex')]);
    expect(s.stats).toMatchObject({ received: 2, sent: 2, sendFailed: 0, truncated: 0 });
  });

  it('stamps each datagram with its arrival time, not the time of recv()', async () => {
    const s = await sock(impl);
    const b = await peer();
    const sentAt: number[] = [];
    for (let i = 0; i < 10; i++) {
      sentAt.push(performance.now());
      b.socket.send(packet(i), s.port, '127.0.0.1');
      await sleep(10);
    }
    await sleep(100);
    const recvAt = performance.now();
    const got = await receiveAll(s, 10);
    expect(got).toHaveLength(10);
    for (let i = 0; i < got.length; i++) {
      const g = got[i]!;
      expect(g.bytes.readUInt32BE(0)).toBe(i);
      if (i > 0) expect(g.arrivalMs).toBeGreaterThanOrEqual(got[i - 1]!.arrivalMs);
      // Arrived after it was sent, and well before the recv() 100 ms after the last send.
      expect(g.arrivalMs).toBeGreaterThanOrEqual(sentAt[i]! - 0.5);
      expect(g.arrivalMs).toBeLessThan(sentAt[i]! + 30);
      expect(recvAt - g.arrivalMs).toBeGreaterThan(80);
    }
    // The spacing of the arrivals follows the spacing of the sends.
    const spanSent = sentAt[9]! - sentAt[0]!;
    const spanArrived = got[9]!.arrivalMs - got[0]!.arrivalMs;
    expect(Math.abs(spanArrived - spanSent)).toBeLessThan(15);
  });

  it('lets the send arrays be rewritten as soon as send() returns', async () => {
    const s = await sock(impl, { sendCapacity: 1 });
    const b = await peer();
    s.tx.offsets[0] = 0;
    s.tx.lengths[0] = 8;
    s.tx.addresses[0] = LOCALHOST;
    s.tx.ports[0] = b.port;
    for (let n = 0; n < 5; n++) {
      s.tx.data.set(packet(n, 8), 0);
      expect(s.send(1)).toBe(1);
    }
    const deadline = performance.now() + 2000;
    while (b.got.length < 5 && performance.now() < deadline) await sleep(5);
    expect(b.got.map((m) => m.readUInt32BE(0))).toEqual([0, 1, 2, 3, 4]);
  });

  it('keeps slotSize bytes of a longer datagram and flags it truncated', async () => {
    const s = await sock(impl, { slotSize: 64 });
    const b = await peer();
    b.socket.send(packet(7, 100), s.port, '127.0.0.1');
    await sleep(20);
    b.socket.send(packet(8, 10), s.port, '127.0.0.1');
    const got = await receiveAll(s, 2);
    expect(got.map((g) => [g.bytes.length, g.truncated])).toEqual([
      [64, 1],
      [10, 0],
    ]);
    expect(got[0]!.bytes.equals(packet(7, 100).subarray(0, 64))).toBe(true);
    expect(s.stats.truncated).toBe(1);
  });

  it('moves a thousand packets each way', async () => {
    const s = await sock(impl, { recvCapacity: 512, sendCapacity: 300 });
    const b = await peer();
    const seen = new Set<number>();
    for (let burst = 0; burst < 10; burst++) {
      for (let i = 0; i < 100; i++) b.socket.send(packet(burst * 100 + i), s.port, '127.0.0.1');
      for (const g of await receiveAll(s, 100)) seen.add(g.bytes.readUInt32BE(0));
    }
    expect(seen.size).toBe(1000);
    expect(Math.min(...seen)).toBe(0);
    expect(Math.max(...seen)).toBe(999);
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 250; i++) {
        s.tx.data.set(packet(round * 250 + i, 40), i * 40);
        s.tx.offsets[i] = i * 40;
        s.tx.lengths[i] = 40;
        s.tx.addresses[i] = LOCALHOST;
        s.tx.ports[i] = b.port;
      }
      expect(s.send(250)).toBe(250);
      const deadline = performance.now() + 2000;
      while (b.got.length < (round + 1) * 250 && performance.now() < deadline) await sleep(5);
    }
    expect(new Set(b.got.map((m) => m.readUInt32BE(0))).size).toBe(1000);
  });

  it('refuses a bad host, a taken port and a send outside its buffers', async () => {
    await expect(openBatchedUdp({ host: 'localhost', port: 0, impl })).rejects.toMatchObject({ code: 'MEDIABOT_UDP_FAILED' });
    const s = await sock(impl, { sendCapacity: 4 });
    await expect(openBatchedUdp({ port: s.port, impl })).rejects.toMatchObject({ code: 'MEDIABOT_UDP_FAILED' });
    expect(() => s.send(5)).toThrow();
    s.tx.offsets[0] = s.tx.data.length - 2;
    s.tx.lengths[0] = 10;
    s.tx.ports[0] = 9;
    s.tx.addresses[0] = LOCALHOST;
    expect(() => s.send(1)).toThrow();
  });
});

describe.runIf(impls.includes('native'))('batched UDP: native and dgram agree', () => {
  it('gives the same arrays for the same datagrams', async () => {
    const [n, d] = [await sock('native', { slotSize: 100 }), await sock('dgram', { slotSize: 100 })];
    const b = await peer();
    const sizes = [12, 80, 100, 101, 300, 1];
    for (const [i, size] of sizes.entries()) {
      b.socket.send(packet(i, size), n.port, '127.0.0.1');
      b.socket.send(packet(i, size), d.port, '127.0.0.1');
      await sleep(2);
    }
    const [gn, gd] = [await receiveAll(n, sizes.length), await receiveAll(d, sizes.length)];
    const shape = (g: typeof gn): unknown => g.map((x) => ({ hex: x.bytes.toString('hex'), port: x.port, address: x.address, truncated: x.truncated }));
    expect(shape(gn)).toEqual(shape(gd));
    expect(gn.map((x) => x.truncated)).toEqual([0, 0, 0, 1, 1, 0]);
    for (let i = 0; i < sizes.length; i++) expect(Math.abs(gn[i]!.arrivalMs - gd[i]!.arrivalMs)).toBeLessThan(20);
    expect(n.stats).toEqual(d.stats);
  });
});
