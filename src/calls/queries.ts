/** Operator queries over a call's live state: media mode, speakers, participants, analytics. */
import type { CallTable } from './call-table.js';
import type { Speakers } from './speakers.js';
import type { MediaMode, OperatorParticipant, SpeakerInfo } from './types.js';

export class CallQueries {
  constructor(
    private readonly table: CallTable,
    private readonly speakerMap: Speakers,
  ) {}

  mediaMode(callId: string): MediaMode | null {
    return this.table.find(callId)?.mode ?? null;
  }

  speakers(callId: string): SpeakerInfo[] {
    this.table.requireCall(callId);
    return [...(this.table.find(callId)?.speakers.values() ?? [])].map((s) => ({ ...s }));
  }

  /** The roster with each participant's media sources and live talk state. */
  participants(callId: string): OperatorParticipant[] {
    const call = this.table.requireCall(callId);
    const speakers = [...(this.table.find(call.id)?.speakers.values() ?? [])];
    return call.participants.map((p) => {
      const mine = speakers.filter((s) => s.participantId === p.id);
      return {
        id: p.id,
        displayName: p.displayName,
        muted: p.muted,
        inLobby: p.inLobby,
        identity: p.identityKind === null ? null : { kind: p.identityKind, id: p.identityId },
        isBot: this.speakerMap.isBot(p.identityKind, p.identityId),
        sourceIds: mine.map((s) => s.sourceId),
        talking: mine.some((s) => s.talking),
        talkMs: mine.reduce((a, s) => a + s.talkMs, 0),
        levelDbov: mine.reduce<number | null>((a, s) => (s.levelDbov === null ? a : a === null ? s.levelDbov : Math.max(a, s.levelDbov)), null),
      };
    });
  }

  /** Final analytics when the call ended, else live talk times. */
  analytics(callId: string): unknown {
    const call = this.table.requireCall(callId);
    const m = this.table.find(call.id);
    if (m?.artifacts) return { final: true, ...(m.artifacts.analytics as Record<string, unknown>), speakers: this.speakerMap.list(m) };
    return {
      final: false,
      mediaTimeMs: m?.lastMediaTimeMs ?? 0,
      dominantSpeaker: m?.dominant ?? null,
      participants: [...(m?.speakers.values() ?? [])].map((s) => ({ sourceId: s.sourceId, speaker: s.displayName, participantId: s.participantId, talkMs: s.talkMs, talking: s.talking })),
    };
  }
}
