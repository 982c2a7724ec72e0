/** A call's transcript as the operator API serves it: JSON lines with speakers, or WebVTT. */
import { transcriptToJson, transcriptToWebVtt, type TranscriptLine } from '../media/hooks/export.js';
import type { CallTable } from './call-table.js';
import type { Speakers } from './speakers.js';

export class Transcripts {
  constructor(
    private readonly table: CallTable,
    private readonly speakers: Speakers,
  ) {}

  json(callId: string): { callId: string; lines: Array<TranscriptLine & { speaker: string | null }> } {
    const call = this.table.requireCall(callId);
    const m = this.table.find(call.id);
    const lines = m ? transcriptToJson(call.id, m.transcript).lines : [];
    return { callId: call.id, lines: lines.map((l) => ({ ...l, speaker: this.speakers.label(m, l.sourceId) })) };
  }

  vtt(callId: string): string {
    const call = this.table.requireCall(callId);
    const m = this.table.find(call.id);
    return transcriptToWebVtt(m?.transcript ?? [], { speakerLabel: (id) => this.speakers.label(m, id) ?? id });
  }
}
