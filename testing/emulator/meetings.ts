import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import type { EmulatorContext } from './context.js';
import { badRequest } from './graph-error.js';
import { DEFAULT_SCRIPT, type SpeakerScript } from './speech.js';
import type { EmuMeeting, Json } from './state.js';

export interface CreateMeetingInput {
  subject?: string;
  startDateTime?: string;
  endDateTime?: string;
  organizerId?: string;
  organizerName?: string;
  externalId?: string;
  /** Graph's meetingParticipants input (attendees...), stored as given. */
  participants?: Json;
  passcodeRequired?: boolean;
  /** How many simulated people (default 3, up to the default script's size) or their full scripts. */
  people?: number | SpeakerScript[];
  /** End bot calls in this meeting once every simulated person has left (default true). */
  endWhenEmpty?: boolean;
  isBroadcast?: boolean;
  /** Use this chat thread id instead of a generated one (joining a thread the emulator has not seen). */
  threadId?: string;
  /** Use this join meeting id instead of a generated one. */
  joinMeetingId?: string;
  /** The organizer's tenant (default the emulator's home tenant); the join URL carries it as Tid. */
  tenantId?: string;
  /** Hold bots that join in the lobby until admitted (POST /_emulator/calls/{id}/admit); default false. */
  lobby?: boolean;
}

/** onlineMeeting properties a PATCH may change (the rest are read-only or not emulated). */
const UPDATABLE = new Set(['subject', 'startDateTime', 'endDateTime', 'participants', 'lobbyBypassSettings', 'allowedPresenters', 'isEntryExitAnnounced', 'allowMeetingChat', 'allowTeamworkReactions', 'recordAutomatically', 'allowAttendeeToEnableCamera', 'allowAttendeeToEnableMic', 'allowRecording', 'allowTranscription']);

export const DEFAULT_PEOPLE = 3;

/** Online meetings and the simulated people in them, indexed every way Graph looks them up. */
export class MeetingStore {
  private readonly byId = new Map<string, EmuMeeting>();

  constructor(private readonly ctx: EmulatorContext) {}

  all(): EmuMeeting[] {
    return [...this.byId.values()];
  }

  /** PATCH: changes the updatable properties; anything else is Graph's 400. */
  update(m: EmuMeeting, body: unknown): EmuMeeting {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('Request body must be an onlineMeeting object.');
    const changes = body as Json;
    for (const k of Object.keys(changes)) if (!UPDATABLE.has(k) && k !== '@odata.type') throw badRequest(`Property '${k}' is read-only or cannot be updated.`);
    const next: Json = { ...m.resource };
    for (const [k, v] of Object.entries(changes)) if (k !== '@odata.type') next[k] = k === 'participants' ? { ...(m.resource['participants'] as Json), ...(v as Json) } : v;
    const start = Date.parse(String(next['startDateTime']));
    const end = Date.parse(String(next['endDateTime']));
    if (Number.isNaN(start) || Number.isNaN(end)) throw badRequest('startDateTime and endDateTime must be date-times.');
    if (end < start) throw badRequest('endDateTime must not be before startDateTime.');
    m.resource = next;
    return m;
  }

  delete(id: string): boolean {
    return this.byId.delete(id);
  }

  get(id: string): EmuMeeting | undefined {
    return this.byId.get(id);
  }

  findByThread(threadId: string): EmuMeeting | undefined {
    return this.all().find((m) => m.threadId === threadId);
  }

  findByJoinMeetingId(joinMeetingId: string): EmuMeeting | undefined {
    return this.all().find((m) => m.joinMeetingId === joinMeetingId);
  }

  findByJoinWebUrl(url: string): EmuMeeting | undefined {
    const norm = (u: string): string => {
      try {
        return decodeURIComponent(u).toLowerCase();
      } catch {
        return u.toLowerCase();
      }
    };
    const want = norm(url);
    return this.all().find((m) => norm(m.joinWebUrl) === want);
  }

  findByVtcId(vtc: string): EmuMeeting | undefined {
    return this.all().find((m) => m.videoTeleconferenceId === vtc);
  }

  findByExternalId(organizerId: string, externalId: string): EmuMeeting | undefined {
    return this.all().find((m) => m.organizerId === organizerId && m.externalId === externalId);
  }

