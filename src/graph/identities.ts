/**
 * Builders for the identity shapes cloud-communications requests use. Graph's v1.0 typings model
 * identitySet with user/application/device only; calls also use phone, applicationInstance and
 * guest, plus tenantId/identityProvider on the identity, so the wire types here extend them.
 * Every builder emits the `@odata.type` annotations the Graph docs' examples carry.
 */
import type { EndpointType, Identity, InvitationParticipantInfo, ParticipantInfo } from '@microsoft/microsoft-graph-types';

export type ODataTyped<T> = T & { '@odata.type'?: string };

export interface CommsIdentity extends Identity {
  '@odata.type'?: string;
  tenantId?: string | null;
  identityProvider?: string | null;
}

export type IdentityKind = 'user' | 'application' | 'applicationInstance' | 'phone' | 'guest' | 'device' | 'encrypted' | 'onPremises';

export type CommsIdentitySet = { '@odata.type'?: string } & { [K in IdentityKind]?: CommsIdentity | null };

export interface CommsInvitationParticipantInfo extends Omit<InvitationParticipantInfo, 'identity'> {
  '@odata.type'?: string;
  identity?: CommsIdentitySet;
  endpointType?: EndpointType | null;
  languageId?: string | null;
  region?: string | null;
}

export interface CommsParticipantInfo extends Omit<ParticipantInfo, 'identity'> {
  '@odata.type'?: string;
  identity?: CommsIdentitySet;
}

export interface IdentityOptions {
  displayName?: string;
  tenantId?: string;
  identityProvider?: string;
}

export function identity(id: string, opts: IdentityOptions = {}): CommsIdentity {
  const out: CommsIdentity = { '@odata.type': '#microsoft.graph.identity', id };
  if (opts.displayName !== undefined) out.displayName = opts.displayName;
  if (opts.tenantId !== undefined) out.tenantId = opts.tenantId;
  if (opts.identityProvider !== undefined) out.identityProvider = opts.identityProvider;
  return out;
}

/** An identitySet with one identity of the given kind. */
export function identitySet(kind: IdentityKind, id: string, opts: IdentityOptions = {}): CommsIdentitySet {
  return { '@odata.type': '#microsoft.graph.identitySet', [kind]: identity(id, opts) };
}

export const userIdentity = (id: string, opts?: IdentityOptions): CommsIdentitySet => identitySet('user', id, opts);
export const applicationIdentity = (id: string, opts?: IdentityOptions): CommsIdentitySet => identitySet('application', id, opts);
export const applicationInstanceIdentity = (id: string, opts?: IdentityOptions): CommsIdentitySet => identitySet('applicationInstance', id, opts);
/** A PSTN number in E.164 form (+ and 7-15 digits). */
export const phoneIdentity = (e164: string): CommsIdentitySet => identitySet('phone', e164);

export interface InvitationOptions {
  replacesCallId?: string;
  endpointType?: EndpointType;
  languageId?: string;
  region?: string;
  participantId?: string;
  hidden?: boolean;
  removeFromDefaultAudioRoutingGroup?: boolean;
}

/** invitationParticipantInfo: a call target, invitee, redirect or transfer target. */
export function invitationParticipant(who: CommsIdentitySet, opts: InvitationOptions = {}): CommsInvitationParticipantInfo {
  const out: CommsInvitationParticipantInfo = { '@odata.type': '#microsoft.graph.invitationParticipantInfo' };
  if (opts.endpointType !== undefined) out.endpointType = opts.endpointType;
  out.identity = who;
  if (opts.replacesCallId !== undefined) out.replacesCallId = opts.replacesCallId;
  if (opts.languageId !== undefined) out.languageId = opts.languageId;
  if (opts.region !== undefined) out.region = opts.region;
  if (opts.participantId !== undefined) out.participantId = opts.participantId;
  if (opts.hidden !== undefined) out.hidden = opts.hidden;
  if (opts.removeFromDefaultAudioRoutingGroup !== undefined) out.removeFromDefaultAudioRoutingGroup = opts.removeFromDefaultAudioRoutingGroup;
  return out;
}

/** participantInfo: the `source` of an outgoing call (the bot or its application instance). */
export function participantInfo(who: CommsIdentitySet, opts: { region?: string; languageId?: string; countryCode?: string; endpointType?: EndpointType } = {}): CommsParticipantInfo {
  const out: CommsParticipantInfo = { '@odata.type': '#microsoft.graph.participantInfo', identity: who };
  if (opts.region !== undefined) out.region = opts.region;
  if (opts.languageId !== undefined) out.languageId = opts.languageId;
  if (opts.countryCode !== undefined) out.countryCode = opts.countryCode;
  if (opts.endpointType !== undefined) out.endpointType = opts.endpointType;
  return out;
}
