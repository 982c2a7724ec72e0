/** Object keys of a call's files: `<prefix>/calls/<callId>/<file>`, recordings under `recordings/`. */
import { extname } from 'node:path';

/** A call id as one key segment (the same characters a local folder name keeps). */
export function callSegment(callId: string): string {
  return callId.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/** Where every call's objects are: `<prefix>/calls/`. */
export function callsKeyPrefix(prefix: string): string {
  return `${prefix !== '' ? `${prefix}/` : ''}calls/`;
}

export function callKeyPrefix(prefix: string, callId: string): string {
  return `${callsKeyPrefix(prefix)}${callSegment(callId)}/`;
}

export function artifactKey(prefix: string, callId: string, file: string): string {
  return `${callKeyPrefix(prefix, callId)}${file}`;
}

export function recordingKey(prefix: string, callId: string, file: string): string {
  return `${callKeyPrefix(prefix, callId)}recordings/${file}`;
}

const TYPES: Record<string, string> = {
  '.json': 'application/json',
  '.vtt': 'text/vtt; charset=utf-8',
  '.opus': 'audio/ogg',
  '.ogg': 'audio/ogg',
  '.wav': 'audio/wav',
};

export function contentTypeOf(file: string): string {
  return TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}
