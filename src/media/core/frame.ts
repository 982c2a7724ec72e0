/** Frame geometry shared by the whole media core. A frame is 20 ms. */
export const FRAME_MS = 20;
export const RATE_48K = 48_000;
export const RATE_16K = 16_000;
/** Samples per 20 ms frame at 48 kHz mono. */
export const SAMPLES_48K = 960;
/** Samples per 20 ms frame at 16 kHz mono. */
export const SAMPLES_16K = 320;
/** RTP clock ticks per frame for Opus (RFC 7587: the RTP clock is always 48 kHz). */
export const RTP_TICKS_PER_FRAME = 960;
