/** Speech shipped pre-rendered with mediabot (assets/speech): the demo's people and prompts play without espeak-ng. */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The cache and asset name of one rendered sentence. */
export function speechKey(voice: string, text: string): string {
  return createHash('sha256').update(`v1|${voice}|155|${text}`).digest('hex').slice(0, 24);
}

/** Pre-rendered speech shipped with mediabot (assets/speech), so the demo runs without espeak-ng. */
export function speechAssetPath(key: string): string | null {
  for (const rel of ['../../../assets/speech', '../../../../assets/speech']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    const file = join(dir, `${key}.opus`);
    if (existsSync(file)) return file;
  }
  return null;
}

