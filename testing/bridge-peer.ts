/**
 * A conformance peer for docs/bridge-protocol.md playing the media sidecar's part:
 * it connects to mediabot's /media/bridge, says hello, answers createMediaSession
 * with a blob, starts the call's media session, sends the source map, then streams
 * the speakers' audio at real time (or `speed` × real time) as unmixed frames for up
 * to 4 active speakers and a mixed stream, with activeSpeakers / dominantSpeaker
 * changes, DTMF and mediaHealth. It receives the outbound audio and reports it.
 * Every message mediabot sends is validated against the protocol's schemas.
 * Used by `mediabot bridge-sim`, the tests and the emulator.
 */
import { WebSocket, type RawData } from 'ws';
import { isMediabotError, MediabotError } from '../src/errors.js';
import { parseControlMessage } from '../src/ingress/bridge/schemas.js';
import { decodeFrameHeader, encodeFrame, FLAG_SILENCE, FrameCodec, FrameKind, HEADER_BYTES, MIXED_SOURCE_ID, pcmFromPayload, payloadFromPcm } from '../src/ingress/bridge/wire.js';

export interface BridgeSimSpeaker {
  /** Media source id (MSI). */
  sourceId: number;
  participantId: string;
  displayName: string;
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

const FRAME = 320;
const HANGOVER_FRAMES = 10;

function frameRms(pcm: Int16Array): number {
  let s = 0;
  for (let i = 0; i < pcm.length; i++) s += pcm[i]! * pcm[i]!;
  return Math.sqrt(s / pcm.length);
}

export async function startBridgeSimulator(opts: BridgeSimOptions): Promise<BridgeSimulator> {
  if (opts.speakers.length === 0) throw new MediabotError('MEDIABOT_BAD_REQUEST', 'the bridge simulator needs at least one speaker');
  const speed = opts.speed ?? 1;
  if (!(speed > 0 && speed <= 50)) throw new MediabotError('MEDIABOT_BAD_REQUEST', `speed must be in (0, 50] (got ${speed})`);
  const sidecarId = opts.sidecarId ?? `bridge-sim-${process.pid}`;
  const callIndex = opts.callIndex ?? 1;
  const maxUnmixed = opts.maxUnmixed ?? 4;
  const threshold = opts.activeThreshold ?? 300;
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
  let ws = null as WebSocket | null;
  let created: (() => void) | null = null;
  const createdPromise = new Promise<void>((r) => (created = r));
  let stopped = false;

  const send = (msg: Record<string, unknown>): void => {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  };

  const onMessage = (data: RawData, isBinary: boolean): void => {
    const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    try {
      if (isBinary) {
        const h = decodeFrameHeader(buf);
        if (h.kind !== FrameKind.Outbound) throw new MediabotError('MEDIABOT_INGRESS_BAD_FRAME', `mediabot sent a frame of kind ${h.kind}`);
        const pcm = pcmFromPayload(buf, HEADER_BYTES, h.payloadLength);
        report.outbound.frames++;
        report.outbound.firstTimestampMs ??= h.timestampMs;
        report.outbound.lastTimestampMs = h.timestampMs;
        let sq = 0;
        for (let i = 0; i < pcm.length; i++) sq += pcm[i]! * pcm[i]!;
        outboundSq += sq;
        if (sq > 0) report.outbound.nonSilentFrames++;
        const n = Math.min(pcm.length, keep - outboundKept);
        if (n > 0) {
          outboundStore.set(pcm.subarray(0, n), outboundKept);
          outboundKept += n;
        }
        return;
      }
      const msg = parseControlMessage(buf.toString('utf8'), 'fromBot');
      switch (msg.type) {
        case 'ping':
          report.pingsReceived++;
          send(msg.ts === undefined ? { type: 'pong' } : { type: 'pong', ts: msg.ts });
          break;
        case 'createMediaSession': {
          report.createRequests++;
          const id = msg.callId as string;
          const blob = opts.blob?.(id) ?? Buffer.from(JSON.stringify({ sim: sidecarId, callId: id, mpUri: 'net.tcp://127.0.0.1:8445/MediaProcessor' })).toString('base64');
          send({ type: 'mediaSessionCreated', requestId: msg.requestId, callId: id, blob });
          if (id === opts.callId) created?.();
          break;
        }
        case 'error':
          report.errors.push({ code: msg.code as string, message: msg.message as string });
          break;
        default:
          break;
      }
    } catch (err) {
      report.errors.push({ code: isMediabotError(err) ? err.code : 'SIM_ERROR', message: (err as Error).message });
    }
  };

  const connect = (resumeToken: string | null): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const sock = new WebSocket(opts.url);
      ws = sock;
      let welcomed = false;
      sock.on('open', () => {
        sock.send(JSON.stringify({ type: 'hello', protocol: 'mediabot-bridge', versions: [1], token: opts.token, sidecarId, capabilities: { opus: true, maxUnmixed }, ...(resumeToken ? { resume: { sessionToken: resumeToken } } : {}) }));
      });
      sock.on('message', (data: RawData, isBinary: boolean) => {
        if (welcomed) return onMessage(data, isBinary);
        try {
          const msg = parseControlMessage(toText(data), 'fromBot');
          if (msg.type === 'welcome') {
            welcomed = true;
            report.version = msg.version as number;
            report.resumed = msg.resumed as boolean;
            report.sessionToken = (msg.sessionResume as { sessionToken: string }).sessionToken;
            resolve();
          } else onMessage(data, isBinary);
        } catch (err) {
          report.errors.push({ code: isMediabotError(err) ? err.code : 'SIM_ERROR', message: (err as Error).message });
        }
      });
      sock.on('close', (code) => {
        report.closeCode = code;
        if (!welcomed) reject(new MediabotError('MEDIABOT_INGRESS_UNAUTHORIZED', `mediabot closed the bridge connection (${code}) before welcome`));
      });
      sock.on('error', (err) => {
        if (!welcomed) reject(err);
      });
    });

  await connect(null);
  const heartbeat = setInterval(() => send({ type: 'ping', ts: Date.now() }), opts.heartbeatMs ?? 5000);

  const done = (async (): Promise<BridgeSimReport> => {
    try {
      if (opts.waitForCreate) await createdPromise;
      send({ type: 'sessionStarted', callId: opts.callId, callIndex, audio: opts.unmixed === false ? 'mixed' : opts.mixed === false ? 'unmixed' : 'both' });
      send({ type: 'sourceMap', callId: opts.callId, replace: true, entries: opts.speakers.map((s) => ({ sourceId: s.sourceId, participantId: s.participantId, displayName: s.displayName })) });
      await stream();
      if (opts.endSession !== false && !stopped) {
        send({ type: 'sessionEnded', callId: opts.callId, reason: 'simulation finished' });
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      clearInterval(heartbeat);
      if (opts.endSession !== false || stopped) ws?.close(1000, 'done');
      report.outbound.samples = outboundStore.subarray(0, outboundKept);
      report.outbound.rms = report.outbound.frames > 0 ? Math.sqrt(outboundSq / (report.outbound.frames * FRAME)) : 0;
    }
    return report;
  })();

  async function stream(): Promise<void> {
    const longest = Math.max(...opts.speakers.map((s) => s.pcm16.length));
    const frames = Math.ceil(longest / FRAME) + Math.round((opts.trailMs ?? 400) / 20);
    const frame = opts.speakers.map(() => new Int16Array(FRAME));
    const mix = new Int16Array(FRAME);
    const seq = new Map<number, number>();
    const hangover = opts.speakers.map(() => 0);
    const ema = opts.speakers.map(() => 0);
    let active: number[] = [];
    let dominant: number | null = null;
    let candidate: number | null = null;
    let candidateFrames = 0;
    let connected = true;
    const dtmf = [...(opts.dtmf ?? [])].sort((a, b) => a.atMs - b.atMs);
    const t0 = performance.now();
    for (let n = 0; n < frames && !stopped; n++) {
      const wait = t0 + (n * 20) / speed - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const ts = n * 20;
      if (opts.dropAtMs !== undefined && connected && ts >= opts.dropAtMs && !report.resumed) {
        connected = false;
        const token = report.sessionToken;
        ws?.terminate();
        setTimeout(() => {
          connect(token).then(
            () => {
              connected = true;
              // Repeat the call state after a resume (idempotent on mediabot's side).
              send({ type: 'sessionStarted', callId: opts.callId, callIndex });
              send({ type: 'sourceMap', callId: opts.callId, replace: true, entries: opts.speakers.map((s) => ({ sourceId: s.sourceId, participantId: s.participantId, displayName: s.displayName })) });
            },
            (err: unknown) => report.errors.push({ code: 'SIM_RESUME_FAILED', message: (err as Error).message }),
          );
        }, opts.resumeAfterMs ?? 1000);
      }
      // This frame of every speaker, its level, and the mix.
      mix.fill(0);
      const levels: number[] = [];
      for (let i = 0; i < opts.speakers.length; i++) {
        const src = opts.speakers[i]!.pcm16;
        const f = frame[i]!;
        f.fill(0);
        const start = n * FRAME;
        if (start < src.length) f.set(src.subarray(start, Math.min(src.length, start + FRAME)));
        const level = frameRms(f);
        levels.push(level);
        ema[i] = 0.8 * ema[i]! + 0.2 * level;
        hangover[i] = level > threshold ? HANGOVER_FRAMES : Math.max(0, hangover[i]! - 1);
        for (let k = 0; k < FRAME; k++) {
          const v = mix[k]! + f[k]!;
          mix[k] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
        }
      }
      if (!connected || !ws || ws.readyState !== WebSocket.OPEN) {
        report.framesSkipped++;
        continue;
      }
      // Active speakers: those above the threshold (with hangover), loudest first, at most maxUnmixed.
      const nowActive = opts.speakers
        .map((_, i) => i)
        .filter((i) => hangover[i]! > 0)
        .sort((a, b) => ema[b]! - ema[a]!)
        .slice(0, maxUnmixed);
      const sameSet = nowActive.length === active.length && nowActive.every((i) => active.includes(i));
      if (!sameSet) {
        active = nowActive;
        report.activeSpeakerChanges++;
        send({ type: 'activeSpeakers', callId: opts.callId, sourceIds: active.map((i) => opts.speakers[i]!.sourceId) });
      }
      const loudest = active.length > 0 ? active[0]! : null;
      const loudestId = loudest === null ? null : opts.speakers[loudest]!.sourceId;
      if (loudestId !== dominant) {
        candidateFrames = candidate === loudestId ? candidateFrames + 1 : 1;
        candidate = loudestId;
        if (candidateFrames >= 10 && loudestId !== null) {
          dominant = loudestId;
          report.dominantHistory.push({ atMs: ts, sourceId: dominant });
          send({ type: 'dominantSpeaker', callId: opts.callId, sourceId: dominant });
        }
      } else candidateFrames = 0;
      while (dtmf.length > 0 && dtmf[0]!.atMs <= ts) send({ type: 'dtmf', callId: opts.callId, tone: dtmf.shift()!.tone, direction: 'received' });
      if (n > 0 && n % 250 === 0) send({ type: 'mediaHealth', callId: opts.callId, packetLossPct: 0, jitterMs: 2, audioHealth: 'good' });
      if (opts.unmixed !== false) {
        for (const i of active) {
          const s = opts.speakers[i]!;
          const q = seq.get(s.sourceId) ?? 0;
          seq.set(s.sourceId, q + 1);
          ws.send(encodeFrame({ kind: FrameKind.Unmixed, codec: FrameCodec.Pcm16k, flags: 0, callIndex, sourceId: s.sourceId, sequence: q, timestampMs: ts }, payloadFromPcm(frame[i]!)));
          report.framesSent.unmixed++;
          report.perSource[String(s.sourceId)] = (report.perSource[String(s.sourceId)] ?? 0) + 1;
        }
      }
      if (opts.mixed !== false) {
        const q = seq.get(MIXED_SOURCE_ID) ?? 0;
        seq.set(MIXED_SOURCE_ID, q + 1);
        const silent = levels.every((l) => l === 0);
        ws.send(encodeFrame({ kind: FrameKind.Mixed, codec: FrameCodec.Pcm16k, flags: silent ? FLAG_SILENCE : 0, callIndex, sourceId: MIXED_SOURCE_ID, sequence: q, timestampMs: ts }, payloadFromPcm(mix)));
        report.framesSent.mixed++;
      }
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

function toText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
