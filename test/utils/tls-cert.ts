import { generate } from 'selfsigned';

/** A self-signed certificate for 127.0.0.1 (and `localhost`), generated for one test run. */
export interface TestCertificate {
  key: string;
  cert: string;
}

/** Generates a fresh 2048-bit certificate whose SAN holds IP 127.0.0.1, so pinning it via `ca` passes full verification. */
export async function generateCertificate(): Promise<TestCertificate> {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  } as Parameters<typeof generate>[1]);
  return { key: pems.private, cert: pems.cert };
}
