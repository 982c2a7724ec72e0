/**
 * Events as they leave the worker (the events WebSocket): no absolute file paths, no tool output.
 * `hook.error` messages keep what failed and drop why in detail (a transcriber's stderr, an errno
 * with a path): the full message is logged where the error happened and once more by the worker.
 * Recording and artifact events name files, not paths (the operator API serves them by name).
 */
import { basename } from 'node:path';
import { publicMessage } from './redact.js';

/** Source ids, and mediabot's own one-word prefixes (`disabled`), before the first `: `. */
const PREFIX = /^[A-Za-z0-9_.:-]+$/;

/**
 * A hook error's message for the public stream: its first line, paths and secrets removed, and
 * only the clause that says what failed: `<source>: <what failed>` or `<what failed>`, without the
 * `: <cause>` that follows (where tool stderr and errno text go).
 */
export function publicHookMessage(message: string): string {
  const parts = publicMessage(message).split(': ');
  const keep = parts.length > 1 && PREFIX.test(parts[0]!) ? 2 : 1;
  return parts.slice(0, keep).join(': ');
}

type Ev = { type: string } & Record<string, unknown>;

/** The public form of one live event (a copy when something changed; the same object otherwise). */
export function publicEvent<T extends { type: string }>(event: T): T {
  const e = event as unknown as Ev;
  switch (e.type) {
    case 'hook.error':
      return typeof e['message'] === 'string' ? ({ ...e, message: publicHookMessage(e['message']) } as unknown as T) : event;
    case 'recording.file':
      return typeof e['path'] === 'string' ? ({ ...e, path: basename(e['path']) } as unknown as T) : event;
    case 'call.artifacts':
      return { ...e, dir: typeof e['dir'] === 'string' ? basename(e['dir']) : e['dir'], files: Array.isArray(e['files']) ? e['files'].map((f) => (typeof f === 'string' ? basename(f) : f)) : e['files'] } as unknown as T;
    case 'call.meetingArtifacts':
      return { ...e, files: Array.isArray(e['files']) ? e['files'].map((f) => (typeof f === 'string' ? basename(f) : f)) : e['files'] } as unknown as T;
    default:
      return event;
  }
}
