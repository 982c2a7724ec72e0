import { randomBytes, randomUUID } from 'node:crypto';
import type { EmulatorContext } from './context.js';
import { badRequest, GraphError, notFound } from './graph-error.js';
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
  /** What the resource selects. */
  target: { kind: 'callRecords' } | { kind: 'presence'; userIds: string[] };
}

/** Maximum subscription lifetimes Graph allows per resource. */
const MAX_MINUTES = { callRecords: 4230, presence: 60 } as const;
const HANDSHAKE_TIMEOUT_MS = 10_000;

/** Parses the subscription resource string into what it watches; undefined if unsupported. */
export function parseSubscriptionResource(resource: string): EmuSubscription['target'] | undefined {
  const r = resource.replace(/^\//, '');
  if (/^communications\/callRecords$/i.test(r)) return { kind: 'callRecords' };
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
export class SubscriptionStore {
  private readonly subs = new Map<string, EmuSubscription>();

  constructor(private readonly ctx: EmulatorContext) {}

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
  async create(body: unknown, grantedRoles: readonly string[]): Promise<EmuSubscription> {
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
    if (!target) throw badRequest(`Resource '${resource}' is not supported by this emulator (callRecords and presences are).`, 'InvalidRequest');
    const needed = target.kind === 'callRecords' ? ['CallRecords.Read.All'] : ['Presence.Read.All', 'Presence.ReadWrite.All'];
    if (!needed.some((r) => grantedRoles.includes(r))) {
      throw new GraphError(403, 'ExtensionError', `Operation: Create; Exception: [Status Code: Forbidden; Reason: The application lacks ${needed.join(' or ')}]`);
    }
    const exp = this.checkExpiration(expiration, target.kind);
    const includeResourceData = b['includeResourceData'] === true;
    const cert = str('encryptionCertificate') ?? null;
    if (includeResourceData && cert === null) throw badRequest('encryptionCertificate is required when includeResourceData is true.', 'InvalidRequest');
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
      target,
    };
    this.subs.set(sub.id, sub);
    this.ctx.logger.info({ subscriptionId: sub.id, resource }, 'emulator subscription created');
    return sub;
  }

  renew(id: string, body: unknown): EmuSubscription {
    const sub = this.get(id);
    const exp = typeof body === 'object' && body !== null ? (body as Json)['expirationDateTime'] : undefined;
    if (typeof exp !== 'string') throw badRequest('expirationDateTime is required.', 'InvalidRequest');
    sub.expirationDateTime = this.checkExpiration(exp, sub.target.kind);
    return sub;
  }

  delete(id: string): void {
    this.get(id);
    this.subs.delete(id);
  }

  private checkExpiration(raw: string, kind: 'callRecords' | 'presence'): Date {
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

  /** Posts a changeNotificationCollection to every live subscription the predicate selects. */
  notify(select: (s: EmuSubscription) => boolean, item: (s: EmuSubscription) => Json, changeType: string): void {
    const now = Date.now();
    for (const s of this.subs.values()) {
      if (s.expirationDateTime.getTime() <= now) continue;
      if (!s.changeType.split(',').map((t) => t.trim()).includes(changeType)) continue;
      if (!select(s)) continue;
      const body = {
        value: [
          {
            id: randomUUID(),
            subscriptionId: s.id,
            clientState: s.clientState,
            changeType,
            subscriptionExpirationDateTime: s.expirationDateTime.toISOString(),
            tenantId: this.ctx.tenantId,
            organizationId: this.ctx.tenantId,
            ...item(s),
          },
        ],
      };
      void this.ctx.notifier.enqueue(`subscription:${s.id}`, { url: s.notificationUrl, body });
    }
  }
}
