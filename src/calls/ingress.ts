/**
 * The worker's two WebSocket media ingresses on the main HTTP port: `/media/acs` (Azure
 * Communication Services media streaming) and `/media/bridge` (the media sidecar). Their calls get
 * the same hooks as RTP calls (recorder, transcription, talk events) plus the worker's own
 * timeline/analytics hook, with PCM sources Opus-encoded so the Ogg recordings hold the audio.
 *
 * While a sidecar is connected, app-hosted media sessions come from it (its blob goes to Graph);
 * otherwise from the RTP sessions on the media threads.
 */
import { folderForId } from '../util/safe-path.js';
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';
import type { MediaSessionProvider } from '../graph/media-config.js';
import type { Logger } from '../logger.js';
import type { CallSpec, HookSpec } from '../media/session/spec.js';
import { AcsIngress, acsIngressPlugin } from '../ingress/acs/adapter.js';
import { BridgeIngress, BridgeMediaSessionProvider, bridgeIngressPlugin } from '../ingress/bridge/adapter.js';
import { IngressMetrics } from '../ingress/common/metrics.js';
import type { IngressCallInfo, IngressPool } from '../ingress/common/shared.js';
import { CallbackTokenValidator } from '../signaling/jwt.js';
import type { WorkerHookOptions } from './media-hooks.js';
import { workerHooksModule } from './media-sessions.js';
import { TRANSCRIBE_STOP_TIMEOUT_MS } from '../media/hooks/transcribe/hook.js';

/** What the call service needs to know about ingress media (by media id = the ingress call id). */
export interface IngressMediaPort {
  /** Scratch folder of an ingress call's worker hooks; undefined when `mediaId` is no ingress call. */
  scratchDir(mediaId: string): string | undefined;
  /** Ends the media of an ingress call (if still running) and resolves once its hooks flushed. */
  end(mediaId: string): Promise<void>;
  /** Drops what is kept about a finalized call. */
  forget?(mediaId: string): void;
}

export interface WorkerIngressOptions {
  pool: IngressPool;
  /** Hooks every call gets (the same list as RTP calls). */
  hooks: HookSpec[];
  /** A call's own hooks when its settings change them; default `hooks`. */
  hooksFor?: (mediaId: string, base: HookSpec[]) => HookSpec[];
  scratchRoot: string;
  /** Tokens a sidecar may present in its hello (at least one). */
  tokens: string[];
  /** Tokens ACS must present (?token= or bearer); none = an open endpoint (loopback development only). */
  acsTokens: string[];
  /** ACS's own signed JWT on each WebSocket request, checked instead of `acsTokens` when set. */
  acsJwt?: { audience: string; openIdUrl: string; caPem?: string } | undefined;
  logger: Logger;
  onCallStarted(info: IngressCallInfo): void;
  onCallEnded(info: IngressCallInfo & { reason: string }): void;
}

/** The hook runner's stop timeout for ingress calls (the same as RTP calls' default). */
export const INGRESS_HOOK_STOP_TIMEOUT_MS = 30_000;
/**
 * How long finalizing waits for an ingress call's media to end: its hooks stop in two phases, the
 * async ones first (a transcriber flushes for up to TRANSCRIBE_STOP_TIMEOUT_MS), then the inline
 * ones (timeline, analytics: up to the runner's timeout), plus a margin for a loaded media thread.
 * Shorter than that, a call under load was finalized before its hooks finished, and its last
 * transcript lines, analytics and timeline were lost. It only bounds a stuck call: a call whose
 * hooks finish sooner is finalized as soon as they do.
 */
export const MEDIA_END_WAIT_MS = Math.max(TRANSCRIBE_STOP_TIMEOUT_MS, INGRESS_HOOK_STOP_TIMEOUT_MS) + INGRESS_HOOK_STOP_TIMEOUT_MS + 15_000;

interface Known {
  scratchDir: string;
  ended: Promise<void>;
  resolveEnded: () => void;
}

/** ACS signs each media WebSocket request (RS256, keys and issuer from its OpenID configuration, audience = the resource id). */
export function acsTokenCheck(o: { audience: string; openIdUrl: string; caPem?: string }, logger: Logger): (req: { headers: IncomingHttpHeaders }) => Promise<void> {
  const validator = new CallbackTokenValidator({
    openIdConfigUrl: o.openIdUrl,
    audience: o.audience,
    issuerFromConfig: true,
    requireTenantId: false,
    audienceSetting: 'MEDIABOT_ACS_RESOURCE_ID',
    ...(o.caPem !== undefined ? { caPem: o.caPem } : {}),
    logger: logger.child({ component: 'acs-auth' }),
  });
  return async (req) => {
    const auth = req.headers.authorization;
    await validator.verify(typeof auth === 'string' ? auth : undefined);
  };
}

