import type { Logger } from '../../../logger.js';
import { silentLogger } from '../../../logger.js';
import type { AsyncHook, AsyncHookItem, HookContext } from '../api.js';
import type { Transcriber, TranscriberStream } from './types.js';

export interface TranscriptionHookOptions {
  /** Queue size in items (frames of 20 ms). Default 1500 (30 s): transcription tolerates lag better than loss. */
  queueSize?: number;
  /** How long the call's stop waits for the engines' last results. Default 60 000 ms. */
  stopTimeoutMs?: number;
  logger?: Logger;
}

interface Open {
  /** null when opening failed: the source is then skipped for the rest of the call. */
  stream: TranscriberStream | null;
  failed: boolean;
}

/**
 * Runs a Transcriber as an async hook: one engine stream per source, fed that
 * source's 16 kHz tap in 20 ms frames with media timestamps, so every line is
 * attributed to its speaker by construction. Results become
 * `transcript.partial` / `transcript.final` events. A failing stream is
 * reported once (hook.error) and dropped; the other sources carry on.
 */
/** How long a transcription hook may take to flush its last results after the call's media ended (default). */
export const TRANSCRIBE_STOP_TIMEOUT_MS = 60_000;

export function createTranscriptionHook(t: Transcriber, opts: TranscriptionHookOptions = {}): AsyncHook {
  const logger = opts.logger ?? silentLogger;
  return {
    name: `transcribe-${t.name}`,
    queueSize: opts.queueSize ?? 1500,
    stopTimeoutMs: opts.stopTimeoutMs ?? TRANSCRIBE_STOP_TIMEOUT_MS,
    wantsFrames: true,
    // While the call's recording is paused no audio reaches the engine.
    keepsMedia: true,
    async run(items: AsyncIterable<AsyncHookItem>, ctx: HookContext): Promise<void> {
      const streams = new Map<string, Open>();
      const endings: Array<Promise<void>> = [];
      let lastMs = 0;

      const report = (sourceId: string, err: unknown): void => {
        const message = err instanceof Error ? err.message : String(err);
        logger.warn({ callId: ctx.callId, sourceId, err }, 'transcription stream failed');
        ctx.emit({ type: 'hook.error', callId: ctx.callId, sourceId: null, hook: `transcribe-${t.name}`, message: `${sourceId}: ${message}`, mediaTimeMs: lastMs });
      };

      const close = (sourceId: string): void => {
        const o = streams.get(sourceId);
        if (o === undefined) return;
        streams.delete(sourceId);
        if (o.stream !== null && !o.failed) endings.push(o.stream.end().catch((err: unknown) => report(sourceId, err)));
      };

      const open = (sourceId: string): Open | null => {
        try {
          const stream = t.open({ callId: ctx.callId, sourceId, sampleRate: 16000 });
          stream.onResult((r) => {
            const e = {
              type: r.final ? ('transcript.final' as const) : ('transcript.partial' as const),
              callId: ctx.callId,
              sourceId,
              text: r.text,
              startMs: r.startMs,
              endMs: r.endMs,
              mediaTimeMs: r.endMs,
            };
            ctx.emit(r.confidence === undefined ? e : { ...e, confidence: r.confidence });
          });
          const o: Open = { stream, failed: false };
          streams.set(sourceId, o);
          return o;
        } catch (err) {
          report(sourceId, err);
          streams.set(sourceId, { stream: null, failed: true });
          return null;
        }
      };

      for await (const item of items) {
        if (item.kind === 'event') {
          if (item.event.type === 'source.removed') close(item.event.sourceId);
          // A pause ends every stream (the engine flushes what it heard before); a resume opens new ones.
          if (item.event.type === 'recording.state' && item.event.state === 'paused') for (const id of [...streams.keys()]) close(id);
          continue;
        }
        lastMs = item.mediaTimeMs;
        for (const src of item.sources) {
          const o = streams.get(src.sourceId) ?? open(src.sourceId);
          if (o === null || o.failed || o.stream === null) continue;
          try {
            // The adapter copies before returning: the item's buffers are recycled on our next read.
            o.stream.write(src.pcm16, item.mediaTimeMs);
          } catch (err) {
            o.failed = true;
            report(src.sourceId, err);
            endings.push(o.stream.end().catch(() => {}));
          }
        }
      }
      for (const id of [...streams.keys()]) close(id);
      await Promise.all(endings);
    },
  };
}
