/**
 * `mediabot demo`: the whole job end to end against the embedded Graph emulator.
 * Starts the emulator and the worker, creates an online meeting through Graph, joins it by its
 * joinWebUrl exactly as against Microsoft, lets simulated people talk (overlapping turns), plays a
 * prompt, hangs up, and prints what happened and what was written.
 */
import { dirname, join } from 'node:path';
import { pino } from 'pino';
import { loadConfig, type MediabotConfig } from '../config/config.js';
import { MediabotError, isMediabotError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { CallArtifacts } from '../calls/service.js';
import type { LiveEvent } from '../events/live.js';
import { startMediabot, type ComposedMediabot } from '../app/mediabot.js';
import { werBefore, type ScriptedUtterance } from '../util/wer.js';
import { DATABASE_FILE } from '../store/db.js';
import { pocketsphinxAvailable } from '../media/hooks/transcribe/pocketsphinx.js';

/** The organizer of the demo's meeting (app-only tokens create meetings for a named user, never /me). */
const DEMO_ORGANIZER_ID = '5f0c2a1e-6d3b-4c8a-9e7f-1a2b3c4d5e6f';
/** How long the demo waits for its webhook deliveries before it exits. */
const DEMO_WEBHOOK_WAIT_MS = 15_000;

export type DemoMedia = 'rtp' | 'bridge';

export interface DemoOptions {
  participants: number;
  seconds: number;
  /** Keep the worker running after the demo (what `mediabot start` does without credentials). */
  keepServing: boolean;
  /**
   * How the meeting's audio reaches mediabot: 'bridge' (default, Teams' real topology) the emulator
   * also plays the media sidecar, connected to /media/bridge, which creates the blob and streams the
   * people as unmixed speakers; 'rtp' the emulator's people send Opus RTP to the endpoint in
   * mediabot's own blob.
   */
  media?: DemoMedia;
  /**
   * The people leave at the end of their script and mediabot leaves by its own rule (alone for
   * DEMO_WHEN_ALONE_S), printing the reason, instead of playing a prompt and hanging up.
   */
  leaveWhenAlone?: boolean;
  out: (line: string) => void;
}

/** How long the demo's bot stays once everyone else left, with --leave-when-alone. */
export const DEMO_WHEN_ALONE_S = 3;

/** What the demo says into the call before hanging up (shipped pre-rendered in assets/speech). */
export const DEMO_PROMPT = { voice: 'en-us', text: 'This meeting was recorded by mediabot. Goodbye.' } as const;
const DEMO_PROMPT_TEXT = DEMO_PROMPT.text;

const USAGE = `usage: mediabot demo [--participants N] [--seconds S] [--media rtp|bridge] [--leave-when-alone]

  --participants N   simulated people in the meeting, 1-4 (default 3)
  --seconds S        how long they talk before mediabot plays a prompt and hangs up, 3-600 (default 30)
  --media M          bridge: through a simulated media sidecar on /media/bridge, Teams' real
                     media path (default); rtp: the people send Opus RTP to mediabot
  --leave-when-alone the people leave at the end of their script and mediabot leaves by its
                     own rule (${DEMO_WHEN_ALONE_S} s alone), printing the reason, instead of hanging up
`;

export function parseDemoArgs(argv: string[]): { participants: number; seconds: number; media: DemoMedia; leaveWhenAlone: boolean } {
  let participants = 3;
  let seconds = 30;
  let media: DemoMedia = 'bridge';
  let leaveWhenAlone = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new MediabotError('MEDIABOT_CONFIG_INVALID', `${flag} needs a value\n${USAGE}`);
      return v;
    };
    if (flag === '--leave-when-alone' && inline === undefined) leaveWhenAlone = true;
    else if (flag === '--participants') participants = intArg(flag, value(), 1, 4);
    else if (flag === '--seconds') seconds = intArg(flag, value(), 3, 600);
    else if (flag === '--media') {
      const v = value();
      if (v !== 'rtp' && v !== 'bridge') throw new MediabotError('MEDIABOT_CONFIG_INVALID', `--media must be rtp or bridge (got ${JSON.stringify(v)})`);
      media = v;
    } else throw new MediabotError('MEDIABOT_CONFIG_INVALID', `unknown option ${a}\n${USAGE}`);
  }
  return { participants, seconds, media, leaveWhenAlone };
}

