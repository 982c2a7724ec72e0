import { generate } from 'selfsigned';

/** PEM material for the emulator's HTTPS server: a private CA and a leaf certificate it signed. */
export interface EmulatorTls {
  /** The CA certificate clients must trust (msal's network client, tests, the Graph client). */
  caPem: string;
  /** The server certificate for 127.0.0.1, ::1 and localhost. */
  certPem: string;
  keyPem: string;
}

/**
 * Generates a fresh CA and a server certificate signed by it. Nothing is written to disk; a new
 * pair per emulator start means no stale trust survives a restart.
 */
export async function createEmulatorTls(): Promise<EmulatorTls> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(Date.now() + 30 * 24 * 3600_000);
  const ca = await generate([{ name: 'commonName', value: 'mediabot emulator CA' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const leaf = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  return { caPem: ca.cert, certPem: leaf.cert, keyPem: leaf.private };
}
