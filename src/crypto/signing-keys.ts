import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { SecretBox } from './at-rest.js';

export const SIGNING_ALGORITHMS = ['ES256', 'RS256', 'EdDSA'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

export interface GeneratedKey {
  kid: string;
  publicJwk: JWK;
  privateJwk: JWK;
}

/** A fresh key pair; its id is the RFC 7638 thumbprint of the public key. */
export async function generateSigningKey(algorithm: SigningAlgorithm): Promise<GeneratedKey> {
  const pair = await generateKeyPair(algorithm, {
    extractable: true,
    ...(algorithm === 'RS256' ? { modulusLength: 2048 } : {}),
    ...(algorithm === 'EdDSA' ? { crv: 'Ed25519' } : {}),
  });
  const publicJwk = await exportJWK(pair.publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  return {
    kid,
    publicJwk: { ...publicJwk, kid, alg: algorithm, use: 'sig' },
    privateJwk: { ...(await exportJWK(pair.privateKey)), kid, alg: algorithm },
  };
}

/** The associated data that binds a sealed private key to its row. */
const keyAad = (id: string) => `signing_key:${id}`;

export function sealPrivateKey(box: SecretBox, id: string, privateJwk: JWK): string {
  return box.seal(JSON.stringify(privateJwk), keyAad(id));
}

export async function openPrivateKey(box: SecretBox, id: string, sealed: string, algorithm: SigningAlgorithm): Promise<CryptoKey> {
  return (await importJWK(JSON.parse(box.open(sealed, keyAad(id))) as JWK, algorithm)) as CryptoKey;
}

export async function importPublicKey(jwk: JWK, algorithm: SigningAlgorithm): Promise<CryptoKey> {
  return (await importJWK(jwk, algorithm)) as CryptoKey;
}

/** A short fingerprint of a JWK Set, for audit payloads (the keys are public, but long). */
export function jwksFingerprint(jwks: unknown): string {
  return createHash('sha256').update(JSON.stringify(jwks)).digest('base64url').slice(0, 16);
}
