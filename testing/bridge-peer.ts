/**
 * A conformance peer for docs/bridge-protocol.md playing the media sidecar's part:
 * it connects to mediabot's /media/bridge, says hello, answers createMediaSession
 * with a blob, starts the call's media session, sends the source map, then streams
 * the speakers' audio at real time (or `speed` × real time) as unmixed frames for up
 * to 4 active speakers and a mixed stream, with activeSpeakers / dominantSpeaker
 * changes, DTMF and mediaHealth. It receives the outbound audio and reports it.
 * Every message mediabot sends is validated against the protocol's schemas.
 * Used by `mediabot bridge-sim`, the tests and the benchmarks; the protocol itself is
 * testing/sidecar/, shared with the emulator's sidecar.
 */
import { MediabotError } from '../src/errors.js';
import { FRAME, SidecarCall, SidecarConnection, type SidecarConnectionOptions, type SidecarSpeaker } from './sidecar/index.js';

export interface BridgeSimSpeaker extends SidecarSpeaker {
  /** The speaker's audio, 16 kHz mono int16, from media time 0. */
  pcm16: Int16Array;
}

export interface BridgeSimOptions {
  /** mediabot's bridge endpoint, e.g. ws://127.0.0.1:3978/media/bridge */
  url: string;
  token: string;
  callId: string;
  speakers: BridgeSimSpeaker[];
  sidecarId?: string;
  callIndex?: number;
  /** Send the mixed stream (default true). */
  mixed?: boolean;
  /** Send unmixed streams for the active speakers (default true). */
  unmixed?: boolean;
  /** At most this many unmixed streams at once (default 4, as Microsoft's platform). */
  maxUnmixed?: number;
  /** Playback speed: 1 = real time (default). */
  speed?: number;
  /** Silence streamed after the longest speaker, ms (default 400). */
  trailMs?: number;
  /** Wait for mediabot's createMediaSession for `callId` before starting the session (default false). */
  waitForCreate?: boolean;
  blob?: (callId: string) => string;
  /** Drop the connection (no close handshake) at this media time... */
  dropAtMs?: number;
  /** ...and resume the session this many ms (wall clock) later. Frames of the outage are not sent. */
  resumeAfterMs?: number;
  /** DTMF tones "received" from the call at media times. */
  dtmf?: Array<{ atMs: number; tone: string }>;
  /** Send sessionEnded and close when the audio is over (default true). */
  endSession?: boolean;
  /** RMS above which a speaker frame counts as speech (default 300). */
  activeThreshold?: number;
  /** Answer pings, send our own every heartbeatMs (default 5000). */
  heartbeatMs?: number;
  /** Keep at most this many outbound samples for the report (default 60 s at 16 kHz). */
  keepOutboundSamples?: number;
}

export interface BridgeSimReport {
  version: number;
  resumed: boolean;
  sessionToken: string | null;
  /** Media time streamed, ms. */
  durationMs: number;
  framesSent: { mixed: number; unmixed: number };
  /** Unmixed frames per MSI. */
  perSource: Record<string, number>;
  /** Frames not sent because the connection was down. */
  framesSkipped: number;
  activeSpeakerChanges: number;
  dominantHistory: Array<{ atMs: number; sourceId: number | null }>;
  createRequests: number;
  outbound: { frames: number; nonSilentFrames: number; rms: number; firstTimestampMs: number | null; lastTimestampMs: number | null; samples: Int16Array };
  /** error messages from mediabot, and messages that broke the protocol. */
  errors: Array<{ code: string; message: string }>;
  pingsReceived: number;
  closeCode: number | null;
}

export interface BridgeSimulator {
  readonly report: BridgeSimReport;
  /** Resolves when the audio has been streamed (and the session ended). */
  readonly done: Promise<BridgeSimReport>;
  stop(): Promise<BridgeSimReport>;
}

