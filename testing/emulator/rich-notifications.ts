import { X509Certificate, constants, createCipheriv, createHash, createHmac, publicEncrypt, randomBytes } from 'node:crypto';
import { badRequest } from './graph-error.js';

/** Graph's change-tracking application id: the `azp` of validation tokens on rich notifications. */
export const CHANGE_TRACKING_APP_ID = '0bf30f3b-4a52-48df-9a82-234910c4a086';

/** Parses a subscription's encryptionCertificate (base64 DER as Graph requires, or PEM); it must hold an RSA key. */
export function parseEncryptionCertificate(raw: string): X509Certificate {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(raw.includes('-----BEGIN') ? raw : Buffer.from(raw, 'base64'));
  } catch {
    throw badRequest('encryptionCertificate must be a base64-encoded X.509 certificate.', 'InvalidRequest');
  }
  if (cert.publicKey.asymmetricKeyType !== 'rsa') throw badRequest('encryptionCertificate must carry an RSA public key.', 'InvalidRequest');
  return cert;
}

/**
 * encryptedContent as Graph builds it for rich notifications: a fresh AES-256 key encrypts the
 * resource JSON (CBC, PKCS7, IV = the key's first 16 bytes), the key itself is encrypted with the
 * subscriber's certificate (RSA-OAEP, SHA-1), and an HMAC-SHA256 of the ciphertext signs it.
 */
export function encryptResourceData(cert: X509Certificate, certificateId: string | null, resource: unknown): Record<string, string | null> {
  const key = randomBytes(32);
  const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
  const data = Buffer.concat([cipher.update(JSON.stringify(resource), 'utf8'), cipher.final()]);
  const dataKey = publicEncrypt({ key: cert.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, key);
  return {
    data: data.toString('base64'),
    dataSignature: createHmac('sha256', key).update(data).digest('base64'),
    dataKey: dataKey.toString('base64'),
    encryptionCertificateId: certificateId,
    encryptionCertificateThumbprint: createHash('sha1').update(cert.raw).digest('hex').toUpperCase(),
  };
}
