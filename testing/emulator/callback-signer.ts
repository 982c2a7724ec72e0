import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type CryptoKey } from 'jose';

/** Issuer of the tokens on Graph's calling notifications (the Bot Framework channel). */
export const CALLBACK_ISSUER = 'https://api.botframework.com';

/**
 * Signs the bearer JWT on every notification the emulator posts to a callbackUri, like Graph's
 * calling service does: RS256, iss https://api.botframework.com, aud = the bot's client id, tid.
 */
export class CallbackSigner {
  private constructor(
    private readonly privateKey: CryptoKey,
    readonly publicJwk: JWK,
    readonly kid: string,
  ) {}

  static async create(): Promise<CallbackSigner> {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const kid = randomUUID().replace(/-/g, '');
    const jwk = await exportJWK(publicKey);
    return new CallbackSigner(privateKey, { ...jwk, kid, use: 'sig', alg: 'RS256' }, kid);
  }

  jwks(): { keys: JWK[] } {
    return { keys: [this.publicJwk] };
  }

  /** A token valid for one hour, backdated 5 s so a receiver's clock slightly behind still accepts it. */
  async sign(audience: string, tenantId: string): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ tid: tenantId })
      .setProtectedHeader({ alg: 'RS256', kid: this.kid, typ: 'JWT' })
      .setIssuer(CALLBACK_ISSUER)
      .setAudience(audience)
      .setIssuedAt(now - 5)
      .setNotBefore(now - 5)
      .setExpirationTime(now + 3600)
      .sign(this.privateKey);
  }
}
