/**
 * The recorder: an inline hook that writes, per call, one file per source
 * (participant) and one of the full mix, as Ogg Opus and/or WAV.
 *
 * - Ogg Opus files hold the packets as received (no re-encoding); the mix file
 *   holds the pipeline's shared full-mix encode (`frame.mixOpus`).
 * - A tick without a packet (loss, DTX, concealment, or a source that was absent)
 *   gets a 20 ms silence packet, so every file keeps exactly one frame per tick:
 *   file time + startMediaTimeMs = call media time.
 * - Files open lazily at a source's first frame and are flushed with synchronous
 *   writes on a staggered schedule (one file per tick slot), every `flushEveryMs`.
 * - While the call's recording is paused (a `recording.state` event), no audio is written: open
 *   files get silence for every paused tick, so the pause is a silent gap in the file's own timeline
 *   and file time + startMediaTimeMs stays call media time; no new file opens until it resumes.
 * - Errors never escape onFrame: a failing file is closed, reported as a
 *   `hook.error` event and dropped; the call and the other files go on.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MediabotError, isMediabotError } from '../../../errors.js';
import { silentLogger, type Logger } from '../../../logger.js';
import type { HookContext, InlineHook, MediaEvent, TickFrame } from '../api.js';
import { defaultRecordingName, sanitizeRelativePath } from './file-names.js';
import { OggOpusWriter } from './ogg-opus-writer.js';
import { RecordingFile } from './recording-file.js';
import { silenceOpusPacket } from './silence.js';
import { WavWriter, type WavSampleRate } from './wav-writer.js';

export type RecordingFormat = 'ogg' | 'wav';

export interface RecordingInfo {
  callId: string;
  /** The participant, or null for the mix. */
  sourceId: string | null;
  /** Absolute path of the file. */
  path: string;
  format: RecordingFormat;
  /** Call media time of the file's first frame. */
  startMediaTimeMs: number;
  /** Playable duration so far (final once `closed`). */
  durationMs: number;
  /** Bytes on disk so far. */
  bytes: number;
  closed: boolean;
  /** Why the file stopped early, or null. */
  error: string | null;
}

export interface RecorderHookOptions {
  /** Base folder; files go to `<dir>/<callId>/<sourceId>.opus|.wav` and `<dir>/<callId>/mix.opus|.wav`. */
  dir: string;
  /** Default 'ogg'. */
  format?: 'ogg' | 'wav' | 'both';
  /** Record the full mix too. Default true. */
  mix?: boolean;
  /** Record each source. Default true. */
  perSource?: boolean;
  /** WAV sample rate: the 16 kHz speech tap (default) or the 48 kHz frame. */
  wavRate?: WavSampleRate;
  /** Relative path without extension for a file (`sourceId` is 'mix' for the mix). Sanitised; never leaves `dir`. */
  nameFor?: (callId: string, sourceId: string) => string;
  /** Called when a file is opened and again when it is closed. */
  onFile?: (info: RecordingInfo) => void;
  /** How often each file is written to disk, in media ms. Default 500 (at most that much is lost on kill -9). */
  flushEveryMs?: number;
  /** fdatasync each file this often (media ms) for power-loss safety. Default 0 = never. */
  syncEveryMs?: number;
  /** Ogg pre-skip in 48 kHz samples. Default 312. */
  preSkip?: number;
  logger?: Logger;
}

export interface RecorderHook extends InlineHook {
  /** Snapshots of the files of one call (or of all calls), open and closed. */
  recordings(callId?: string): RecordingInfo[];
}

const FRAME_48K = 960;

interface OggFile {
  writer: OggOpusWriter;
  file: RecordingFile;
  info: RecordingInfo;
}

interface WavFile {
  writer: WavWriter;
  info: RecordingInfo;
  frameSamples: number;
}

interface Track {
  sourceId: string | null;
  firstTick: number;
  lastTick: number;
  ogg: OggFile | null;
  wav: WavFile | null;
}

