/**
 * App-hosted media over RTP: creates the media-thread call (with the worker's hooks) on a port from
 * MEDIABOT_RTP_PORTS and describes its endpoint in the appHostedMediaConfig blob, in the convention
 * the embedded emulator and RTP peers read (testing/emulator/media-session.ts). The bridge ingress
 * supplies real Teams blobs through the same MediaSessionProvider interface. Prompts reach any call's
 * media (RTP or ingress) through the pool's playPcm.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MediabotError, isMediabotError } from '../errors.js';
import { folderForId } from '../util/safe-path.js';
import type { MediaSessionProvider } from '../graph/media-config.js';
import type { CallMediaStats, CreatedCall, MediaThreadPool, PlaybackResult } from '../media/threads/pool.js';
import type { HookSpec } from '../media/session/spec.js';
import type { IngressMediaPort } from './ingress.js';
import type { WorkerHookOptions } from './media-hooks.js';

/** The media-hooks module as the media thread must import it: compiled, or TypeScript under tsx. */
export function workerHooksModule(): string {
  const js = new URL('./media-hooks.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return js.href;
  return new URL('./media-hooks.ts', import.meta.url).href;
}

export interface RtpMediaSessionOptions {
  pool: MediaThreadPool;
  /** Address the RTP socket binds to and that goes in the blob. */
  host: string;
  ports: { min: number; max: number };
  /** IPs and CIDRs that may send RTP to these sessions (the negotiated peers); empty or absent: any. */
  allowedPeers?: string[] | undefined;
  /** Base of per-call scratch folders (analytics/timeline JSON). */
  scratchRoot: string;
  /** Hooks every call gets (built-ins by name and user modules, from resolveHooksFromConfig). */
  hooks: HookSpec[];
  /** A call's own hooks when its settings change them (CallHookOverrides.hooksFor); default `hooks`. */
  hooksFor?: (mediaId: string, base: HookSpec[]) => HookSpec[];
}

export interface MediaSessionInfo {
  mediaId: string;
  rtp: { address: string; port: number };
  scratchDir: string;
  blob: string;
}

/** Hands out ports of the configured range; a port that fails to bind is skipped. */
export class RtpPortAllocator {
  private readonly used = new Set<number>();
  private next: number;
  constructor(private readonly range: { min: number; max: number }) {
    this.next = range.min;
  }

  /** Calls `bind` with free candidate ports until one works. */
  async allocate<T>(bind: (port: number) => Promise<T>): Promise<{ port: number; value: T }> {
    const size = this.range.max - this.range.min + 1;
    let lastErr: unknown;
    for (let tries = 0; tries < size; tries++) {
      const port = this.next;
      this.next = port >= this.range.max ? this.range.min : port + 1;
      if (this.used.has(port)) continue;
      this.used.add(port);
      try {
        return { port, value: await bind(port) };
      } catch (err) {
        this.used.delete(port);
        lastErr = err;
        // Only a busy port is worth another try; anything else is a real failure.
        if (!/EADDRINUSE|EACCES/.test(String((err as Error)?.message ?? err))) throw err;
      }
    }
    throw new MediabotError('MEDIABOT_RTP_PORTS_EXHAUSTED', `no free RTP port in ${this.range.min}-${this.range.max}${lastErr ? `: ${String((lastErr as Error).message ?? lastErr)}` : ''}`);
  }

  release(port: number): void {
    this.used.delete(port);
  }
}

/** Blob text of the emulator/RTP convention: base64 JSON {rtp:{host,port},payloadType}. */
export function rtpBlob(address: string, port: number): string {
  return Buffer.from(JSON.stringify({ rtp: { host: address, port }, payloadType: 111 }), 'utf8').toString('base64');
}

export class RtpMediaSessions implements MediaSessionProvider {
  private readonly ports: RtpPortAllocator;
  private readonly sessions = new Map<string, MediaSessionInfo>();

  constructor(private readonly o: RtpMediaSessionOptions) {
    this.ports = new RtpPortAllocator(o.ports);
  }

  /** Media ids of the open sessions. */
  ids(): string[] {
    return [...this.sessions.keys()];
  }

  get(mediaId: string): MediaSessionInfo | undefined {
    return this.sessions.get(mediaId);
  }

  async createMediaSession(mediaId: string): Promise<{ blob: string }> {
    return { blob: (await this.open(mediaId)).blob };
  }

  /** Creates the media call and returns where it listens. */
  async open(mediaId: string): Promise<MediaSessionInfo> {
    const existing = this.sessions.get(mediaId);
    if (existing) return existing;
    const scratchDir = folderForId(this.o.scratchRoot, mediaId);
    const hooks: HookSpec[] = [...(this.o.hooksFor?.(mediaId, this.o.hooks) ?? this.o.hooks), { module: workerHooksModule(), export: 'createWorkerHooks', options: { scratchDir } satisfies Omit<WorkerHookOptions, 'callId'> }];
    let created: CreatedCall;
    try {
      ({ value: created } = await this.ports.allocate((port) => this.o.pool.createCall({ callId: mediaId, rtp: { host: this.o.host, port, allowedPeers: this.o.allowedPeers }, hooks, alwaysEncodeMix: false })));
    } catch (err) {
      if (isMediabotError(err)) throw err;
      throw new MediabotError('MEDIABOT_MEDIA_THREAD_FAILED', `creating media for ${mediaId} failed: ${(err as Error).message}`);
    }
    if (!created.rtp) throw new MediabotError('MEDIABOT_MEDIA_THREAD_FAILED', `media for ${mediaId} has no RTP endpoint`);
    const address = created.rtp.address === '0.0.0.0' || created.rtp.address === '::' ? '127.0.0.1' : created.rtp.address;
    const info: MediaSessionInfo = { mediaId, rtp: { address, port: created.rtp.port }, scratchDir, blob: rtpBlob(address, created.rtp.port) };
    this.sessions.set(mediaId, info);
    return info;
  }

  /** Whether media for `mediaId` runs on the media threads: an RTP session here, or an ingress call. */
  running(mediaId: string): boolean {
    return this.o.pool.hasCall(mediaId);
  }

  /**
   * Plays 48/24/16 kHz mono audio into the media of `mediaId` (RTP or ingress: every call's media is
   * one session on the pool) as the source `sourceId`; resolves once it has been played out.
   */
  async playPcm(mediaId: string, sourceId: string, samples: Int16Array, rate: number): Promise<PlaybackResult> {
    return this.o.pool.playPcm(mediaId, samples, rate, { sourceId });
  }

  /** Pauses or resumes the recording and transcription of the media of `mediaId` (RTP or ingress alike). */
  setRecordingPaused(mediaId: string, paused: boolean): Promise<{ mediaTimeMs: number }> {
    return this.o.pool.setRecordingPaused(mediaId, paused);
  }

  /** The media of `mediaId`, once created (RTP or ingress alike), starts with its recording paused. */
  holdRecordingAtStart(mediaId: string): void {
    this.o.pool.holdRecordingAtStart(mediaId);
  }

  /** Ends the media call (flushing hooks) and frees its port; its final stats. */
  async close(mediaId: string): Promise<CallMediaStats | null> {
    const s = this.sessions.get(mediaId);
    if (!s) return null;
    this.sessions.delete(mediaId);
    try {
      return this.o.pool.hasCall(mediaId) ? await this.o.pool.endCall(mediaId) : null;
    } finally {
      this.ports.release(s.rtp.port);
    }
  }
}

/** A call's media as the call service ends it, whichever kind it is. */
export interface CallMediaEnd {
  /** Where the worker's hooks wrote the call's timeline and analytics. */
  scratchDir: string;
  /** Ends the media (flushing hooks); its final stats when this side ran it. */
  end(): Promise<CallMediaStats | null>;
  /** Drops what is kept about the call once it is finalized. */
  forget(): void;
}

/**
 * The media of `mediaId` for finalizing: an RTP session the service ended itself, or an ingress
 * call its adapter ends (the sidecar or ACS stream closes, then its media session on the pool).
 */
export function callMediaEnd(mediaId: string, rtp: RtpMediaSessions, ingress: IngressMediaPort | undefined): CallMediaEnd | undefined {
  const session = rtp.get(mediaId);
  if (session) return { scratchDir: session.scratchDir, end: () => rtp.close(mediaId), forget: () => {} };
  const scratchDir = ingress?.scratchDir(mediaId);
  if (ingress === undefined || scratchDir === undefined) return undefined;
  return {
    scratchDir,
    end: async () => {
      await ingress.end(mediaId);
      return null;
    },
    forget: () => ingress.forget?.(mediaId),
  };
}
