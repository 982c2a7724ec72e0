import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MediabotError } from '../errors.js';
import { loadConfig } from '../config/config.js';
import { RTP_IO_MODES, type RtpIoMode } from '../media/session/rtp/rtp-io.js';
import type { HookSpec } from '../media/session/spec.js';
import { MediaThreadPool, type CallMediaStats } from '../media/threads/pool.js';
import type { MediaEvent } from '../media/hooks/api.js';
import { pocketsphinxAvailable } from '../media/hooks/transcribe/pocketsphinx.js';

const USAGE = `usage: mediabot rtp --port P [--host 127.0.0.1] [--seconds N] [--stats FILE]
                    [--out DIR [--transcribe pocketsphinx|none] [--record on|off]]

An RTP/Opus audio conference mixer. Every new SSRC arriving on the UDP port
becomes a participant; each is sent its mix-minus as Opus RTP back to the
address and port it sends from. RTCP is answered on the same port.

  --port P       UDP port to listen on (required; 0 picks a free one)
  --host H       address to bind (default 127.0.0.1)
  --seconds N    stop after N seconds (default: run until SIGINT/SIGTERM)
  --stats FILE   write JSON stats on exit
  --out DIR      write recordings (Ogg Opus per participant and mixed),
                 transcript.json, transcript.vtt, timeline.json and
                 analytics.json into DIR; live transcript lines and speaker
                 changes are printed as they happen
  --transcribe E transcription engine with --out: pocketsphinx (default when
                 pocketsphinx_continuous is installed) or none
  --record R     on (default) or off: the recorder, with --out
  --rtp-io M     socket I/O: batched (native recvmmsg/sendmmsg at the tick),
                 dgram, or auto (default: MEDIABOT_RTP_IO, else batched when
                 the native part is built)
`;

function intArg(name: string, raw: string | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new MediabotError('MEDIABOT_CONFIG_INVALID', `--${name} must be a number ${min}-${max} (got "${raw}")`);
  }
  return Number(raw);
}

/** The JSON stats `mediabot rtp --stats FILE` writes. */
export function summarizeStats(s: CallMediaStats): Record<string, unknown> {
  return {
    sources: s.sources.map((src) => ({
      sourceId: src.sourceId,
      ssrc: src.ssrc ?? null,
      received: src.jitter?.['received'] ?? 0,
      lost: src.jitter?.['lost'] ?? 0,
      late: src.jitter?.['late'] ?? 0,
      duplicate: src.jitter?.['duplicate'] ?? 0,
      concealed: src.jitter?.['concealed'] ?? 0,
      dropped: src.jitter?.['dropped'] ?? 0,
      fecRecovered: src.jitter?.['fecRecovered'] ?? 0,
      jitterMs: src.jitter?.['jitterMs'] ?? 0,
      depthMs: src.jitter?.['depthMs'] ?? 0,
      meanDepthMs: src.jitter?.['meanDepthMs'] ?? 0,
      targetMs: src.jitter?.['targetMs'] ?? 0,
      packetsSent: src.packetsSent ?? 0,
    })),
    ticks: s.ticks,
    lateTicks: s.clock.lateTicks,
    skippedTicks: s.clock.skippedTicks,
    encodes: s.encodes,
    mediaTimeMs: s.mediaTimeMs,
    transport: s.transport,
    stages: { tick: s.stages.tick, decode: s.stages.decode, mix: s.stages.mix, encode: s.stages.encode, hooks: s.stages.hooks },
  };
}

