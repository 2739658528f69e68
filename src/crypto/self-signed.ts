import { createHash, generateKeyPair, randomBytes, webcrypto } from 'node:crypto';
import { promisify } from 'node:util';
import * as x509 from '@peculiar/x509';

/** A private key (PKCS#8 PEM) and a self-signed certificate (PEM) around its public key. */
export interface SelfSignedKey {
  privateKey: string;
  certificate: string;
  /** SHA-256 of the certificate's DER, colon-separated upper-case hex (as `X509Certificate.fingerprint256`). */
  fingerprint: string;
  notAfter: Date;
}

const RSA_SHA256 = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;

const pemOf = (label: string, der: Buffer) => `-----BEGIN ${label}-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;

/**
 * A new RSA-2048 key and a self-signed SHA-256 certificate for it, as SAML peers exchange them
 * (in metadata, where only the public key matters): `usage` says what the key is for.
 */
export async function selfSignedKey(commonName: string, options: { days: number; usage: 'signing' | 'encryption' }, now = new Date()): Promise<SelfSignedKey> {
  const { privateKey, publicKey } = await promisify(generateKeyPair)('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
    publicKeyEncoding: { type: 'spki', format: 'der' },
  });
  const subtle = webcrypto.subtle;
  const keys = {
    privateKey: await subtle.importKey('pkcs8', privateKey, RSA_SHA256, false, ['sign']),
    publicKey: await subtle.importKey('spki', publicKey, RSA_SHA256, true, ['verify']),
  };
  const serial = randomBytes(16);
  serial[0]! &= 0x7f; // RFC 5280 §4.1.2.2: positive
  const notAfter = new Date(now.getTime() + options.days * 86_400_000);
  const usage = options.usage === 'signing' ? x509.KeyUsageFlags.digitalSignature : x509.KeyUsageFlags.keyEncipherment;
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serial.toString('hex'),
      name: `CN=${commonName.replace(/[,+="\\<>;#]/g, ' ')}`,
      notBefore: new Date(now.getTime() - 60_000),
      notAfter,
      signingAlgorithm: RSA_SHA256,
      keys: keys as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'],
      extensions: [new x509.KeyUsagesExtension(usage, true)],
    },
    webcrypto as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[1],
  );
  const der = Buffer.from(certificate.rawData);
  const fingerprint = createHash('sha256').update(der).digest('hex').toUpperCase().match(/.{2}/g)!.join(':');
  return { privateKey: pemOf('PRIVATE KEY', privateKey), certificate: certificate.toString('pem'), fingerprint, notAfter: new Date(Math.floor(notAfter.getTime() / 1000) * 1000) };
}
