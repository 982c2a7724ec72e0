/**
 * Who may connect to an ingress endpoint: a set of secrets compared in constant time.
 *
 * The rules (README, "Configuration"): ACS presents MEDIABOT_API_TOKEN (`?token=` or bearer);
 * a media sidecar presents MEDIABOT_BRIDGE_TOKEN or MEDIABOT_API_TOKEN. With neither set
 * (loopback only) the bridge accepts one random per-process token, which a co-located sidecar
 * (the demo's) is handed in code, and the ACS endpoint is open, like the open operator API.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export class TokenSet {
  private readonly digests: Buffer[];

  constructor(tokens: readonly string[]) {
    this.digests = tokens.filter((t) => typeof t === 'string' && t.length > 0).map(digest);
  }

  /** No tokens: the endpoint does not check any. */
  get empty(): boolean {
    return this.digests.length === 0;
  }

  /** True when `presented` equals one of the tokens. Same-length digests, every one compared. */
  matches(presented: string | null | undefined): boolean {
    if (typeof presented !== 'string') return false;
    const d = digest(presented);
    let ok = false;
    for (const t of this.digests) ok = timingSafeEqual(d, t) || ok;
    return ok;
  }
}

/** The token ACS put in its transport URL (`?token=`) or its `Authorization: Bearer` header. */
export function presentedToken(req: { headers: { authorization?: string | undefined }; url: string }): string | null {
  const fromQuery = new URL(req.url, 'http://x').searchParams.get('token');
  if (fromQuery !== null) return fromQuery;
  const auth = req.headers.authorization;
  return typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7) : null;
}

/** The tokens each endpoint accepts, from the two configured secrets (the rules above). */
export function ingressTokens(o: { apiToken?: string | undefined; bridgeToken?: string | undefined }): { acs: string[]; bridge: string[] } {
  const bridge = [o.bridgeToken, o.apiToken].filter((t): t is string => t !== undefined && t.length > 0);
  return {
    acs: o.apiToken !== undefined && o.apiToken.length > 0 ? [o.apiToken] : [],
    bridge: bridge.length > 0 ? bridge : [randomBytes(24).toString('base64url')],
  };
}
