/** Turning call and participant ids into safe file names under the recordings folder. */

const MAX_SEGMENT = 100;

/** One path segment from an arbitrary id: only [A-Za-z0-9._-], no leading dot, never empty, bounded length. */
export function sanitizeSegment(id: string): string {
  let s = id.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, (dots) => '_'.repeat(dots.length));
  if (s.length > MAX_SEGMENT) s = s.slice(0, MAX_SEGMENT);
  return s === '' ? '_' : s;
}

/**
 * A relative path (without extension) made safe: split on '/' or '\', each part
 * sanitised, empty parts dropped, so the result can never leave the base folder.
 */
export function sanitizeRelativePath(p: string): string {
  const parts = p
    .split(/[\\/]+/)
    .filter((x) => x !== '' && x !== '.' && x !== '..')
    .map(sanitizeSegment);
  return parts.length === 0 ? '_' : parts.join('/');
}

/** Default layout: `<callId>/<sourceId>` and `<callId>/mix`. */
export function defaultRecordingName(callId: string, sourceId: string): string {
  return `${sanitizeSegment(callId)}/${sanitizeSegment(sourceId)}`;
}