  create(input: CreateMeetingInput): EmuMeeting {
    const people = resolvePeople(input.people);
    const now = new Date();
    const start = parseDate(input.startDateTime, 'startDateTime') ?? now;
    const end = parseDate(input.endDateTime, 'endDateTime') ?? new Date(start.getTime() + 3600_000);
    if (end.getTime() < start.getTime()) throw badRequest('endDateTime must not be before startDateTime.');
    const organizerId = input.organizerId ?? randomUUID();
    const organizerName = input.organizerName ?? 'Meeting Organizer';
    const threadId = input.threadId ?? `19:meeting_${randomBytes(36).toString('base64url').slice(0, 48)}@thread.v2`;
    const tenantId = input.tenantId ?? this.ctx.tenantId;
    const context = JSON.stringify({ Tid: tenantId, Oid: organizerId });
    const joinWebUrl = `https://teams.microsoft.com/l/meetup-join/${encodeURIComponent(threadId)}/0?context=${encodeURIComponent(context)}`;
    const id = Buffer.from(`1*${organizerId}*0**${threadId}`).toString('base64url');
    const joinMeetingId = input.joinMeetingId ?? String(randomInt(100_000_000, 999_999_999)) + String(randomInt(100, 999));
    const passcode = input.passcodeRequired ? randomBytes(4).toString('hex').slice(0, 6) : null;
    const vtc = String(randomInt(100_000_000, 999_999_999));
    const given = input.participants ?? {};
    const meeting: EmuMeeting = {
      id,
      threadId,
      joinMeetingId,
      passcode,
      videoTeleconferenceId: vtc,
      joinWebUrl,
      organizerId,
      organizerName,
      tenantId,
      externalId: input.externalId ?? null,
      people,
      endWhenEmpty: input.endWhenEmpty ?? true,
      lobby: input.lobby ?? false,
      resource: {
        creationDateTime: now.toISOString(),
        startDateTime: start.toISOString(),
        endDateTime: end.toISOString(),
        subject: input.subject ?? null,
        isBroadcast: input.isBroadcast ?? false,
        autoAdmittedUsers: 'EveryoneInCompany',
        isEntryExitAnnounced: true,
        allowedPresenters: 'everyone',
        allowMeetingChat: 'enabled',
        allowTeamworkReactions: true,
        participants: {
          organizer: {
            upn: `${organizerName.toLowerCase().replace(/[^a-z]+/g, '.')}@contoso.example`,
            role: 'presenter',
            identity: { user: { id: organizerId, displayName: organizerName, tenantId, identityProvider: 'AAD' } },
          },
          attendees: Array.isArray(given['attendees']) ? given['attendees'].map(normalizeAttendee) : [],
          producers: [],
          contributors: [],
        },
        // A lobby meeting lets only its organizer in directly: everyone else, bots included, waits.
        lobbyBypassSettings: { scope: input.lobby ? 'organizer' : 'organization', isDialInBypassEnabled: false },
        audioConferencing: {
          conferenceId: String(randomInt(10_000_000, 99_999_999)),
          tollNumber: '+1 555-010-0100',
          tollFreeNumber: '+1 555-010-0199',
          dialinUrl: `https://dialin.teams.microsoft.com/${randomUUID()}?id=${vtc}`,
        },
      },
    };
    this.byId.set(id, meeting);
    this.ctx.logger.info({ meetingId: id, people: people.map((p) => p.name) }, 'emulator meeting created');
    return meeting;
  }
}

/** An attendee as Graph returns it; the emulator's "directory" names users it does not know. */
function normalizeAttendee(a: unknown): Json {
  const src = typeof a === 'object' && a !== null ? (a as Json) : {};
  const identity = typeof src['identity'] === 'object' && src['identity'] !== null ? { ...(src['identity'] as Json) } : {};
  const user = identity['user'];
  if (typeof user === 'object' && user !== null) {
    const u = user as Json;
    identity['user'] = { ...u, displayName: u['displayName'] ?? `User ${String(u['id'] ?? '').slice(0, 8)}` };
  }
  return { upn: src['upn'] ?? null, role: src['role'] ?? 'attendee', identity };
}

function parseDate(v: string | undefined, name: string): Date | undefined {
  if (v === undefined) return undefined;
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw badRequest(`${name} is not a valid date-time.`);
  return d;
}

function resolvePeople(spec: number | SpeakerScript[] | undefined): SpeakerScript[] {
  if (Array.isArray(spec)) {
    for (const p of spec) {
      if (typeof p?.name !== 'string' || typeof p.voice !== 'string' || !/^[a-z0-9+_-]+$/i.test(p.voice) || !Array.isArray(p.sentences) || !p.sentences.every((s) => typeof s === 'string' && s.length > 0 && s.length < 500)) {
        throw badRequest('people must be a list of {name, voice, sentences[]}.');
      }
    }
    return spec.map((p) => ({ name: p.name, voice: p.voice, sentences: [...p.sentences] }));
  }
  const n = spec ?? DEFAULT_PEOPLE;
  if (!Number.isInteger(n) || n < 0 || n > DEFAULT_SCRIPT.length) throw badRequest(`people must be an integer 0..${DEFAULT_SCRIPT.length}.`);
  return DEFAULT_SCRIPT.slice(0, n).map((p) => ({ name: p.name, voice: p.voice, sentences: [...p.sentences] }));
}