function intArg(flag: string, v: string, min: number, max: number): number {
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new MediabotError('MEDIABOT_CONFIG_INVALID', `${flag} must be an integer ${min}-${max} (got ${JSON.stringify(v)})`);
  return Number(v);
}

/**
 * The demo's config (from `env`, else the environment loadConfig reads): always the embedded emulator;
 * unless MEDIABOT_TRANSCRIBER says otherwise the transcriber is pocketsphinx when installed, and
 * the log level defaults to warn (the demo prints its own story on stdout).
 */
export function demoConfig(env?: NodeJS.ProcessEnv): { config: MediabotConfig; transcriberNote: string } {
  const ok = pocketsphinxAvailable();
  const config = loadConfig(env, { transcriber: ok ? 'pocketsphinx' : 'none', logLevel: 'warn' });
  const note =
    config.transcriber === 'pocketsphinx' && ok
      ? 'transcriber: pocketsphinx (found pocketsphinx_continuous)'
      : config.transcriber === 'none' && !ok
        ? 'transcriber: none (pocketsphinx_continuous is not installed; apt install pocketsphinx pocketsphinx-en-us for captions)'
        : `transcriber: ${config.transcriber} (MEDIABOT_TRANSCRIBER)`;
  return { config: { ...config, useEmulator: true }, transcriberNote: note };
}

class Stage {
  current = 'start-up';
  set(name: string, out: (l: string) => void): void {
    this.current = name;
    out(`» ${name}`);
  }
}

function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

function demoLogger(level: string): Logger {
  return pino({ name: 'mediabot', level }, pino.destination(2));
}

function waitFor<T>(subscribe: (l: (e: LiveEvent) => void) => () => void, match: (e: LiveEvent) => T | undefined, timeoutMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new MediabotError('MEDIABOT_OPERATION_TIMEOUT', `${what} did not happen within ${timeoutMs} ms`));
    }, timeoutMs);
    // A wait nobody needs any more must not keep the process alive.
    timer.unref();
    const off = subscribe((e) => {
      const v = match(e);
      if (v !== undefined) {
        clearTimeout(timer);
        off();
        resolve(v);
      }
    });
  });
}

