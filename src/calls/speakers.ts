/**
 * Speakers: which roster participant is behind each media source of a call. Teams reports a
 * participant's audio source ids (MSIs) in the roster; a media sidecar may report them itself
 * (bridge sourceMap); peers that report neither get the remote participants in order of joining.
 */
import type { SpeakerRef, WorkerEvent } from '../events/live.js';
import type { CallNotification } from '../signaling/notifications.js';
import type { CallRegistry } from '../signaling/registry.js';
import type { CallTable } from './call-table.js';
import type { CallMedia } from './types.js';

export interface SpeakersOptions {
  registry: CallRegistry;
  table: CallTable;
  /** The app's client id: the bot's own roster entry is left out of the mapping. */
  clientId: string;
  emit: (e: WorkerEvent) => void;
}

const key = (id: string): string => id.toLowerCase();

export class Speakers {
  /** participant id → the audio source ids the roster gave for it, per call. */
  private readonly rosterSources = new Map<string, Map<string, string[]>>();
  /** Participant ids in order of first appearance, per call. */
  private readonly joinOrder = new Map<string, string[]>();

  constructor(private readonly o: SpeakersOptions) {}

  isBot(kind: string | null, id: string | null): boolean {
    return (kind === 'application' || kind === 'applicationInstance') && id !== null && id.toLowerCase() === this.o.clientId.toLowerCase();
  }

  label(m: CallMedia | undefined, sourceId: string): string | null {
    return m?.speakers.get(sourceId)?.displayName ?? null;
  }

  list(m: CallMedia): SpeakerRef[] {
    return [...m.speakers.values()].map((s) => ({ sourceId: s.sourceId, participantId: s.participantId, displayName: s.displayName, prompt: s.prompt }));
  }

  /** A roster update: remembers each remote participant's audio sources and order of joining. */
  onNotification(item: CallNotification): void {
    if (item.kind !== 'roster' || item.callId === null) return;
    const k = key(item.callId);
    const sources = this.rosterSources.get(k) ?? new Map<string, string[]>();
    const order = this.joinOrder.get(k) ?? [];
    for (const p of item.participants) {
      if (p.id === null || item.changeType === 'deleted') continue;
      if (this.isBot(p.identity?.kind ?? null, p.identity?.id ?? null)) continue;
      if (!order.includes(p.id)) order.push(p.id);
      const audio = p.mediaStreams.filter((s) => s.mediaType === 'audio' && s.sourceId !== null).map((s) => s.sourceId!);
      sources.set(p.id, audio);
    }
    this.rosterSources.set(k, sources);
    this.joinOrder.set(k, order);
    this.map(item.callId);
  }

  /** The media sidecar said which roster participant each media source (MSI) of a call is. */
  onSourceMap(m: CallMedia, entries: Array<{ sourceId: string; participantId: string; displayName: string | null }>): void {
    for (const e of entries) m.sourceMap.set(e.sourceId, { participantId: e.participantId, displayName: e.displayName });
    this.map(m.callId, true);
  }

  /**
   * Gives each RTP source a roster participant: the one whose audio media stream has this SSRC as
   * its sourceId (as Teams reports MSIs), else, for peers that do not report it, the next remote
   * participant in order of joining that has no source yet (sources appear in the same order).
   */
  map(callId: string, force = false): void {
    const m = this.o.table.find(callId);
    if (!m) return;
    const call = this.o.registry.get(callId);
    const names = new Map((call?.participants ?? []).map((p) => [p.id, p.displayName] as const));
    const rosterSources = this.rosterSources.get(key(callId)) ?? new Map<string, string[]>();
    const order = this.joinOrder.get(key(callId)) ?? [];
    let changed = force;
    const taken = new Set([...m.speakers.values()].map((s) => s.participantId).filter((x): x is string => x !== null));
    for (const s of m.speakers.values()) {
      if (s.participantId !== null || s.prompt) continue;
      const ssrc = /^(?:ssrc|msi)-(\d+)$/.exec(s.sourceId)?.[1];
      let pid: string | undefined = m.sourceMap.get(s.sourceId)?.participantId;
      if (pid === undefined && ssrc !== undefined) for (const [p, ids] of rosterSources) if (ids.includes(ssrc)) pid = p;
      // Sidecar sources (MSIs) are named by its sourceMap or the roster, never guessed by join order.
      if (pid === undefined && s.sourceId.startsWith('msi-')) continue;
      pid ??= order.find((p) => !taken.has(p) && !(rosterSources.get(p) ?? []).some((id) => [...m.speakers.keys()].includes(`ssrc-${id}`)));
      if (pid === undefined) continue;
      s.participantId = pid;
      taken.add(pid);
      changed = true;
    }
    for (const s of m.speakers.values()) {
      if (s.participantId === null) continue;
      const name = names.get(s.participantId) ?? m.sourceMap.get(s.sourceId)?.displayName ?? null;
      if (name !== null && name !== s.displayName) {
        s.displayName = name;
        changed = true;
      }
    }
    if (changed) this.o.emit({ type: 'call.speakers', callId: m.callId, speakers: this.list(m), at: new Date().toISOString() });
  }

  /** Forgets the roster of an ended call. */
  forget(callId: string): void {
    this.rosterSources.delete(key(callId));
    this.joinOrder.delete(key(callId));
  }
}
