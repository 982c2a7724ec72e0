/**
 * The Ogg page checksum (RFC 3533 section 6): CRC-32 with the generator
 * polynomial 0x04c11db7, initial value 0, no bit reflection and no final XOR.
 * Note this is *not* the zlib CRC-32 (that one is reflected and inverted).
 */

const POLY = 0x04c11db7;

/** One entry per byte value: the CRC of that byte shifted to the top of the register. */
const TABLE: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let b = 0; b < 8; b++) r = r & 0x80000000 ? (r << 1) ^ POLY : r << 1;
    t[i] = r >>> 0;
  }
  return t;
})();

/** CRC of `bytes[start, end)`, continuing from `crc` (0 for a fresh checksum). */
export function oggCrc32(bytes: Uint8Array, start = 0, end = bytes.length, crc = 0): number {
  let r = crc >>> 0;
  for (let i = start; i < end; i++) {
    r = ((r << 8) ^ TABLE[((r >>> 24) ^ bytes[i]!) & 0xff]!) >>> 0;
  }
  return r;
}
