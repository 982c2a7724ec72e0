import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createOpusDecoder } from '../../src/media/codec/opus.js';
import { emptyRtpPacket, isRtcp, parseRtpInto } from '../../src/media/wire/rtp.js';

export interface RelayOptions {
  /** Probability of dropping a packet sender → mixer. */
  loss?: number;
  /** Probability of holding a packet back and sending it after the next one (reordering). */
  reorder?: number;
  seed?: number;
}

/**
 * A UDP relay between one sender (ffmpeg) and the mixer, standing in for a
 * lossy network: it forwards the sender's packets from its own socket, so the
 * mixer answers to the relay, which collects the returned mix.
 */
export class LossyRelay {
  readonly socket: Socket;
  readonly received: Buffer[] = [];
  readonly arrivalsMs: number[] = [];
  forwarded = 0;
  /** SSRC of the sender's stream (from its first RTP packet), 0 before. */
  senderSsrc = 0;
  /** When the sender's first RTP packet arrived (performance.now() ms), or -1. */
  firstFromSenderMs = -1;
  dropped = 0;
  reordered = 0;
  private held: Buffer | null = null;
  private rng: () => number;

  /** `mixerPort` may be set after bind() when the mixer assigns it per participant (Janus AudioBridge). */
  constructor(
    public mixerPort: number,
    private readonly opts: RelayOptions = {},
  ) {
    this.socket = createSocket('udp4');
    let s = opts.seed ?? 1;
    this.rng = () => {
      s = (s * 1103515245 + 12345) & 0x7fffffff;
      return s / 0x7fffffff;
    };
    this.socket.on('message', (msg, rinfo) => {
      if (rinfo.port === this.mixerPort) {
        if (!isRtcp(msg)) {
          this.received.push(msg);
          this.arrivalsMs.push(performance.now());
        }
        return;
      }
      this.fromSender(msg);
    });
  }

  async bind(): Promise<number> {
    this.socket.bind(0, '127.0.0.1');
    await once(this.socket, 'listening');
    return this.socket.address().port;
  }

  private fromSender(msg: Buffer): void {
    if (isRtcp(msg)) {
      this.socket.send(msg, this.mixerPort, '127.0.0.1');
      return;
    }
    if (this.senderSsrc === 0 && msg.length >= 12) {
      this.senderSsrc = msg.readUInt32BE(8);
      this.firstFromSenderMs = performance.now();
    }
    if (this.rng() < (this.opts.loss ?? 0)) {
      this.dropped++;
      return;
    }
    if (!this.held && this.rng() < (this.opts.reorder ?? 0)) {
      this.held = msg;
      this.reordered++;
      return;
    }
    this.socket.send(msg, this.mixerPort, '127.0.0.1');
    this.forwarded++;
    if (this.held) {
      this.socket.send(this.held, this.mixerPort, '127.0.0.1');
      this.forwarded++;
      this.held = null;
    }
  }

  /** Decodes the returned mix in sequence order (one decoder, concealing gaps). */
  decodeReceived(): Int16Array {
    const p = emptyRtpPacket();
    // Sequence numbers start at a random value and may wrap mid-call: order by the
    // distance from the previous packet (RFC 3550 extended sequence), not by the raw 16 bits.
    let last = -1;
    let extended = 0;
    const packets = this.received.map((b) => {
      parseRtpInto(b, p);
      if (last >= 0) extended += ((p.sequence - last + 0x18000) & 0xffff) - 0x8000;
      last = p.sequence;
      return { seq: extended, payload: new Uint8Array(p.payload) };
    });
    packets.sort((a, b) => a.seq - b.seq);
    const dec = createOpusDecoder();
    const frame = new Int16Array(960);
    const out = new Int16Array(packets.length * 960);
    packets.forEach((pk, i) => {
      dec.decode(pk.payload, frame);
      out.set(frame, i * 960);
    });
    return out;
  }

  close(): void {
    this.socket.close();
  }
}

/** ffmpeg sending a WAV file as Opus RTP in real time to a local UDP port. */
/** The Opus settings of the ffmpeg sender: a softphone's (VOIP, 32 kbps, 20 ms), with in-band FEC when asked. */
export function ffmpegOpusArgs(opts: { fec?: boolean } = {}): string[] {
  const args = ['-c:a', 'libopus', '-b:a', '32k', '-application', 'voip', '-frame_duration', '20'];
  // Stream-qualified: a bare -fec would be taken by the RTP muxer's own option.
  if (opts.fec) args.push('-fec:a', '1', '-packet_loss:a', '10');
  return args;
}

export function ffmpegSend(wav: string, port: number, opts: { fec?: boolean } = {}): ChildProcess {
  return spawn('ffmpeg', ['-v', 'error', '-re', '-i', wav, ...ffmpegOpusArgs(opts), '-f', 'rtp', `rtp://127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * ffmpeg sending an already encoded Opus file (Ogg) as RTP in real time, packet
 * for packet (no encoding in the sender), with payload type 111.
 */
export function ffmpegSendEncoded(opus: string, port: number): ChildProcess {
  return spawn('ffmpeg', ['-v', 'error', '-re', '-i', opus, '-c:a', 'copy', '-payload_type', '111', '-f', 'rtp', `rtp://127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** bin/mediabot.js, from the compiled benchmark (dist/benchmarks/lib) or the source one (benchmarks/lib). */
function cliPath(): string {
  for (const up of ['../../../bin/mediabot.js', '../../bin/mediabot.js']) {
    const p = fileURLToPath(new URL(up, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error('bin/mediabot.js not found');
}

export interface RtpMixerProcess {
  child: ChildProcess;
  port: number;
  /** What the mixer printed so far (stdout and stderr), for error messages. */
  output: () => string;
  /** SIGINT, then waits for the exit (stats are written on the way out). */
  stop: () => Promise<void>;
}

/**
 * Starts the built `mediabot rtp --port 0` with `args` and resolves with the UDP
 * port it prints (within 20 s). With `echoStderr`, its progress goes to ours too;
 * `env` replaces its environment, `nodeArgs` go to node before the script (--cpu-prof).
 */
export async function startRtpMixer(args: string[], opts: { echoStderr?: boolean; env?: NodeJS.ProcessEnv; nodeArgs?: string[] } = {}): Promise<RtpMixerProcess> {
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), cliPath(), 'rtp', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env });
  let out = '';
  child.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
    if (opts.echoStderr) process.stderr.write(d);
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`mediabot rtp did not get ready: ${out}`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /udp:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`mediabot rtp exited with ${code}: ${out}`)));
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null) return;
    child.kill('SIGINT');
    await once(child, 'exit');
  };
  return { child, port, output: () => out, stop };
}