/** Runs the demo. Returns the worker when keepServing (the caller closes it), else null. */
export async function runDemo(o: DemoOptions, env?: NodeJS.ProcessEnv): Promise<ComposedMediabot | null> {
  const out = o.out;
  const stage = new Stage();
  let worker: ComposedMediabot | null = null;
  try {
    const { config, transcriberNote } = demoConfig(env);
    const alone = o.leaveWhenAlone === true;
    out(`mediabot demo: ${o.participants} simulated participants, ${alone ? `until they leave (mediabot leaves ${DEMO_WHEN_ALONE_S}s after)` : `${o.seconds}s of talk`}; ${transcriberNote}`);
    stage.set('starting the embedded Graph emulator and the worker', out);
    worker = await startMediabot(config, { logger: demoLogger(config.logLevel) });
    const w = worker;
    out(`  worker     ${w.url}   (dashboard ${w.url}/ · API docs ${w.url}/docs)`);
    out(`  graph      ${w.config.graphUrl} (embedded emulator, own CA)`);
    out(`  data dir   ${w.config.dataDir}`);
    if ((o.media ?? 'bridge') === 'bridge') {
      stage.set("connecting the emulator's media sidecar to /media/bridge", out);
      const bridgeUrl = `${w.url.replace(/^http/, 'ws')}/media/bridge`;
      const sidecar = await w.emulator!.attachBridgeSidecar({ url: bridgeUrl, token: w.ingress.bridgeToken });
      out(`  media      bridge: sidecar ${sidecar.sidecarId} on ${bridgeUrl} creates the media session and streams unmixed speakers`);
    } else {
      out('  media      RTP/Opus: the simulated people send to the endpoint in mediabot\'s blob');
    }

    stage.set('creating an online meeting (POST /users/{organizer}/onlineMeetings)', out);
    const now = new Date();
    let joinWebUrl: string;
    if (alone) {
      // As in Teams, the meeting goes on while the bot is in it: only the bot's own rule ends its call.
      joinWebUrl = w.emulator!.createMeeting({ subject: 'mediabot demo: weekly planning', people: o.participants, endWhenEmpty: false }).joinWebUrl;
    } else if (o.participants === 3) {
      const meeting = await w.graph.graph.meetings.create({ subject: 'mediabot demo: weekly planning', startDateTime: now.toISOString(), endDateTime: new Date(now.getTime() + 3600_000).toISOString() }, { userId: DEMO_ORGANIZER_ID });
      if (typeof meeting.joinWebUrl !== 'string') throw new MediabotError('MEDIABOT_GRAPH_BAD_RESPONSE', 'the created meeting has no joinWebUrl');
      joinWebUrl = meeting.joinWebUrl;
    } else {
      // Graph's onlineMeeting has no "how many people will talk"; the emulator's control API sets it.
      joinWebUrl = w.emulator!.createMeeting({ subject: 'mediabot demo: weekly planning', people: o.participants }).joinWebUrl;
    }
    out(`  joinWebUrl ${joinWebUrl.slice(0, 96)}…`);

    const t0 = Date.now();
    let established = 0;
    const names = new Map<string, string>();
    const nameOf = (sourceId: string): string => names.get(sourceId) ?? sourceId;
    const roster = new Map<string, string>();
    // mediabot's own prompt is recorded and transcribed too, but it is not a participant's speech.
    const prompts = new Set<string>();
    const stamp = (): string => `[${secs(established ? Date.now() - established : 0).padStart(6)}]`;
    let callId = '';
    // How far the call's media clock is behind the time since established (for scoring the transcript).
    const clockOffsets: number[] = [];
    const subscribe = (l: (e: LiveEvent) => void): (() => void) => w.events.on(l);
    const off = subscribe((e) => {
      if (!('callId' in e) || (callId !== '' && e.callId.toLowerCase() !== callId.toLowerCase())) return;
      if (established > 0 && 'mediaTimeMs' in e && typeof e.mediaTimeMs === 'number' && clockOffsets.length < 50) clockOffsets.push(Date.now() - established - e.mediaTimeMs);
      switch (e.type) {
        case 'call.state':
          out(`${stamp()} call ${e.state}${e.reason ? `: ${e.reason.reasonCode ? `${e.reason.reasonCode}: ` : ''}${e.reason.explanation}` : ''}`);
          break;
        case 'call.roster':
          for (const id of e.added ?? []) {
            const p = e.participants.find((x) => x.id === id);
            if (p?.displayName && p.displayName !== 'mediabot') out(`${stamp()} + ${p.displayName} joined`);
            if (p?.displayName) roster.set(id, p.displayName);
          }
          for (const id of e.removed ?? []) out(`${stamp()} - ${roster.get(id) ?? id} left`);
          break;
        case 'call.speakers':
          for (const s of e.speakers) {
            if (s.displayName) names.set(s.sourceId, s.displayName);
            if (s.prompt) prompts.add(s.sourceId);
          }
          break;
        case 'talk.start':
          out(`${stamp()}   ${nameOf(e.sourceId)} is talking`);
          break;
        case 'speaker.dominant':
          if (e.sourceId) out(`${stamp()}   dominant speaker: ${nameOf(e.sourceId)}`);
          break;
        case 'transcript.final':
          if (!prompts.has(e.sourceId)) out(`${stamp()}   ${nameOf(e.sourceId)}: “${e.text}”`);
          break;
        case 'hook.error':
          out(`${stamp()}   (hook ${e.hook}: ${e.message})`);
          break;
        default:
          break;
      }
    });

    // Subscribed before anything can end: the record may be stored before the summary is printed.
    const recordStored = waitFor(subscribe, (e) => (e.type === 'callRecord.stored' ? e.callRecordId : undefined), o.seconds * 1000 + 180_000, 'the callRecord notification');
    recordStored.catch(() => undefined);

    stage.set('joining the meeting by its joinWebUrl (POST /communications/calls, app-hosted media)', out);
    const view = await w.calls.join({ joinWebUrl, ...(alone ? { leave: { whenAloneS: DEMO_WHEN_ALONE_S } } : {}) });
    callId = view.id;
    out(`  call id    ${callId}`);
    const estState = w.signaling.registry.get(callId)?.state;
    if (estState !== 'established') {
      await waitFor(subscribe, (e) => (e.type === 'call.state' && e.callId.toLowerCase() === callId.toLowerCase() && (e.state === 'established' || e.state === 'terminated') ? e.state : undefined), 20_000, 'the call becoming established');
    }
    if (w.signaling.registry.get(callId)?.state !== 'established') throw new MediabotError('MEDIABOT_CALL_TERMINATED', 'the call ended before it was established');
    established = Date.now();
    out(`  established after ${secs(established - t0)}`);

    stage.set(alone ? `listening until everyone left; mediabot leaves ${DEMO_WHEN_ALONE_S}s after the last person` : `listening for ${o.seconds}s`, out);
    const ended = waitFor(subscribe, (e) => (e.type === 'call.state' && e.callId.toLowerCase() === callId.toLowerCase() && e.state === 'terminated' ? true : undefined), o.seconds * 1000 + 600_000, 'the call ending');
    ended.catch(() => undefined);
    let listenTimer: NodeJS.Timeout | undefined;
    const endedEarly = alone ? await ended : await Promise.race([ended.then(() => true), new Promise<false>((r) => (listenTimer = setTimeout(() => r(false), o.seconds * 1000)))]);
    clearTimeout(listenTimer);
    let hangupAt = Date.now();
    const isOver = (): boolean => {
      const state = w.signaling.registry.get(callId)?.state;
      return state === 'terminated' || state === 'terminating';
    };
    if (!endedEarly) {
      stage.set('playing a prompt into the call', out);
      try {
        const played = await w.calls.play(callId, { text: DEMO_PROMPT_TEXT });
        out(`  played ${secs(played.durationMs)} of speech (${played.via === 'media' ? 'into the app-hosted media' : 'through Graph playPrompt'}; ${played.promptUrl})`);
      } catch (err) {
        // The last people may leave (and the meeting end) just as the prompt starts.
        if (!isOver()) throw err;
        out('  the meeting ended while the prompt was starting');
      }
      hangupAt = Date.now();
      if (!isOver()) {
        stage.set('hanging up (DELETE /communications/calls/{id})', out);
        try {
          await w.calls.hangUp(callId);
        } catch (err) {
          if (!isOver()) throw err;
        }
      } else {
        out('  everyone had left: the meeting ended by itself');
      }
      await ended;
    } else if (alone) {
      hangupAt = Date.now();
      const t = w.signaling.registry.get(callId)?.termination;
      out(t?.reasonCode ? `  mediabot left by its own rule: ${t.reasonCode} (${t.explanation})` : `  the call ended without a leave rule: ${t?.explanation ?? 'unknown'}`);
    } else {
      out('  everyone left before the time was up: the meeting ended by itself (no prompt played)');
    }

    stage.set('writing recordings, transcript, timeline and analytics', out);
    const artifacts: CallArtifacts = await w.calls.whenFinalized(callId, 60_000);

    stage.set('waiting for the call record (callRecords change notification → GET → SQLite)', out);
    const recordId = await Promise.race([
      recordStored,
      new Promise<never>((_, reject) => setTimeout(() => reject(new MediabotError('MEDIABOT_OPERATION_TIMEOUT', 'no callRecord notification within 20 s of the call ending')), 20_000).unref()),
    ]);
    off();

    // ----- summary
    out('');
    out('── summary ─────────────────────────────────────────────');
    const termination = w.signaling.registry.get(callId)?.termination;
    out(`call ${callId}: ${secs(hangupAt - established)} established, ended: ${termination?.reasonCode ? `${termination.reasonCode}: ` : ''}${termination?.explanation ?? 'unknown'}`);
    out('talk time per speaker:');
    const analytics = artifacts.analytics as { participants?: Array<{ sourceId: string; speaker?: string | null; talkMs: number; overlapMs: number; interruptionsMade: number }>; overlapMs?: number; interruptions?: number } | null;
    for (const p of analytics?.participants ?? []) {
      out(`  ${(p.speaker ?? p.sourceId).padEnd(22)} ${secs(p.talkMs).padStart(7)}  (overlap ${secs(p.overlapMs)}, interruptions ${p.interruptionsMade})`);
    }
    if (analytics) out(`  overlap in total ${secs(analytics.overlapMs ?? 0)}, interruptions ${analytics.interruptions ?? 0}`);
    const lines = artifacts.transcript.filter((l) => !prompts.has(l.sourceId));
    if (config.transcriber === 'none') {
      out('transcript: none (no transcriber; set MEDIABOT_TRANSCRIBER=pocketsphinx with pocketsphinx installed)');
    } else {
      out(`transcript (${lines.length} lines), first lines:`);
      for (const l of [...lines].sort((a, b) => a.startMs - b.startMs).slice(0, 6)) out(`  ${secs(l.startMs).padStart(6)} ${nameOf(l.sourceId)}: ${l.text}`);
      const details = w.emulator?.callDetails(callId) as { script?: Array<{ name: string; utterances: ScriptedUtterance[] }> } | undefined;
      // Only what was said before the hang-up, in the script and in the transcript alike, with the
      // lines moved from the media clock to the time since established (the script's clock).
      const shift = median(clockOffsets);
      const score = werBefore(
        (details?.script ?? []).map((s) => ({
          utterances: s.utterances,
          lines: lines.filter((l) => nameOf(l.sourceId) === s.name).map((l) => ({ text: l.text, startMs: l.startMs + shift, endMs: l.endMs + shift })),
        })),
        hangupAt - established,
      );
      out(`WER against the emulator's script: ${(score.wer * 100).toFixed(1)}% (${score.edits} edits / ${score.referenceWords} words in the sentences finished before hang-up; pocketsphinx on synthetic speech)`);
    }
    out('files written:');
    // With object storage the local copies may already be gone (uploaded and verified).
    const recDir = artifacts.recordings.length > 0 ? await w.calls.recordingPath(callId, artifacts.recordings[0]!.file).then((p) => dirname(p), () => null) : null;
    if (recDir !== null) out(`  recordings in ${recDir}/:`);
    for (const r of artifacts.recordings) out(`    ${r.file.padEnd(24)} ${(r.speaker ?? r.sourceId).padEnd(20)} ${String(r.bytes).padStart(8)} bytes`);
    for (const f of artifacts.files) out(`  ${f}`);
    out(`  call record ${recordId} in ${join(w.config.dataDir, DATABASE_FILE)} (table call_records)`);
    if (w.storage.kind !== 'local') {
      // Bounded like the webhooks: what is left is uploaded by the next start.
      const uploads = await w.storage.whenUploaded(callId, DEMO_WEBHOOK_WAIT_MS).catch(() => w.storage.uploads({ callId, limit: 1000 }));
      const done = uploads.filter((u) => u.status === 'done').length;
      out(`storage: ${done} of ${uploads.length} files uploaded to ${w.storage.location}${w.config.storage.keepLocal ? '' : ' (local copies removed)'}`);
    }
    if (w.webhooks.enabled && w.config.webhooks.url !== undefined) {
      // Bounded: what is still pending then is sent by the next start (it stays in the outbox).
      const left = await w.webhooks.whenIdle(DEMO_WEBHOOK_WAIT_MS, callId);
      const rows = w.webhooks.deliveries({ callId, limit: 1000 });
      const delivered = rows.filter((r) => r.status === 'delivered').length;
      out(`webhooks: ${delivered} of ${rows.length} delivered to ${w.config.webhooks.url}${left > 0 ? `; ${left} still pending after ${DEMO_WEBHOOK_WAIT_MS / 1000} s (kept in the outbox for the next start)` : ''}`);
    }
    out('demo finished.');
    if (o.keepServing) return w;
    await w.close();
    return null;
  } catch (err) {
    await worker?.close().catch(() => undefined);
    // A bad setting is a configuration error (exit 2), whatever stage found it.
    if (isMediabotError(err) && err.code === 'MEDIABOT_CONFIG_INVALID') throw err;
    const message = isMediabotError(err) ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
    throw new MediabotError('MEDIABOT_DEMO_FAILED', `the demo failed while ${stage.current}: ${message}`, { stage: stage.current });
  }
}

export async function runDemoCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const args = parseDemoArgs(argv);
  await runDemo({ ...args, keepServing: false, out: (l) => process.stdout.write(`${l}\n`) });
  return 0;
}
