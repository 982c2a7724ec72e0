import { randomBytes, randomUUID } from 'node:crypto';
import type { EmulatorContext } from './context.js';
import { badRequest, GraphErrorReply, notFound } from './graph-error.js';
import { encryptResourceData, parseEncryptionCertificate } from './rich-notifications.js';
import type { Json } from './state.js';

export interface EmuSubscription {
  id: string;
  resource: string;
  changeType: string;
  notificationUrl: string;
  lifecycleNotificationUrl: string | null;
  clientState: string | null;
  expirationDateTime: Date;
  includeResourceData: boolean;
  encryptionCertificate: string | null;
  encryptionCertificateId: string | null;
  /** The tenant of the token that created it (notifications name it). */
  tenantId: string;
  /** What the resource selects. */
  target:
    | { kind: 'callRecords' }
    | { kind: 'presence'; userIds: string[] }
    /** Teams' transcripts or recordings: tenant-wide, one organizer's, or one meeting's. */
    | { kind: 'transcripts' | 'recordings'; organizerId?: string; meetingId?: string };
}

/** Maximum subscription lifetimes Graph allows per resource. */
const MAX_MINUTES = { callRecords: 4230, presence: 60, transcripts: 4230, recordings: 4230 } as const;

/** Application permissions per watched resource. */
const SUBSCRIPTION_ROLES = {
  callRecords: ['CallRecords.Read.All'],
  presence: ['Presence.Read.All', 'Presence.ReadWrite.All', 'Presence.Read', 'Presence.ReadWrite'],
  transcripts: ['OnlineMeetingTranscript.Read.All'],
  recordings: ['OnlineMeetingRecording.Read.All'],
} as const;
const HANDSHAKE_TIMEOUT_MS = 10_000;