export class WorkerIngress implements IngressMediaPort {
  readonly metrics = new IngressMetrics();
  readonly acs: AcsIngress;
  readonly bridge: BridgeIngress;
  /** A token the bridge accepts (what a co-located sidecar, e.g. the demo's, presents). */
  readonly bridgeToken: string;
  private readonly known = new Map<string, Known>();

  constructor(private readonly o: WorkerIngressOptions) {
    const callSpec = (callId: string): Omit<CallSpec, 'callId'> => this.callSpec(callId);
    const onCallStarted = (info: IngressCallInfo): void => o.onCallStarted(info);
    const onCallEnded = (info: IngressCallInfo & { reason: string }): void => {
      this.known.get(info.callId)?.resolveEnded();
      o.onCallEnded(info);
    };
    this.acs = new AcsIngress({
      pool: o.pool,
      callSpec,
      onCallStarted,
      onCallEnded,
      metrics: this.metrics,
      logger: o.logger.child({ component: 'ingress-acs' }),
      ...(o.acsTokens.length > 0 ? { tokens: o.acsTokens } : {}),
      ...(o.acsJwt ? { verifyUpgrade: acsTokenCheck(o.acsJwt, o.logger) } : {}),
    });
    this.bridgeToken = o.tokens[0] ?? '';
    this.bridge = new BridgeIngress({
      pool: o.pool,
      tokens: o.tokens,
      callSpec,
      onCallStarted,
      onCallEnded,
      metrics: this.metrics,
      logger: o.logger.child({ component: 'ingress-bridge' }),
    });
  }

  /** The spec of an ingress call's media: the worker's hooks, Opus-encoded PCM for Ogg recordings. */
  private callSpec(callId: string): Omit<CallSpec, 'callId'> {
    const scratchDir = folderForId(this.o.scratchRoot, callId);
    let resolveEnded = (): void => {};
    const ended = new Promise<void>((r) => (resolveEnded = r));
    this.known.set(callId, { scratchDir, ended, resolveEnded });
    const own = this.o.hooksFor?.(callId, this.o.hooks) ?? this.o.hooks;
    const hooks: HookSpec[] = [...own, { module: workerHooksModule(), export: 'createWorkerHooks', options: { scratchDir } satisfies Omit<WorkerHookOptions, 'callId'> }];
    // No RTP peer needs the mix in Opus here, but the recorder's mix.opus does.
    const recording = own.some((h) => 'builtin' in h && h.builtin === 'recorder');
    return { hooks, alwaysEncodeMix: recording, pcm: { encodeOpus: true }, hookStopTimeoutMs: INGRESS_HOOK_STOP_TIMEOUT_MS };
  }

  scratchDir(mediaId: string): string | undefined {
    return this.known.get(mediaId)?.scratchDir;
  }

  async end(mediaId: string): Promise<void> {
    const k = this.known.get(mediaId);
    if (!k) return;
    if (this.bridge.calls().some((c) => c.callId === mediaId)) await this.bridge.endMediaSession(mediaId, 'the call ended').catch(() => undefined);
    // Whoever ended it (the sidecar, ACS closing the stream, the line above), wait for its hooks.
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([k.ended.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), MEDIA_END_WAIT_MS)))]);
    clearTimeout(timer);
    if (timedOut) this.o.logger.warn({ callId: mediaId, waitedMs: MEDIA_END_WAIT_MS }, 'the ingress call\'s media did not end in time; finalizing without its last hook outputs');
  }

  /** Forgets a finalized call. */
  forget(mediaId: string): void {
    this.known.delete(mediaId);
  }

  sidecarConnected(): boolean {
    return this.bridge.stats().connected > 0;
  }

  /** Blobs from the sidecar while one is connected, else from `fallback` (the RTP sessions). */
  sessionProvider(fallback: MediaSessionProvider): MediaSessionProvider {
    const bridge = new BridgeMediaSessionProvider(this.bridge);
    return { createMediaSession: (id) => (this.sidecarConnected() ? bridge.createMediaSession(id) : fallback.createMediaSession(id)) };
  }

  registerMetrics(registry: Registry): void {
    this.metrics.register(registry);
  }

  plugins(): Array<{ plugin: FastifyPluginAsync<never>; options: Record<string, unknown> }> {
    return [
      { plugin: acsIngressPlugin as FastifyPluginAsync<never>, options: { ingress: this.acs } },
      { plugin: bridgeIngressPlugin as FastifyPluginAsync<never>, options: { ingress: this.bridge } },
    ];
  }

  async close(): Promise<void> {
    await Promise.all([this.acs.close(), this.bridge.close()]);
  }
}
