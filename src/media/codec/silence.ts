/**
 * Packets that need no decode to be known silent. A 20 ms Opus frame of a few bytes carries no
 * audio: one or two bytes is a DTX frame or an empty one (RFC 6716 §3.2.1: a TOC byte and no
 * frame data, which libopus turns into concealment or comfort noise), and an RFC 6464 audio level
 * of 127 (−127 dBov) without the voice flag is the sender saying "digital silence".
 */

/** Opus payloads this short carry no coded audio. */
export const OPUS_SILENT_MAX_BYTES = 2;
/** RFC 6464: 127 means −127 dBov, the floor of the scale. */
export const SILENT_LEVEL = 127;

/** Whether an Opus payload is a DTX or empty frame. */
export function isSilentOpusPayload(payload: Uint8Array): boolean {
  return payload.length <= OPUS_SILENT_MAX_BYTES;
}

/** Whether an RFC 6464 level (`level` is −dBov, 0–127) says the packet is silent. */
export function isSilentLevel(voice: boolean, level: number): boolean {
  return !voice && level >= SILENT_LEVEL;
}
