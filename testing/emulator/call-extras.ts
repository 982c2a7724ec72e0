/**
 * What a call carries beside its state and roster: audioRoutingGroups (application-hosted media),
 * contentSharingSessions (someone shares a screen; the bot hears about it when it asked with
 * callOptions.isContentSharingNotificationEnabled) and logTeleconferenceDeviceQuality reports.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { odataType } from './builders.js';
import type { CallCore } from './call-core.js';
import { obj } from './call-support.js';
import { badRequest, conflict, notFound } from './graph-error.js';
import type { EmuCall, Json } from './state.js';

const MAX_QUALITY_REPORTS = 100;

export class CallExtras {
  /** Reports received by logTeleconferenceDeviceQuality (newest last). */
  readonly deviceQuality: Json[] = [];

  constructor(private readonly core: CallCore) {}

  // audioRoutingGroups ------------------------------------------------------------------------

  private checkGroup(call: EmuCall, body: unknown, id: string): Json {
    const b = obj(body);
    if (!b) throw badRequest('Request body must be an audioRoutingGroup object.');
    const mode = b['routingMode'];
    if (mode !== 'oneToOne' && mode !== 'multicast') throw badRequest('routingMode must be oneToOne or multicast.');
    const ids = (k: string): string[] => {
      const v = b[k];
      if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'string')) throw badRequest(`${k} must be a non-empty list of participant ids.`);
      for (const pid of v as string[]) if (!call.participants.has(pid)) throw badRequest(`Participant '${pid}' is not in the call.`);
      return v as string[];
    };
    const sources = ids('sources');
    const receivers = ids('receivers');
    if (mode === 'oneToOne' && sources.length !== 1) throw badRequest('A oneToOne group has exactly one source.');
    return { '@odata.type': odataType('audioRoutingGroup'), id, routingMode: mode, sources, receivers };
  }

  private requireAppHosted(call: EmuCall): void {
    this.core.requireEstablished(call);
    if (!call.appHostedMedia) throw badRequest('audioRoutingGroups are only supported for calls with application-hosted media.');
  }

  createGroup(call: EmuCall, body: unknown): Json {
    this.requireAppHosted(call);
    const given = obj(body)?.['id'];
    const id = typeof given === 'string' && given.length > 0 ? given : randomUUID();
    if (call.audioRoutingGroups.has(id)) throw conflict(`An audioRoutingGroup '${id}' already exists.`);
    const g = this.checkGroup(call, body, id);
    call.audioRoutingGroups.set(id, g);
    return g;
  }

  group(call: EmuCall, id: string): Json {
    const g = call.audioRoutingGroups.get(id);
    if (!g) throw notFound(`audioRoutingGroup '${id}' not found.`);
    return g;
  }

  updateGroup(call: EmuCall, id: string, body: unknown): Json {
    this.requireAppHosted(call);
    const g = { ...this.group(call, id), ...obj(body) };
    const next = this.checkGroup(call, g, id);
    call.audioRoutingGroups.set(id, next);
    return next;
  }

  deleteGroup(call: EmuCall, id: string): void {
    this.group(call, id);
    call.audioRoutingGroups.delete(id);
  }

  // contentSharingSessions --------------------------------------------------------------------

  private notifyEnabled(call: EmuCall): boolean {
    return obj(call.request['callOptions'])?.['isContentSharingNotificationEnabled'] === true;
  }

  /** A simulated participant starts sharing: a session appears (and a created notification, if asked for). */
  startSharing(call: EmuCall): string {
    this.core.requireEstablished(call);
    const id = randomBytes(32).toString('hex').toUpperCase();
    const session = { '@odata.type': odataType('contentSharingSession'), id };
    call.contentSharingSessions.set(id, session);
    if (this.notifyEnabled(call)) this.core.notify.contentSharing(call, 'created', `/communications/calls/${call.id}/contentsharingsessions`, [session]);
    return id;
  }

  /** The sharing stops: the session goes (and a deleted notification, if asked for). */
  stopSharing(call: EmuCall, id: string): boolean {
    if (!call.contentSharingSessions.delete(id)) return false;
    if (this.notifyEnabled(call)) this.core.notify.contentSharing(call, 'deleted', `/communications/calls/${call.id}/contentsharingsessions/${id}`, undefined);
    return true;
  }

  session(call: EmuCall, id: string): Json {
    const s = call.contentSharingSessions.get(id);
    if (!s) throw notFound(`contentSharingSession '${id}' not found.`);
    return s;
  }

  // logTeleconferenceDeviceQuality ------------------------------------------------------------

  logDeviceQuality(body: unknown): void {
    const q = obj(obj(body)?.['quality']);
    if (!q) throw badRequest('quality (a teleconferenceDeviceQuality) is required.');
    for (const k of ['callChainId', 'mediaLegId', 'deviceName']) {
      if (typeof q[k] !== 'string' || (q[k] as string).length === 0) throw badRequest(`quality.${k} is required.`);
    }
    const list = q['mediaQualityList'];
    if (!Array.isArray(list) || list.length === 0 || !list.every((m) => typeof obj(m)?.['@odata.type'] === 'string')) {
      throw badRequest('quality.mediaQualityList must be a non-empty list of typed teleconferenceDeviceMediaQuality.');
    }
    this.deviceQuality.push(q);
    while (this.deviceQuality.length > MAX_QUALITY_REPORTS) this.deviceQuality.shift();
  }
}
