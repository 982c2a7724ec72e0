/**
 * A call's artifacts: when it ends, its media is ended and `<dataDir>/calls/<callId>/` gets
 * call.json, the transcript (JSON and WebVTT), analytics and the speaker timeline; recordings are
 * listed from the recorder's folder. Also the queries over them (recordings, final artifacts).
 */
import { existsSync } from 'node:fs';
import { lstat, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { WorkerEvent, SpeakerRef } from '../events/live.js';
import { MediabotError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { CallMediaStats } from '../media/threads/pool.js';
import { transcriptToJson, transcriptToWebVtt } from '../media/hooks/export.js';
import { Emitter } from '../util/emitter.js';
import type { CallTable } from './call-table.js';
import { folderForId, isInside, isServableFile, resolveUnder } from '../util/safe-path.js';
import type { MediaLinks } from './media-links.js';
import { ANALYTICS_FILE, TIMELINE_FILE } from './media-hooks.js';
import { callMediaEnd } from './media-sessions.js';
import type { Speakers } from './speakers.js';
import type { CallArtifacts, CallMedia, CallServiceOptions, RecordingEntry } from './types.js';

const key = (id: string): string => id.toLowerCase();

export class CallArtifactsWriter {
  private readonly log: Logger;
  /** Every call's artifacts, once written. */
  private readonly finished: Emitter<CallArtifacts>;
  /** Calls whose finalize failed (they have no artifacts, and nothing is being written). */
  private readonly failed = new WeakSet<CallMedia>();

  constructor(
    private readonly o: CallServiceOptions,
    private readonly table: CallTable,
    private readonly links: MediaLinks,
    private readonly speakers: Speakers,
    private readonly emitWorker: (e: WorkerEvent) => void,
  ) {
    this.log = o.logger;
    this.finished = new Emitter((err) => this.log.warn({ err }, 'artifacts listener failed'));
  }

  private label(m: CallMedia | undefined, sourceId: string): string | null {
    return this.speakers.label(m, sourceId);
  }

  private speakerList(m: CallMedia): SpeakerRef[] {
    return this.speakers.list(m);
  }

  /** Ends the call's media and writes its artifacts, once. */
  finalize(callId: string): Promise<CallArtifacts> {
    const m = this.table.state(callId);
    if (!m.finalizing) {
      m.finalizing = this.doFinalize(m);
      m.finalizing.catch(() => this.failed.add(m));
    }
    return m.finalizing;
  }

  /** True while the call's artifacts are being written (its finalize started and has not settled). */
  writing(callId: string): boolean {
    const m = this.table.find(callId);
    return m !== undefined && m.finalizing !== null && m.artifacts === null && !this.failed.has(m);
  }

  private async doFinalize(m: CallMedia): Promise<CallArtifacts> {
    const dir = folderForId(join(this.o.dataDir, 'calls'), m.callId);
    await mkdir(dir, { recursive: true });
    let mediaStats: CallMediaStats | null = null;
    let analytics: unknown = null;
    let timeline: unknown = null;
    const media = m.mediaId !== null ? callMediaEnd(m.mediaId, this.o.media, this.o.ingress) : undefined;
    if (media) {
      try {
        mediaStats = await media.end();
      } catch (err) {
        this.log.warn({ err, callId: m.callId }, 'ending the call media failed');
      }
      analytics = await readJson(join(media.scratchDir, ANALYTICS_FILE));
      timeline = await readJson(join(media.scratchDir, TIMELINE_FILE));
      if (removableScratch(this.o.dataDir, media.scratchDir)) await rm(media.scratchDir, { recursive: true, force: true });
      else this.log.warn({ callId: m.callId }, 'a call scratch folder outside its root was not removed');
      media.forget();
    }
    const label = (id: string): string | null => this.label(m, id);
    const files: string[] = [];
    const write = async (name: string, body: string): Promise<void> => {
      await writeFile(join(dir, name), body);
      files.push(join(dir, name));
    };
    const talkMsBySpeaker: Record<string, number> = {};
    if (analytics !== null) {
      const a = analytics as { participants?: Array<{ sourceId: string; talkMs: number }> };
      for (const p of a.participants ?? []) {
        (p as Record<string, unknown>)['speaker'] = label(p.sourceId);
        talkMsBySpeaker[label(p.sourceId) ?? p.sourceId] = (talkMsBySpeaker[label(p.sourceId) ?? p.sourceId] ?? 0) + p.talkMs;
      }
      await write('analytics.json', JSON.stringify(analytics, null, 2));
      try {
        this.o.speech?.saveAnalytics(m.callId, analytics as object);
      } catch (err) {
        this.log.warn({ err, callId: m.callId }, 'storing analytics failed');
      }
    }
    if (timeline !== null) {
      const t = timeline as { segments?: Array<{ sourceId: string }> };
      for (const s of t.segments ?? []) (s as Record<string, unknown>)['speaker'] = label(s.sourceId);
      await write('timeline.json', JSON.stringify(timeline, null, 2));
    }
    if (m.mode === 'app') {
      const doc = transcriptToJson(m.callId, m.transcript);
      await write('transcript.json', JSON.stringify({ ...doc, lines: doc.lines.map((l) => ({ ...l, speaker: label(l.sourceId) })) }, null, 2));
      await write('transcript.vtt', transcriptToWebVtt(m.transcript, { speakerLabel: (id) => label(id) ?? id }));
    }
    const view = this.o.signaling.registry.get(m.callId);
    const recordings = await this.recordings(m.callId).catch(() => []);
    await write(
      'call.json',
      JSON.stringify(
        {
          callId: m.callId,
          mediaMode: m.mode,
          state: view?.state ?? null,
          createdAt: view?.createdAt ?? null,
          endedAt: view?.updatedAt ?? null,
          termination: view?.termination ?? null,
          speakers: this.speakerList(m),
          recordings: recordings.map((r) => ({ ...r, path: this.o.recordDir !== undefined && m.mediaId !== null ? join(folderForId(this.o.recordDir, m.mediaId), r.file) : null })),
          media: mediaStats ? { ticks: mediaStats.ticks, mediaTimeMs: mediaStats.mediaTimeMs, encodes: mediaStats.encodes, clock: mediaStats.clock, stages: { tick: { p50Us: mediaStats.stages.tick.p50Us, p99Us: mediaStats.stages.tick.p99Us, maxUs: mediaStats.stages.tick.maxUs } } } : null,
        },
        null,
        2,
      ),
    );
    const artifacts: CallArtifacts = { callId: m.callId, dir, files, recordings, analytics, talkMsBySpeaker, transcript: [...m.transcript], mediaStats };
    m.artifacts = artifacts;
    this.emitWorker({ type: 'call.artifacts', callId: m.callId, dir, files, at: new Date().toISOString() });
    this.finished.emit(artifacts);
    this.prune(m.callId);
    this.log.info({ callId: m.callId, dir, files: files.length }, 'call artifacts written');
    return artifacts;
  }

  /** Drops per-call state the registry no longer lists (it keeps a bounded number of ended calls). */
  private prune(endedCallId: string): void {
    this.speakers.forget(endedCallId);
    for (const m of this.table.pruneForgotten()) if (m.mediaId !== null) this.links.unlink(m.mediaId);
  }

  async recordings(callId: string): Promise<RecordingEntry[]> {
    const call = this.table.requireCall(callId);
    const m = this.table.find(call.id);
    if (!m?.mediaId || this.o.recordDir === undefined) return [];
    let dir: string;
    try {
      dir = folderForId(this.o.recordDir, m.mediaId);
    } catch {
      return [];
    }
    const names = await readdir(dir).catch(() => [] as string[]);
    const out: RecordingEntry[] = [];
    for (const name of names.sort()) {
      const match = /^(.*)\.(opus|ogg|wav)$/.exec(name);
      if (!match) continue;
      // Only regular files inside the folder, not through a symlink (as the route serves them).
      const st = await lstat(join(dir, name)).catch(() => null);
      if (!st?.isFile() || !(await isServableFile(dir, join(dir, name)))) continue;
      const sourceId = match[1]!;
      out.push({ file: name, sourceId, speaker: sourceId === 'mix' ? 'mix' : this.label(m, sourceId), format: match[2] === 'wav' ? 'wav' : 'ogg', bytes: st.size });
    }
    return out;
  }

  /** Absolute path of one listed recording; MEDIABOT_NOT_FOUND for anything not listed. */
  async recordingPath(callId: string, file: string): Promise<string> {
    const list = await this.recordings(callId);
    const hit = list.find((r) => r.file === file);
    const m = this.table.find(callId);
    if (!hit || !m?.mediaId || this.o.recordDir === undefined) throw new MediabotError('MEDIABOT_NOT_FOUND', `no recording ${file} for call ${callId}`);
    return resolveUnder(folderForId(this.o.recordDir, m.mediaId), basename(hit.file));
  }

  artifacts(callId: string): CallArtifacts | null {
    return this.table.find(callId)?.artifacts ?? null;
  }

  /** Resolves with the call's artifacts once its media ended and they were written. */
  whenFinalized(callId: string, timeoutMs = 60_000): Promise<CallArtifacts> {
    const done = this.table.find(callId)?.artifacts;
    if (done) return Promise.resolve(done);
    return new Promise((resolve, reject) => {
      const off = this.finished.on((a) => {
        if (key(a.callId) !== key(callId)) return;
        off();
        clearTimeout(t);
        resolve(a);
      });
      const t = setTimeout(() => {
        off();
        reject(new MediabotError('MEDIABOT_OPERATION_TIMEOUT', `call ${callId} was not finalized within ${timeoutMs} ms`));
      }, timeoutMs);
      t.unref();
    });
  }

  /** Ends every call's media (shutdown). */
  async closeAll(): Promise<void> {
    await Promise.all([...this.table.all()].filter((m) => !m.finalizing && m.mediaId !== null).map((m) => this.o.media.close(m.mediaId!).catch(() => undefined)));
  }
}

async function readJson(file: string): Promise<unknown> {
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Whether a call's scratch folder may be removed recursively: never the data folder, one of its
 * ancestors, or the scratch roots (`<dataDir>/tmp`, `<dataDir>/tmp/media`) that hold other calls' folders.
 */
export function removableScratch(dataDir: string, scratchDir: string): boolean {
  const d = resolve(dataDir);
  const s = resolve(scratchDir);
  if (isInside(s, d)) return false;
  return s !== join(d, 'tmp') && s !== join(d, 'tmp', 'media');
}
