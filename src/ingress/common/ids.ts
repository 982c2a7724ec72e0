/**
 * Ids that come from outside (ACS `x-ms-call-connection-id` and `?callId=`, the bridge's call and
 * sidecar ids) name calls, events and folders, so they are held to one strict pattern: a letter or
 * digit, then up to 127 letters, digits, `_`, `.`, `:` or `-`, and never `..`. Graph and ACS call
 * ids (GUIDs) and the ids mediabot makes all fit.
 */
export const EXTERNAL_ID_PATTERN = '^(?!.*\\.\\.)[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$';
const ID = new RegExp(EXTERNAL_ID_PATTERN);

export function isExternalId(id: string): boolean {
  return ID.test(id);
}
