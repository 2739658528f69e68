import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A random token of `bytes` (≥ 32, i.e. 256 bits) in base64url. */
export function randomToken(bytes = 32): string {
  if (bytes < 32) throw new RangeError('secrets need at least 256 bits');
  return randomBytes(bytes).toString('base64url');
}

/**
 * SHA-256 of a high-entropy secret, hex. Slow password hashes buy nothing for 256-bit random
 * secrets, and a fast hash lets the lookup be an indexed equality.
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Whether `presented` hashes to `storedHash` (from hashSecret), compared in constant time. */
export function secretMatchesHash(storedHash: string | null, presented: string | null | undefined): boolean {
  if (!storedHash || presented == null) return false;
  const stored = Buffer.from(storedHash, 'hex');
  const given = Buffer.from(hashSecret(presented), 'hex');
  return stored.length === given.length && timingSafeEqual(stored, given);
}
