/** What the emulator's call modules share: result infos, tone names, and readers of request JSON. */
import { badRequest } from './graph-error.js';
import type { Json, ResultInfo } from './state.js';

export const TONES = new Set(['tone0', 'tone1', 'tone2', 'tone3', 'tone4', 'tone5', 'tone6', 'tone7', 'tone8', 'tone9', 'star', 'pound', 'a', 'b', 'c', 'd', 'flash']);
export const SUCCESS: ResultInfo = { code: 200, subcode: 0, message: 'Action completed successfully.' };
export const CANCELED: ResultInfo = { code: 400, subcode: 8508, message: 'Action failed, the operation was cancelled.' };

/** A simulated person's timeline in a call, exposed for transcript scoring. */
export interface CallScriptEntry {
  participantId: string | undefined;
  name: string;
  voice: string;
  joinMs: number;
  leaveMs: number;
  utterances: { text: string; startMs: number; endMs: number }[];
}

export function obj(v: unknown): Json | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
}

export function odataName(v: unknown): string | undefined {
  const t = obj(v)?.['@odata.type'];
  return typeof t === 'string' ? t.replace(/^#?microsoft\.graph\./i, '').toLowerCase() : undefined;
}

export function clientContextOf(body: Json): string | null {
  const c = body['clientContext'];
  if (c === undefined || c === null) return null;
  if (typeof c !== 'string' || c.length > 256) throw badRequest('clientContext must be a string of at most 256 characters.');
  return c;
}

export function firstIdentity(set: unknown): { kind: string; id: string | undefined; displayName: string | undefined } | undefined {
  const s = obj(set);
  if (!s) return undefined;
  for (const [k, v] of Object.entries(s)) {
    const o = obj(v);
    if (k === '@odata.type' || !o) continue;
    return { kind: k, id: typeof o['id'] === 'string' ? o['id'] : undefined, displayName: typeof o['displayName'] === 'string' ? o['displayName'] : undefined };
  }
  return undefined;
}