interface CallState {
  callId: string;
  tracks: Map<string, Track>;
  /** Tracks in opening order, for the staggered flush. */
  order: Track[];
  mix: Track | null;
  usedNames: Set<string>;
  closedInfos: RecordingInfo[];
  badPackets: number;
  lastMediaTimeMs: number;
  /** The call's recording is paused: ticks are written as silence, no file opens. */
  paused: boolean;
}

export function createRecorderHook(opts: RecorderHookOptions): RecorderHook {
  const format = opts.format ?? 'ogg';
  if (format !== 'ogg' && format !== 'wav' && format !== 'both') {
    throw new MediabotError('MEDIABOT_RECORDING_INVALID', `Unknown recording format ${String(format)}`);
  }
  if (typeof opts.dir !== 'string' || opts.dir === '') {
    throw new MediabotError('MEDIABOT_RECORDING_INVALID', 'The recorder needs a folder (dir)');
  }
  const wavRate = opts.wavRate ?? 16_000;
  if (wavRate !== 16_000 && wavRate !== 48_000) {
    throw new MediabotError('MEDIABOT_RECORDING_INVALID', `wavRate must be 16000 or 48000, got ${String(wavRate)}`);
  }
  const flushEveryMs = opts.flushEveryMs ?? 500;
  if (!Number.isFinite(flushEveryMs) || flushEveryMs < 20 || flushEveryMs > 5_000) {
    throw new MediabotError('MEDIABOT_RECORDING_INVALID', `flushEveryMs must be 20..5000, got ${flushEveryMs}`);
  }
  const syncEveryMs = opts.syncEveryMs ?? 0;
  const preSkip = opts.preSkip ?? 312;
  const flushTicks = Math.max(1, Math.round(flushEveryMs / 20));
  const wantOgg = format !== 'wav';
  const wantWav = format !== 'ogg';
  const recordMix = opts.mix ?? true;
  const recordSources = opts.perSource ?? true;
  const baseDir = resolve(opts.dir);
  const log = opts.logger ?? silentLogger;
  const silence = wantOgg ? silenceOpusPacket() : new Uint8Array(0);
  const calls = new Map<string, CallState>();
  // What a paused tick writes (never modified).
  const silent16 = new Int16Array(320);
  const silent48 = new Int16Array(FRAME_48K);

  const notify = (info: RecordingInfo): void => {
    if (!opts.onFile) return;
    try {
      opts.onFile({ ...info });
    } catch (err) {
      log.warn({ err, path: info.path }, 'recorder onFile callback threw');
    }
  };

  const stateFor = (callId: string): CallState => {
    let st = calls.get(callId);
    if (!st) {
      st = { callId, tracks: new Map(), order: [], mix: null, usedNames: new Set(), closedInfos: [], badPackets: 0, lastMediaTimeMs: 0, paused: false };
      calls.set(callId, st);
    }
    return st;
  };

  const reportError = (ctx: HookContext, st: CallState, mediaTimeMs: number, message: string): void => {
    log.error({ callId: st.callId, message }, 'recorder error');
    const event: MediaEvent = { type: 'hook.error', callId: st.callId, sourceId: null, hook: 'recorder', message, mediaTimeMs };
    try {
      ctx.emit(event);
    } catch {
      // the event sink failing must not take the tick down
    }
  };

  /** Picks a base name (no extension) that no other track of the call uses and no file on disk has. */
  const pickName = (st: CallState, sourceKey: string): string => {
    const wanted = opts.nameFor ? sanitizeRelativePath(opts.nameFor(st.callId, sourceKey)) : defaultRecordingName(st.callId, sourceKey);
    for (let n = 1; n < 1000; n++) {
      const name = n === 1 ? wanted : `${wanted}-${n}`;
      if (st.usedNames.has(name)) continue;
      const base = join(baseDir, name);
      if ((wantOgg && existsSync(`${base}.opus`)) || (wantWav && existsSync(`${base}.wav`))) continue;
      st.usedNames.add(name);
      return name;
    }
    throw new MediabotError('MEDIABOT_RECORDING_FAILED', `No free file name for ${wanted}`);
  };

  const openTrack = (st: CallState, sourceId: string | null, frame: TickFrame, ctx: HookContext): Track => {
    const track: Track = { sourceId, firstTick: frame.tick, lastTick: frame.tick - 1, ogg: null, wav: null };
    const sourceKey = sourceId ?? 'mix';
    let base: string;
    try {
      base = join(baseDir, pickName(st, sourceKey));
    } catch (err) {
      reportError(ctx, st, frame.mediaTimeMs, `cannot create a recording for ${sourceKey}: ${errMessage(err)}`);
      return track;
    }
    const infoFor = (path: string, fmt: RecordingFormat): RecordingInfo => ({
      callId: st.callId,
      sourceId,
      path,
      format: fmt,
      startMediaTimeMs: frame.mediaTimeMs,
      durationMs: 0,
      bytes: 0,
      closed: false,
      error: null,
    });
    const opened = (info: RecordingInfo): void => {
      notify(info);
      try {
        ctx.emit({ type: 'recording.file', callId: st.callId, sourceId, path: info.path, format: info.format, mediaTimeMs: frame.mediaTimeMs });
      } catch (err) {
        log.warn({ err }, 'recorder could not emit recording.file');
      }
    };
    if (wantOgg) {
      const path = `${base}.opus`;
      try {
        // Created off the tick (see RecordingFile); pages wait in memory until then.
        const file = new RecordingFile(path, { deferOpen: true, mkdirParent: true });
        const writer = new OggOpusWriter(file, {
          preSkip,
          // Above the hook's own staggered flush, so the writer's automatic flush is only a backstop.
          flushEveryPackets: flushTicks * 2,
          syncEveryMs,
          comments: {
            TITLE: `${st.callId} ${sourceKey}`,
            MEDIABOT_CALL_ID: st.callId,
            MEDIABOT_SOURCE_ID: sourceKey,
            MEDIABOT_START_MEDIA_TIME_MS: String(frame.mediaTimeMs),
          },
        });
        track.ogg = { writer, file, info: infoFor(path, 'ogg') };
        track.ogg.info.bytes = writer.bytes;
        opened(track.ogg.info);
      } catch (err) {
        reportError(ctx, st, frame.mediaTimeMs, `cannot open ${path}: ${errMessage(err)}`);
      }
    }
    if (wantWav) {
      const path = `${base}.wav`;
      try {
        const writer = new WavWriter(path, { sampleRate: wavRate, flushEveryMs: flushEveryMs * 2, syncEveryMs, deferOpen: true, mkdirParent: true });
        track.wav = { writer, info: infoFor(path, 'wav'), frameSamples: wavRate === 16_000 ? 320 : 960 };
        track.wav.info.bytes = writer.bytes;
        opened(track.wav.info);
      } catch (err) {
        reportError(ctx, st, frame.mediaTimeMs, `cannot open ${path}: ${errMessage(err)}`);
      }
    }
    st.order.push(track);
    return track;
  };

  const updateInfo = (track: Track): void => {
    if (track.ogg) {
      track.ogg.info.durationMs = track.ogg.writer.durationSamples / 48;
      track.ogg.info.bytes = track.ogg.writer.bytes;
    }
    if (track.wav) {
      track.wav.info.durationMs = (track.wav.writer.samples * 1000) / wavRate;
      track.wav.info.bytes = track.wav.writer.bytes;
    }
  };

  const failOgg = (st: CallState, track: Track, err: unknown, ctx: HookContext, mediaTimeMs: number): void => {
    const f = track.ogg;
    if (!f) return;
    track.ogg = null;
    f.info.closed = true;
    f.info.error = errMessage(err);
    f.info.durationMs = f.writer.durationSamples / 48;
    f.info.bytes = f.writer.bytes;
    try {
      f.writer.end();
    } catch {
      // already failing; the pages written so far stay valid
    }
    st.closedInfos.push(f.info);
    reportError(ctx, st, mediaTimeMs, `recording ${f.info.path} stopped: ${f.info.error}`);
    notify(f.info);
  };

  const failWav = (st: CallState, track: Track, err: unknown, ctx: HookContext, mediaTimeMs: number): void => {
    const f = track.wav;
    if (!f) return;
    track.wav = null;
    f.info.closed = true;
    f.info.error = errMessage(err);
    f.info.durationMs = (f.writer.samples * 1000) / wavRate;
    f.info.bytes = f.writer.bytes;
    try {
      f.writer.close();
    } catch {
      // already failing
    }
    st.closedInfos.push(f.info);
    reportError(ctx, st, mediaTimeMs, `recording ${f.info.path} stopped: ${f.info.error}`);
    notify(f.info);
  };

  /** Writes this tick's frame of one track: the packet (or silence) and/or the PCM, padding any gap first. */
  const writeTrack = (
    st: CallState,
    track: Track,
    tick: number,
    opus: Uint8Array | null,
    pcm16: Int16Array,
    pcm48: Int16Array,
    ctx: HookContext,
    mediaTimeMs: number,
  ): void => {
    const frames = tick - track.firstTick + 1;
    if (tick <= track.lastTick) return; // a repeated or stale tick
    track.lastTick = tick;
    const ogg = track.ogg;
    if (ogg) {
      try {
        const w = ogg.writer;
        const target = frames * FRAME_48K;
        // Pad a gap (the source was absent) so the packet lands at its own tick.
        while (w.samples + 2 * FRAME_48K <= target) w.writePacket(silence, FRAME_48K);
        if (opus !== null) {
          try {
            w.writePacket(opus);
          } catch (err) {
            if (!isMediabotError(err) || err.code !== 'MEDIABOT_RECORDING_INVALID') throw err;
            st.badPackets++;
          }
        }
        while (w.samples + FRAME_48K <= target) w.writePacket(silence, FRAME_48K);
      } catch (err) {
        failOgg(st, track, err, ctx, mediaTimeMs);
      }
    }
    const wav = track.wav;
    if (wav) {
      try {
        const w = wav.writer;
        const gap = (frames - 1) * wav.frameSamples - w.samples;
        if (gap > 0) w.writeSilence(gap);
        w.write(wavRate === 16_000 ? pcm16 : pcm48);
      } catch (err) {
        failWav(st, track, err, ctx, mediaTimeMs);
      }
    }
  };

  const flushTrack = (st: CallState, track: Track, ctx: HookContext, mediaTimeMs: number): void => {
    if (track.ogg) {
      try {
        track.ogg.writer.flush();
      } catch (err) {
        failOgg(st, track, err, ctx, mediaTimeMs);
      }
    }
    if (track.wav) {
      try {
        track.wav.writer.flush();
      } catch (err) {
        failWav(st, track, err, ctx, mediaTimeMs);
      }
    }
  };

  /** Ends every file of the call; resolves when all are on disk and closed. */
  const closeCall = async (st: CallState, ctx: HookContext): Promise<void> => {
    const done: Array<Promise<void>> = [];
    const finished: Array<{ info: RecordingInfo; file: { error: Error | null; whenClosed(): Promise<void> } }> = [];
    for (const track of st.order) {
      if (track.ogg) {
        const f = track.ogg;
        track.ogg = null;
        try {
          f.writer.end();
        } catch (err) {
          f.info.error = errMessage(err);
        }
        f.info.durationMs = f.writer.durationSamples / 48;
        f.info.bytes = f.writer.bytes;
        finished.push({ info: f.info, file: f.file });
      }
      if (track.wav) {
        const f = track.wav;
        track.wav = null;
        try {
          f.writer.close();
        } catch (err) {
          f.info.error = errMessage(err);
        }
        f.info.durationMs = (f.writer.samples * 1000) / wavRate;
        f.info.bytes = f.writer.bytes;
        finished.push({ info: f.info, file: f.writer });
      }
    }
    for (const { file } of finished) done.push(file.whenClosed());
    await Promise.all(done);
    const endMs = st.lastMediaTimeMs;
    for (const { info, file } of finished) {
      if (!info.error && file.error) info.error = file.error.message;
      info.closed = true;
      if (info.error) reportError(ctx, st, endMs, `recording ${info.path} failed: ${info.error}`);
      st.closedInfos.push(info);
      notify(info);
    }
    if (st.badPackets > 0) log.warn({ callId: st.callId, badPackets: st.badPackets }, 'recorder replaced malformed packets with silence');
  };

  const snapshot = (st: CallState): RecordingInfo[] => {
    const out: RecordingInfo[] = st.closedInfos.map((i) => ({ ...i }));
    for (const track of st.order) {
      updateInfo(track);
      if (track.ogg) out.push({ ...track.ogg.info });
      if (track.wav) out.push({ ...track.wav.info });
    }
    return out;
  };

  return {
    name: 'recorder',
    start(ctx: HookContext): void {
      stateFor(ctx.callId);
    },
    onFrame(frame: TickFrame, ctx: HookContext): void {
      const st = stateFor(frame.callId);
      st.lastMediaTimeMs = frame.mediaTimeMs;
      if (st.paused) {
        // Silence keeps every open file on the call's timeline without a catch-up burst at resume.
        for (let i = 0; i < st.order.length; i++) writeTrack(st, st.order[i]!, frame.tick, null, silent16, silent48, ctx, frame.mediaTimeMs);
      } else {
        writeFrame(st, frame, ctx);
      }
      // Staggered flush: track i is written out on ticks where tick % flushTicks == i % flushTicks.
      const order = st.order;
      for (let i = frame.tick % flushTicks; i < order.length; i += flushTicks) {
        flushTrack(st, order[i]!, ctx, frame.mediaTimeMs);
      }
    },
    onEvent(event: MediaEvent, ctx: HookContext): void {
      if (event.type === 'recording.state') stateFor(ctx.callId).paused = event.state === 'paused';
    },
    /** Ends the call's files (EOS pages, sizes, close); resolves once they are complete on disk. */
    async stop(ctx: HookContext): Promise<void> {
      const st = calls.get(ctx.callId);
      if (!st) return;
      calls.delete(ctx.callId);
      await closeCall(st, ctx);
    },
    recordings(callId?: string): RecordingInfo[] {
      if (callId !== undefined) {
        const st = calls.get(callId);
        return st ? snapshot(st) : [];
      }
      return [...calls.values()].flatMap(snapshot);
    },
  };

  /** One tick's audio: the mix and every present source, each into its own files. */
  function writeFrame(st: CallState, frame: TickFrame, ctx: HookContext): void {
    if (recordMix) {
      const mix = st.mix ?? (st.mix = openTrack(st, null, frame, ctx));
      writeTrack(st, mix, frame.tick, frame.mixOpus, frame.mix16, frame.mix48, ctx, frame.mediaTimeMs);
    }
    if (recordSources) {
      const sources = frame.sources;
      for (let i = 0; i < sources.length; i++) {
        const s = sources[i]!;
        let track = st.tracks.get(s.sourceId);
        if (!track) {
          track = openTrack(st, s.sourceId, frame, ctx);
          st.tracks.set(s.sourceId, track);
        }
        writeTrack(st, track, frame.tick, s.opus, s.pcm16, s.pcm48, ctx, frame.mediaTimeMs);
      }
    }
  }
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