/** Parses the subscription resource string into what it watches; undefined if unsupported. */
export function parseSubscriptionResource(resource: string): EmuSubscription['target'] | undefined {
  const r = resource.replace(/^\//, '');
  if (/^communications\/callRecords$/i.test(r)) return { kind: 'callRecords' };
  const all = /^communications\/onlineMeetings\/getAll(Transcripts|Recordings)(?:\(\))?$/i.exec(r);
  if (all) return { kind: all[1]!.toLowerCase() === 'transcripts' ? 'transcripts' : 'recordings' };
  const byOrganizer = /^users\/([^/]+)\/onlineMeetings\/getAll(Transcripts|Recordings)(?:\(.*\))?$/i.exec(r);
  if (byOrganizer) return { kind: byOrganizer[2]!.toLowerCase() === 'transcripts' ? 'transcripts' : 'recordings', organizerId: byOrganizer[1]! };
  const byMeeting = /^communications\/onlineMeetings\/([^/]+)\/(transcripts|recordings)$/i.exec(r);
  if (byMeeting) return { kind: byMeeting[2]!.toLowerCase() === 'transcripts' ? 'transcripts' : 'recordings', meetingId: byMeeting[1]! };
  const single = /^communications\/presences\/([^/?]+)$/i.exec(r);
  if (single) return { kind: 'presence', userIds: [single[1]!] };
  const multi = /^communications\/presences\?\$filter=id\s+in\s+\((.*)\)$/i.exec(r);
  if (multi) {
    const ids = multi[1]!
      .split(',')
      .map((s) => s.trim().replace(/^'|'$/g, ''))
      .filter((s) => s.length > 0);
    if (ids.length === 0 || ids.length > 650) return undefined;
    return { kind: 'presence', userIds: ids };
  }
  return undefined;
}

export function isAllowedWebhookUrl(raw: string): boolean {
  try {
    const u = new URL(raw);
    if (u.protocol === 'https:') return true;
    // Graph requires HTTPS; the emulator also accepts plain HTTP on loopback for local bots.
    return u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
  } catch {
    return false;
  }
}

/** Change-notification subscriptions (callRecords, presence) with Graph's validation handshake. */
export type LifecycleEvent = 'subscriptionRemoved' | 'missed' | 'reauthorizationRequired';
export const LIFECYCLE_EVENTS: readonly LifecycleEvent[] = ['subscriptionRemoved', 'missed', 'reauthorizationRequired'];

export class SubscriptionStore {
  private readonly subs = new Map<string, EmuSubscription>();
  private readonly timers = new Map<string, NodeJS.Timeout[]>();

  /** `validationToken` mints the JWTs that accompany rich (resource-data) notifications. */
  constructor(
    private readonly ctx: EmulatorContext,
    private readonly validationToken: (tenantId: string) => Promise<string>,
  ) {}

  list(): EmuSubscription[] {
    return [...this.subs.values()];
  }

  get(id: string): EmuSubscription {
    const s = this.subs.get(id);
    if (!s) throw notFound(`The object was not found. Subscription '${id}' does not exist.`);
    return s;
  }

  resource(s: EmuSubscription): Json {
    return {
      '@odata.context': `${this.ctx.graphUrl}/v1.0/$metadata#subscriptions/$entity`,
      id: s.id,
      resource: s.resource,
      applicationId: this.ctx.clientId,
      changeType: s.changeType,
      clientState: s.clientState,
      notificationUrl: s.notificationUrl,
      notificationQueryOptions: null,
      lifecycleNotificationUrl: s.lifecycleNotificationUrl,
      expirationDateTime: s.expirationDateTime.toISOString(),
      creatorId: this.ctx.clientId,
      includeResourceData: s.includeResourceData,
      latestSupportedTlsVersion: 'v1_2',
      encryptionCertificate: s.encryptionCertificate,
      encryptionCertificateId: s.encryptionCertificateId,
      notificationUrlAppId: null,
      notificationContentType: 'application/json',
    };
  }

  /** Validates the body, runs the validationToken handshake on each URL, then stores the subscription. */
  async create(body: unknown, grantedRoles: readonly string[], who: { delegated: boolean; tenantId: string } = { delegated: false, tenantId: this.ctx.tenantId }): Promise<EmuSubscription> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('Request body must be a subscription object.', 'InvalidRequest');
    const b = body as Json;
    const str = (k: string): string | undefined => (typeof b[k] === 'string' ? (b[k] as string) : undefined);
    const changeType = str('changeType');
    const notificationUrl = str('notificationUrl');
    const resource = str('resource');
    const expiration = str('expirationDateTime');
    if (!changeType || !notificationUrl || !resource || !expiration) {
      throw badRequest('changeType, notificationUrl, resource and expirationDateTime are required.', 'InvalidRequest');
    }
    const types = changeType.split(',').map((s) => s.trim());
    if (types.some((t) => !['created', 'updated', 'deleted'].includes(t))) throw badRequest(`Invalid changeType '${changeType}'.`, 'InvalidRequest');
    if (!isAllowedWebhookUrl(notificationUrl)) throw badRequest('Subscription notificationUrl must be an https URL.', 'InvalidRequest');
    const lifecycle = str('lifecycleNotificationUrl') ?? null;
    if (lifecycle !== null && !isAllowedWebhookUrl(lifecycle)) throw badRequest('lifecycleNotificationUrl must be an https URL.', 'InvalidRequest');
    const target = parseSubscriptionResource(resource);
    if (!target) throw badRequest(`Resource '${resource}' is not supported by this emulator (callRecords, presences, and onlineMeetings transcripts and recordings are).`, 'InvalidRequest');
    // Presence change notifications are delegated-only: Graph does not support them with application permissions.
    if (target.kind === 'presence' && !who.delegated) {
      throw new GraphErrorReply(403, 'ExtensionError', 'Operation: Create; Exception: [Status Code: Forbidden; Reason: Presence subscriptions are not supported with application permissions; use a delegated token (Presence.Read or Presence.Read.All)]');
    }
    const needed: readonly string[] = SUBSCRIPTION_ROLES[target.kind];
    if (!needed.some((r) => grantedRoles.includes(r))) {
      throw new GraphErrorReply(403, 'ExtensionError', `Operation: Create; Exception: [Status Code: Forbidden; Reason: The application lacks ${needed.join(' or ')}]`);
    }
    const exp = this.checkExpiration(expiration, target.kind);
    const includeResourceData = b['includeResourceData'] === true;
    const cert = str('encryptionCertificate') ?? null;
    if (includeResourceData && cert === null) throw badRequest('encryptionCertificate is required when includeResourceData is true.', 'InvalidRequest');
    if (includeResourceData && cert !== null) parseEncryptionCertificate(cert);
    await this.handshake(notificationUrl);
    if (lifecycle !== null && lifecycle !== notificationUrl) await this.handshake(lifecycle);
    const sub: EmuSubscription = {
      id: randomUUID(),
      resource,
      changeType,
      notificationUrl,
      lifecycleNotificationUrl: lifecycle,
      clientState: str('clientState') ?? null,
      expirationDateTime: exp,
      includeResourceData,
      encryptionCertificate: cert,
      encryptionCertificateId: str('encryptionCertificateId') ?? null,
      tenantId: who.tenantId,
      target,
    };
    this.subs.set(sub.id, sub);
    this.schedule(sub);
    this.ctx.logger.info({ subscriptionId: sub.id, resource }, 'emulator subscription created');
    return sub;
  }

  /**
   * Lifecycle as Graph runs it: reauthorizationRequired shortly before expiry (at most 10 minutes
   * before, at the halfway point for short lifetimes), then subscriptionRemoved at expiry.
   */
  private schedule(sub: EmuSubscription): void {
    this.unschedule(sub.id);
    const left = sub.expirationDateTime.getTime() - Date.now();
    const reauthIn = Math.max(0, left - Math.min(10 * 60_000, left / 2));
    const t1 = setTimeout(() => this.lifecycle(sub.id, 'reauthorizationRequired'), reauthIn);
    const t2 = setTimeout(() => {
      if (this.subs.get(sub.id) !== sub || sub.expirationDateTime.getTime() > Date.now()) return;
      this.lifecycle(sub.id, 'subscriptionRemoved');
      this.subs.delete(sub.id);
      this.unschedule(sub.id);
    }, left);
    t1.unref();
    t2.unref();
    this.timers.set(sub.id, [t1, t2]);
  }

  private unschedule(id: string): void {
    for (const t of this.timers.get(id) ?? []) clearTimeout(t);
    this.timers.delete(id);
  }

  /** Posts a lifecycle notification to the subscription's lifecycleNotificationUrl (if it has one). */
  lifecycle(id: string, event: LifecycleEvent): boolean {
    const sub = this.subs.get(id);
    if (!sub || sub.lifecycleNotificationUrl === null) return false;
    const body = {
      value: [
        {
          subscriptionId: sub.id,
          subscriptionExpirationDateTime: sub.expirationDateTime.toISOString(),
          tenantId: sub.tenantId,
          clientState: sub.clientState,
          lifecycleEvent: event,
        },
      ],
    };
    void this.ctx.notifier.enqueue(`subscription:${sub.id}`, { url: sub.lifecycleNotificationUrl, body });
    return true;
  }

  close(): void {
    for (const id of [...this.timers.keys()]) this.unschedule(id);
  }

  renew(id: string, body: unknown): EmuSubscription {
    const sub = this.get(id);
    const exp = typeof body === 'object' && body !== null ? (body as Json)['expirationDateTime'] : undefined;
    if (typeof exp !== 'string') throw badRequest('expirationDateTime is required.', 'InvalidRequest');
    sub.expirationDateTime = this.checkExpiration(exp, sub.target.kind);
    this.schedule(sub);
    return sub;
  }

  delete(id: string): void {
    this.get(id);
    this.subs.delete(id);
    this.unschedule(id);
  }

  private checkExpiration(raw: string, kind: EmuSubscription['target']['kind']): Date {
    const d = new Date(raw);
    if (Number.isNaN(d.getTime())) throw badRequest('expirationDateTime is not a valid date-time.', 'InvalidRequest');
    const now = Date.now();
    if (d.getTime() <= now) throw badRequest('Subscription expiration can only be in the future.', 'InvalidRequest');
    if (d.getTime() > now + MAX_MINUTES[kind] * 60_000 + 60_000) {
      throw badRequest(`Subscription expiration exceeds the maximum of ${MAX_MINUTES[kind]} minutes for this resource.`, 'InvalidRequest');
    }
    return d;
  }

  /** POST {url}?validationToken=... and require the token echoed as the body within 10 s. */
  private async handshake(url: string): Promise<void> {
    const token = `Validation: Testing client application reachability for subscription Request-Id: ${randomUUID()} ${randomBytes(6).toString('hex')}`;
    const u = new URL(url);
    u.searchParams.set('validationToken', token);
    let ok = false;
    let detail = '';
    try {
      const res = await fetch(u, { method: 'POST', headers: { 'content-type': 'text/plain; charset=utf-8' }, body: '', signal: AbortSignal.timeout(HANDSHAKE_TIMEOUT_MS) });
      const text = await res.text();
      ok = res.status === 200 && text === token;
      detail = ok ? '' : `status ${res.status}, body ${text === token ? 'matches' : 'does not match'}`;
    } catch (err) {
      detail = err instanceof Error ? err.message : String(err);
    }
    if (!ok) {
      this.ctx.logger.warn({ url, detail }, 'subscription validation failed');
      throw badRequest(`Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request. (${detail})`, 'ValidationError');
    }
  }

  /**
   * Posts a changeNotificationCollection to every live subscription the predicate selects. With
   * includeResourceData, `full` (the resource itself) goes encrypted for the subscriber's
   * certificate, and the body carries validationTokens.
   */
  notify(select: (s: EmuSubscription) => boolean, item: (s: EmuSubscription) => Json, changeType: string, full?: () => Json): void {
    const now = Date.now();
    for (const s of this.subs.values()) {
      if (s.expirationDateTime.getTime() <= now) continue;
      if (!s.changeType.split(',').map((t) => t.trim()).includes(changeType)) continue;
      if (!select(s)) continue;
      const entry: Json = {
        id: randomUUID(),
        subscriptionId: s.id,
        clientState: s.clientState,
        changeType,
        subscriptionExpirationDateTime: s.expirationDateTime.toISOString(),
        tenantId: s.tenantId,
        organizationId: s.tenantId,
        ...item(s),
      };
      const rich = s.includeResourceData && s.encryptionCertificate !== null && full !== undefined;
      const url = s.notificationUrl;
      const send = async (): Promise<void> => {
        const body: Json = { value: [entry] };
        if (rich) {
          entry['encryptedContent'] = encryptResourceData(parseEncryptionCertificate(s.encryptionCertificate!), s.encryptionCertificateId, full());
          body['validationTokens'] = [await this.validationToken(s.tenantId)];
        }
        await this.ctx.notifier.enqueue(`subscription:${s.id}`, { url, body });
      };
      void send().catch((err: unknown) => this.ctx.logger.warn({ err, subscriptionId: s.id }, 'change notification not sent'));
    }
  }
}
