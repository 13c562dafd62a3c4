/** A certificate and key for serving the local host over HTTPS. */
export interface LocalCertificate {
  readonly key: string;
  readonly cert: string;
}

/**
 * A self-signed certificate for localhost and 127.0.0.1. Clients trust it by pinning it as their
 * CA (the Graph SDK test does, through an undici Agent): nothing disables TLS checks.
 */
export async function createLocalCertificate(): Promise<LocalCertificate> {
  // selfsigned is a dev dependency: only the local host ever needs a certificate of its own.
  const { generate } = require('selfsigned') as typeof import('selfsigned');
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: false },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  } as never);
  return { key: pems.private, cert: pems.cert };
}