export async function runRtpCommand(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        host: { type: 'string', default: '127.0.0.1' },
        seconds: { type: 'string' },
        stats: { type: 'string' },
        out: { type: 'string' },
        transcribe: { type: 'string' },
        record: { type: 'string', default: 'on' },
        'rtp-io': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    throw new MediabotError('MEDIABOT_CONFIG_INVALID', `${(err as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const port = intArg('port', values.port, 0, 65535);
  if (port === undefined) throw new MediabotError('MEDIABOT_CONFIG_INVALID', `--port is required\n${USAGE}`);
  const seconds = intArg('seconds', values.seconds, 0.1, 31 * 24 * 3600);
  const hooks: HookSpec[] = [{ builtin: 'talk-events' }];
  if (values.out !== undefined) {
    const out = resolve(values.out);
    mkdirSync(out, { recursive: true });
    if (values.record !== 'on' && values.record !== 'off') throw new MediabotError('MEDIABOT_CONFIG_INVALID', `--record must be on or off (got "${values.record}")`);
    const engine = values.transcribe ?? (pocketsphinxAvailable() ? 'pocketsphinx' : 'none');
    if (engine !== 'pocketsphinx' && engine !== 'none') throw new MediabotError('MEDIABOT_CONFIG_INVALID', `--transcribe must be pocketsphinx or none (got "${engine}")`);
    hooks.push({ builtin: 'speaker-timeline', options: { dir: out } }, { builtin: 'analytics', options: { dir: out } }, { builtin: 'transcript', options: { dir: out } });
    if (values.record === 'on') hooks.push({ builtin: 'recorder', options: { dir: join(out, 'recordings') } });
    if (engine === 'pocketsphinx') hooks.push({ builtin: 'transcribe', options: { engine } });
  } else if (values.transcribe !== undefined) {
    throw new MediabotError('MEDIABOT_CONFIG_INVALID', '--transcribe needs --out DIR');
  }

  const config = loadConfig();
  const rtpIo = values['rtp-io'] ?? config.rtpIo;
  if (!(RTP_IO_MODES as readonly string[]).includes(rtpIo)) throw new MediabotError('MEDIABOT_CONFIG_INVALID', `--rtp-io must be auto, batched or dgram (got "${rtpIo}")`);
  const pool = new MediaThreadPool(1, { rtpIo: rtpIo as RtpIoMode, nice: config.mediaNice });
  const log = (line: string): void => {
    process.stdout.write(`${new Date().toISOString().slice(11, 23)} ${line}\n`);
  };
  pool.onEvent((e: MediaEvent) => {
    if (e.type === 'source.added') log(`participant joined: ${e.sourceId}`);
    else if (e.type === 'source.removed') log(`participant left: ${e.sourceId}`);
    else if (e.type === 'speaker.dominant') log(`dominant speaker: ${e.sourceId ?? '(none)'}`);
    else if (e.type === 'transcript.final') log(`[${e.sourceId}] ${e.text}`);
    else if (e.type === 'talk.start') log(`${e.sourceId} talking`);
    else if (e.type === 'recording.file') log(`recording ${e.path}`);
    else if (e.type === 'hook.error') log(`hook ${e.hook} error: ${e.message}`);
  });
  const callId = 'rtp';
  let created;
  try {
    // The mixed recording uses the shared full-mix encode, so make it every tick when recording.
    created = await pool.createCall({ callId, rtp: { host: values.host, port }, hooks, alwaysEncodeMix: values.out !== undefined && values.record === 'on' });
  } catch (err) {
    await pool.close();
    throw err;
  }
  log(`mediabot rtp: mixing on udp://${created.rtp!.address}:${created.rtp!.port}${seconds ? ` for ${seconds} s` : ' (Ctrl-C to stop)'}`);

  const status = setInterval(() => {
    pool.callStats(callId).then(
      (s) => log(`${s.sources.length} participant(s), ${s.ticks} ticks, ${s.clock.lateTicks} late, ${s.lastEncodes} encodes/tick, tick p99 ${(s.stages.tick.p99Us / 1000).toFixed(2)} ms`),
      () => undefined,
    );
  }, 5000);

  await new Promise<void>((resolve) => {
    // Whichever comes first ends the run; the others are taken down so nothing keeps the process up.
    const timer = seconds === undefined ? undefined : setTimeout(done, seconds * 1000);
    function done(): void {
      clearTimeout(timer);
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    }
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  clearInterval(status);
  const stats = await pool.endCall(callId);
  await pool.close();
  const summary = summarizeStats(stats);
  if (values.stats) writeFileSync(values.stats, `${JSON.stringify(summary, null, 2)}\n`);
  if (values.out !== undefined) log(`outputs in ${resolve(values.out)}: transcript.json, transcript.vtt, timeline.json, analytics.json${values.record === 'on' ? ', recordings/' : ''}`);
  log(`stopped: ${stats.ticks} ticks, ${stats.clock.lateTicks} late, ${stats.encodes} encodes${values.stats ? `; stats written to ${values.stats}` : ''}`);
  return 0;
}
