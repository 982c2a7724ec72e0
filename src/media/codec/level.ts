import { native } from './native.js';

/** Level of a frame in dBov: -127 (digital silence) .. 0 (full-scale square wave). */
export function frameLevelDbov(pcm: Int16Array): number {
  if (native) return native.levelCentiDbov(pcm) / 100;
  let sum = 0;
  for (let i = 0; i < pcm.length; i++) {
    const s = pcm[i]!;
    sum += s * s;
  }
  if (sum === 0) return -127;
  const db = 10 * Math.log10(sum / pcm.length / (32768 * 32768));
  return db < -127 ? -127 : db;
}
