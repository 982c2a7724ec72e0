/**
 * Signed, expiring links to a call's files. A browser's <audio> element and download links cannot
 * send the API's bearer token, so the history hands out `?expires=&sig=` links (HMAC-SHA256 over the
 * path and expiry) that the file routes outside /v1 accept instead. The key is derived from the API
 * token (links survive a restart and work on every instance sharing it), or random without one.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { MediabotError } from '../errors.js';

import type { SignedLink } from '../calls/history.js';

export type { SignedLink };

export class FileLinks {
  private readonly key: Buffer;

  constructor(
    apiToken: string | undefined,
    private readonly ttlS = 3600,
    private readonly now: () => number = Date.now,
  ) {
    this.key = apiToken ? createHmac('sha256', apiToken).update('mediabot file links v1').digest() : randomBytes(32);
  }

  private mac(path: string, expires: number): string {
    return createHmac('sha256', this.key).update(`${expires}\n${path}`).digest('base64url');
  }

  /** `path` (already URL-encoded) with `expires` (unix seconds) and `sig`. */
  sign(path: string): SignedLink {
    const expires = Math.floor(this.now() / 1000) + this.ttlS;
    return { url: `${path}?expires=${expires}&sig=${this.mac(path, expires)}`, expiresAt: new Date(expires * 1000).toISOString() };
  }

  /** Throws MEDIABOT_LINK_EXPIRED unless `sig` signs `path` and `expires` is still ahead. */
  verify(path: string, expires: number | undefined, sig: string | undefined): void {
    const refuse = (why: string): MediabotError => new MediabotError('MEDIABOT_LINK_EXPIRED', `this file link ${why}; reload the call's page for a fresh one`);
    if (expires === undefined || sig === undefined || !Number.isSafeInteger(expires)) throw refuse('is incomplete');
    const want = Buffer.from(this.mac(path, expires));
    const got = Buffer.from(sig);
    if (want.length !== got.length || !timingSafeEqual(want, got)) throw refuse('is not valid');
    if (expires * 1000 < this.now()) throw refuse('has expired');
  }
}
