/**
 * A call's live media state, gathered from bus events: its sources (new ones are given a
 * speaker), who talks and for how long, levels, the dominant speaker and final transcript lines.
 */
import type { MediabotEvent } from '../events/bus.js';
import type { CallTable } from './call-table.js';
import type { Speakers } from './speakers.js';

export function trackLiveState(table: CallTable, speakers: Speakers): (e: MediabotEvent) => void {
  return (e) => {
    if (!('callId' in e) || typeof e.callId !== 'string') return;
    const m = table.find(e.callId);
    if (!m) return;
    if ('mediaTimeMs' in e && typeof e.mediaTimeMs === 'number' && e.mediaTimeMs > m.lastMediaTimeMs) m.lastMediaTimeMs = e.mediaTimeMs;
    switch (e.type) {
      case 'source.added': {
        if (!m.speakers.has(e.sourceId)) {
          const prompt = m.promptSources.has(e.sourceId);
          m.speakers.set(e.sourceId, { sourceId: e.sourceId, participantId: null, displayName: prompt ? 'mediabot (prompt)' : null, prompt, talking: false, talkMs: 0, levelDbov: null });
          speakers.map(m.callId, true);
        }
        return;
      }
      case 'talk.start': {
        const s = m.speakers.get(e.sourceId);
        if (s) s.talking = true;
        return;
      }
      case 'talk.stop': {
        const s = m.speakers.get(e.sourceId);
        if (s) {
          s.talking = false;
          s.talkMs += e.durationMs;
        }
        return;
      }
      case 'speaker.dominant':
        m.dominant = e.sourceId;
        return;
      case 'level':
        for (const [id, db] of Object.entries(e.levels)) {
          const s = m.speakers.get(id);
          if (s) s.levelDbov = db;
        }
        return;
      case 'transcript.final':
        if (e.text.trim() !== '') m.transcript.push({ sourceId: e.sourceId, startMs: e.startMs, endMs: e.endMs, text: e.text, ...(e.confidence !== undefined ? { confidence: e.confidence } : {}) });
        return;
      default:
        return;
    }
  };
}