export async function startBridgeSimulator(opts: BridgeSimOptions): Promise<BridgeSimulator> {
  if (opts.speakers.length === 0) throw new MediabotError('MEDIABOT_BAD_REQUEST', 'the bridge simulator needs at least one speaker');
  const speed = opts.speed ?? 1;
  if (!(speed > 0 && speed <= 50)) throw new MediabotError('MEDIABOT_BAD_REQUEST', `speed must be in (0, 50] (got ${speed})`);
  const sidecarId = opts.sidecarId ?? `bridge-sim-${process.pid}`;
  const callIndex = opts.callIndex ?? 1;
  const keep = opts.keepOutboundSamples ?? 16_000 * 60;
  const outboundStore = new Int16Array(keep);
  let outboundKept = 0;
  let outboundSq = 0;
  const report: BridgeSimReport = {
    version: 0,
    resumed: false,
    sessionToken: null,
    durationMs: 0,
    framesSent: { mixed: 0, unmixed: 0 },
    perSource: {},
    framesSkipped: 0,
    activeSpeakerChanges: 0,
    dominantHistory: [],
    createRequests: 0,
    outbound: { frames: 0, nonSilentFrames: 0, rms: 0, firstTimestampMs: null, lastTimestampMs: null, samples: outboundStore.subarray(0, 0) },
    errors: [],
    pingsReceived: 0,
    closeCode: null,
  };
  let created: (() => void) | null = null;
  const createdPromise = new Promise<void>((r) => (created = r));
  let stopped = false;

  const connection: SidecarConnectionOptions = {
    url: opts.url,
    token: opts.token,
    sidecarId,
    capabilities: { opus: true, maxUnmixed: opts.maxUnmixed ?? 4 },
    heartbeatMs: opts.heartbeatMs ?? 5000,
    blob: (id) => opts.blob?.(id) ?? Buffer.from(JSON.stringify({ sim: sidecarId, callId: id, mpUri: 'net.tcp://127.0.0.1:8445/MediaProcessor' })).toString('base64'),
    onCreateMediaSession: (id) => {
      report.createRequests++;
      if (id === opts.callId) created?.();
    },
    onOutbound: (_index, timestampMs, pcm) => {
      report.outbound.frames++;
      report.outbound.firstTimestampMs ??= timestampMs;
      report.outbound.lastTimestampMs = timestampMs;
      let sq = 0;
      for (let i = 0; i < pcm.length; i++) sq += pcm[i]! * pcm[i]!;
      outboundSq += sq;
      if (sq > 0) report.outbound.nonSilentFrames++;
      const n = Math.min(pcm.length, keep - outboundKept);
      if (n > 0) {
        outboundStore.set(pcm.subarray(0, n), outboundKept);
        outboundKept += n;
      }
    },
    onError: (code, message) => report.errors.push({ code, message }),
    onPing: () => report.pingsReceived++,
    onClose: (code) => (report.closeCode = code),
  };
  const connect = async (resumeToken: string | null): Promise<SidecarConnection> => {
    const c = await SidecarConnection.connect(connection, resumeToken);
    report.version = c.welcome.version;
    report.resumed = c.welcome.resumed;
    report.sessionToken = c.welcome.sessionResume.sessionToken;
    return c;
  };
  let conn: SidecarConnection | null = await connect(null);
  const call = new SidecarCall({
    callId: opts.callId,
    callIndex,
    send: (msg) => conn?.send(msg),
    sendFrame: (frame) => conn?.sendFrame(frame) ?? false,
    mixed: opts.mixed !== false,
    unmixed: opts.unmixed !== false,
    maxUnmixed: opts.maxUnmixed ?? 4,
    activeThreshold: opts.activeThreshold ?? 300,
  });

  const done = (async (): Promise<BridgeSimReport> => {
    try {
      if (opts.waitForCreate) await createdPromise;
      call.start();
      call.sendSourceMap(opts.speakers);
      await stream();
      if (opts.endSession !== false && !stopped) {
        call.end('simulation finished');
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      if (opts.endSession !== false || stopped) conn?.close(1000, 'done');
      report.outbound.samples = outboundStore.subarray(0, outboundKept);
      report.outbound.rms = report.outbound.frames > 0 ? Math.sqrt(outboundSq / (report.outbound.frames * FRAME)) : 0;
    }
    return report;
  })();

  /** Drops the connection now and resumes the session `resumeAfterMs` later (then repeats the call's state). */
  function dropAndResume(): void {
    const token = report.sessionToken;
    conn?.terminate();
    conn = null;
    setTimeout(() => {
      connect(token).then(
        (c) => {
          conn = c;
          // Repeat the call state after a resume (idempotent on mediabot's side).
          c.send({ type: 'sessionStarted', callId: opts.callId, callIndex });
          call.sendSourceMap(opts.speakers);
        },
        (err: unknown) => report.errors.push({ code: 'SIM_RESUME_FAILED', message: (err as Error).message }),
      );
    }, opts.resumeAfterMs ?? 1000);
  }

  async function stream(): Promise<void> {
    const longest = Math.max(...opts.speakers.map((s) => s.pcm16.length));
    const frames = Math.ceil(longest / FRAME) + Math.round((opts.trailMs ?? 400) / 20);
    const frame = opts.speakers.map(() => new Int16Array(FRAME));
    const dtmf = [...(opts.dtmf ?? [])].sort((a, b) => a.atMs - b.atMs);
    let dropped = false;
    const t0 = performance.now();
    for (let n = 0; n < frames && !stopped; n++) {
      const wait = t0 + (n * 20) / speed - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const ts = n * 20;
      if (opts.dropAtMs !== undefined && !dropped && ts >= opts.dropAtMs) {
        dropped = true;
        dropAndResume();
      }
      for (let i = 0; i < opts.speakers.length; i++) {
        const src = opts.speakers[i]!.pcm16;
        const f = frame[i]!;
        f.fill(0);
        const start = n * FRAME;
        if (start < src.length) f.set(src.subarray(start, Math.min(src.length, start + FRAME)));
      }
      call.measure(frame);
      if (!conn?.open) {
        report.framesSkipped++;
        continue;
      }
      while (dtmf.length > 0 && dtmf[0]!.atMs <= ts) conn.send({ type: 'dtmf', callId: opts.callId, tone: dtmf.shift()!.tone, direction: 'received' });
      if (n > 0 && n % 250 === 0) conn.send({ type: 'mediaHealth', callId: opts.callId, packetLossPct: 0, jitterMs: 2, audioHealth: 'good' });
      const tick = call.send(ts, opts.speakers, frame);
      if (tick.activeChanged) report.activeSpeakerChanges++;
      if (tick.dominantChanged !== undefined) report.dominantHistory.push({ atMs: ts, sourceId: tick.dominantChanged });
      for (const msi of tick.unmixed) {
        report.framesSent.unmixed++;
        report.perSource[String(msi)] = (report.perSource[String(msi)] ?? 0) + 1;
      }
      if (tick.mixedSent) report.framesSent.mixed++;
      report.durationMs = ts + 20;
    }
  }

  return {
    report,
    done,
    async stop() {
      stopped = true;
      return done;
    },
  };
}
