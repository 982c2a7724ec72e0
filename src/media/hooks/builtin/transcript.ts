import { transcriptToJson, transcriptToWebVtt, type TranscriptDocument, type TranscriptLine, type VttOptions } from '../export.js';
import type { HookContext, InlineHook, MediaEvent } from '../api.js';

export interface TranscriptHook extends InlineHook {
  lines(): TranscriptLine[];
  toJSON(): TranscriptDocument;
  toWebVtt(opts?: VttOptions): string;
}

/**
 * Collects `transcript.final` events (from whichever transcriber runs) into
 * lines attributed to their speaker. It does nothing per tick.
 */
export function createTranscriptHook(opts: { onStop?: (doc: TranscriptDocument) => void } = {}): TranscriptHook {
  const collected: TranscriptLine[] = [];
  let callId: string | null = null;
  const hook: TranscriptHook = {
    name: 'transcript',
    start(ctx: HookContext) {
      callId = ctx.callId;
    },
    onFrame() {},
    onEvent(e: MediaEvent) {
      if (e.type !== 'transcript.final' || e.text.trim() === '') return;
      const line: TranscriptLine = { sourceId: e.sourceId, startMs: e.startMs, endMs: e.endMs, text: e.text };
      if (e.confidence !== undefined) line.confidence = e.confidence;
      collected.push(line);
    },
    stop() {
      opts.onStop?.(hook.toJSON());
    },
    lines: () => transcriptToJson(callId, collected).lines,
    toJSON: () => transcriptToJson(callId, collected),
    toWebVtt: (o?: VttOptions) => transcriptToWebVtt(collected, o),
  };
  return hook;
}
