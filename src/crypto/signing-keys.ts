import { createHash, createPrivateKey, sign, type KeyObject } from 'node:crypto';
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


/** The private key as a node:crypto KeyObject, for `signCompact`. */
export function openPrivateKeyObject(box: SecretBox, id: string, sealed: string): KeyObject {
  return createPrivateKey({ key: JSON.parse(box.open(sealed, keyAad(id))) as JWK & Record<string, string>, format: 'jwk' });
}

/** How node:crypto computes each algorithm's JWS signature (RFC 7518 §3, RFC 8037). */
const NODE_SIGNING: Record<SigningAlgorithm, { digest: string | null; dsaEncoding?: 'ieee-p1363' }> = {
  ES256: { digest: 'sha256', dsaEncoding: 'ieee-p1363' },
  RS256: { digest: 'sha256' },
  EdDSA: { digest: null },
};

/**
 * A compact JWS (RFC 7515 §7.1) signed with node:crypto. Access tokens are the hot path and
 * jose signs only through WebCrypto, whose job dispatch costs ~140 µs of the event loop per
 * signature under load against ~35 µs here (measured; see the closing note of issue 4). Only
 * signing of our own tokens goes this way, from inputs we build; everything that reads a JWT
 * (assertions, subject tokens, the tests' resource servers) verifies with jose.
 */
export function signCompact(header: Record<string, unknown>, payload: Record<string, unknown>, key: KeyObject, algorithm: SigningAlgorithm): string {
  const input = `${Buffer.from(JSON.stringify({ ...header, alg: algorithm })).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  const { digest, dsaEncoding } = NODE_SIGNING[algorithm];
  const signature = sign(digest, Buffer.from(input), dsaEncoding ? { key, dsaEncoding } : key);
  return `${input}.${signature.toString('base64url')}`;
}

export async function importPublicKey(jwk: JWK, algorithm: SigningAlgorithm): Promise<CryptoKey> {
  return (await importJWK(jwk, algorithm)) as CryptoKey;
}

/** A short fingerprint of a JWK Set, for audit payloads (the keys are public, but long). */
export function jwksFingerprint(jwks: unknown): string {
  return createHash('sha256').update(JSON.stringify(jwks)).digest('base64url').slice(0, 16);
}
