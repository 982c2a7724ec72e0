import type { EmulatorContext } from './context.js';
import { badRequest, GraphErrorReply } from './graph-error.js';
import type { Json } from './state.js';
import type { SubscriptionStore } from './subscriptions.js';

interface PresenceState {
  availability: string;
  activity: string;
  expiresAt: number;
  setAt: number;
}

interface UserPresence {
  sessions: Map<string, PresenceState>;
  preferred: PresenceState | undefined;
  statusMessage: Json | null;
}

/** availability/activity pairs setPresence accepts (presence-setpresence.md). */
const SESSION_PAIRS = new Set(['Available/Available', 'Busy/InACall', 'Busy/InAConferenceCall', 'Away/Away', 'DoNotDisturb/Presenting']);
/** availability/activity pairs setUserPreferredPresence accepts. */
const PREFERRED_PAIRS = new Set(['Available/Available', 'Busy/Busy', 'DoNotDisturb/DoNotDisturb', 'BeRightBack/BeRightBack', 'Away/Away', 'Offline/OffWork']);

/** Parses an ISO 8601 duration like PT1H, PT5M30S, P1D into milliseconds. */
export function parseIsoDuration(s: string): number | undefined {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(s);
  if (!m || s === 'P' || s.endsWith('T')) return undefined;
  const [, d, h, min, sec] = m;
  return ((Number(d ?? 0) * 24 + Number(h ?? 0)) * 60 + Number(min ?? 0)) * 60_000 + Number(sec ?? 0) * 1000;
}

/** Per-user presence: app sessions, the user's preferred presence and a status message. */
export class PresenceStore {
  private readonly users = new Map<string, UserPresence>();

  constructor(
    private readonly ctx: EmulatorContext,
    private readonly subscriptions: SubscriptionStore,
  ) {}

  private user(id: string): UserPresence {
    let u = this.users.get(id);
    if (!u) {
      u = { sessions: new Map(), preferred: undefined, statusMessage: null };
      this.users.set(id, u);
    }
    return u;
  }

  get(id: string): { id: string; availability: string; activity: string; statusMessage: Json | null } {
    const u = this.users.get(id);
    const now = Date.now();
    let state: { availability: string; activity: string } = { availability: 'Offline', activity: 'Offline' };
    if (u) {
      if (u.preferred && u.preferred.expiresAt > now) state = u.preferred;
      else {
        const live = [...u.sessions.values()].filter((s) => s.expiresAt > now).sort((a, b) => b.setAt - a.setAt)[0];
        if (live) state = live;
      }
    }
    return { id, availability: state.availability, activity: state.activity, statusMessage: u?.statusMessage ?? null };
  }

  setPresence(userId: string, body: unknown): void {
    const b = asObject(body);
    const sessionId = b['sessionId'];
    const availability = b['availability'];
    const activity = b['activity'];
    if (typeof sessionId !== 'string' || sessionId.length === 0) throw badRequest('sessionId is required.');
    if (typeof availability !== 'string' || typeof activity !== 'string' || !SESSION_PAIRS.has(`${availability}/${activity}`)) {
      throw badRequest(`The availability/activity combination '${String(availability)}/${String(activity)}' is not supported.`);
    }
    const ttl = this.duration(b['expirationDuration'], 5 * 60_000, 5 * 60_000, 240 * 60_000);
    const now = Date.now();
    this.user(userId).sessions.set(sessionId, { availability, activity, expiresAt: now + ttl, setAt: now });
    this.changed(userId);
  }

  clearPresence(userId: string, body: unknown): void {
    const b = asObject(body);
    const sessionId = b['sessionId'];
    if (typeof sessionId !== 'string' || sessionId.length === 0) throw badRequest('sessionId is required.');
    const u = this.users.get(userId);
    if (!u || !u.sessions.delete(sessionId)) throw new GraphErrorReply(404, 'NotFound', `Presence session '${sessionId}' does not exist.`);
    this.changed(userId);
  }

  setPreferred(userId: string, body: unknown): void {
    const b = asObject(body);
    const availability = b['availability'];
    const activity = b['activity'];
    if (typeof availability !== 'string' || typeof activity !== 'string' || !PREFERRED_PAIRS.has(`${availability}/${activity}`)) {
      throw badRequest(`The availability/activity combination '${String(availability)}/${String(activity)}' is not supported.`);
    }
    const ttl = this.duration(b['expirationDuration'], 7 * 24 * 3600_000, 60_000, 30 * 24 * 3600_000);
    const now = Date.now();
    this.user(userId).preferred = { availability, activity, expiresAt: now + ttl, setAt: now };
    this.changed(userId);
  }

  clearPreferred(userId: string): void {
    this.user(userId).preferred = undefined;
    this.changed(userId);
  }

  setStatusMessage(userId: string, body: unknown): void {
    const sm = asObject(body)['statusMessage'];
    if (typeof sm !== 'object' || sm === null) throw badRequest('statusMessage is required.');
    const message = (sm as Json)['message'];
    if (typeof message !== 'object' || message === null || typeof (message as Json)['content'] !== 'string') throw badRequest('statusMessage.message.content is required.');
    const expiry = (sm as Json)['expiryDateTime'];
    this.user(userId).statusMessage = {
      message: { content: (message as Json)['content'], contentType: (message as Json)['contentType'] ?? 'text' },
      expiryDateTime: typeof expiry === 'object' && expiry !== null ? expiry : null,
      publishedDateTime: new Date().toISOString(),
    };
    this.changed(userId);
  }

  private duration(raw: unknown, dflt: number, min: number, max: number): number {
    if (raw === undefined || raw === null) return dflt;
    const ms = typeof raw === 'string' ? parseIsoDuration(raw) : undefined;
    if (ms === undefined || ms < min || ms > max) throw badRequest(`expirationDuration '${String(raw)}' is invalid.`);
    return ms;
  }

  private changed(userId: string): void {
    this.subscriptions.notify(
      (s) => s.target.kind === 'presence' && s.target.userIds.includes(userId),
      () => ({
        resource: `communications/presences/${userId}`,
        resourceData: { '@odata.type': '#microsoft.graph.presence', '@odata.id': `users/${userId}/presence`, id: userId },
      }),
      'updated',
      () => {
        const p = this.get(userId);
        return { '@odata.id': `users/${userId}/presence`, '@odata.type': '#microsoft.graph.presence', id: userId, availability: p.availability, activity: p.activity };
      },
    );
    this.ctx.logger.debug({ userId }, 'emulator presence changed');
  }
}

function asObject(body: unknown): Json {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('Request body must be a JSON object.');
  return body as Json;
}
