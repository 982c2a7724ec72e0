/**
 * mediaConfig builders for create/answer/join. Service-hosted media lets Graph play prompts and
 * record; app-hosted media needs a media session blob, which only a media stack can produce: the
 * bridge ingress supplies it through MediaSessionProvider (src/graph never imports media code).
 */
import type { AppHostedMediaConfig, MediaInfo, ServiceHostedMediaConfig } from '@microsoft/microsoft-graph-types';
import { invalidArgument } from './errors.js';

export type ServiceHostedMediaConfigWire = ServiceHostedMediaConfig & {
  '@odata.type': '#microsoft.graph.serviceHostedMediaConfig';
  removeFromDefaultAudioGroup?: boolean;
};
export type AppHostedMediaConfigWire = AppHostedMediaConfig & {
  '@odata.type': '#microsoft.graph.appHostedMediaConfig';
  removeFromDefaultAudioGroup?: boolean;
};
export type MediaConfigWire = ServiceHostedMediaConfigWire | AppHostedMediaConfigWire;

/** Supplies the app-hosted media session blob for a call (implemented by the media bridge ingress). */
export interface MediaSessionProvider {
  /** `callId`: the Graph call id when answering; for outgoing calls a caller-chosen correlation id. */
  createMediaSession(callId: string): Promise<{ blob: string }>;
}

export function serviceHostedMediaConfig(opts: { preFetchMedia?: MediaInfo[]; removeFromDefaultAudioGroup?: boolean } = {}): ServiceHostedMediaConfigWire {
  const out: ServiceHostedMediaConfigWire = { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' };
  if (opts.preFetchMedia !== undefined) {
    for (const m of opts.preFetchMedia) {
      if (typeof m?.uri !== 'string' || m.uri.length === 0) throw invalidArgument('every preFetchMedia entry needs a uri');
    }
    out.preFetchMedia = opts.preFetchMedia.map((m) => ({ ...m }));
  }
  if (opts.removeFromDefaultAudioGroup !== undefined) out.removeFromDefaultAudioGroup = opts.removeFromDefaultAudioGroup;
  return out;
}

/** appHostedMediaConfig with a known blob (or none, as group-call creation allows). */
export function appHostedMediaConfig(opts: { blob?: string; removeFromDefaultAudioGroup?: boolean } = {}): AppHostedMediaConfigWire {
  const out: AppHostedMediaConfigWire = { '@odata.type': '#microsoft.graph.appHostedMediaConfig' };
  if (opts.blob !== undefined) out.blob = opts.blob;
  if (opts.removeFromDefaultAudioGroup !== undefined) out.removeFromDefaultAudioGroup = opts.removeFromDefaultAudioGroup;
  return out;
}

/** appHostedMediaConfig whose blob comes from the media session provider. */
export async function appHostedMediaConfigFrom(
  provider: MediaSessionProvider,
  callId: string,
  opts: { removeFromDefaultAudioGroup?: boolean } = {},
): Promise<AppHostedMediaConfigWire> {
  const session = await provider.createMediaSession(callId);
  if (typeof session?.blob !== 'string' || session.blob.length === 0) {
    throw invalidArgument(`media session provider returned no blob for call ${callId}`);
  }
  return appHostedMediaConfig({ blob: session.blob, ...opts });
}
