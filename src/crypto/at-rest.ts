import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * AES-256-GCM for secrets Gatehouse must use again later (webhook signing secrets, private
 * keys): `v1.<iv>.<ciphertext>.<tag>` in base64url. The associated data binds a ciphertext to
 * the record it belongs to, so it cannot be moved to another row.
 */
export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('the master key must be 32 bytes');
  }

  seal(plaintext: string, associatedData: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(associatedData, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', iv, ciphertext, cipher.getAuthTag()].map((part) => (typeof part === 'string' ? part : part.toString('base64url'))).join('.');
  }

  open(sealed: string, associatedData: string): string {
    const [version, iv, ciphertext, tag] = sealed.split('.');
    if (version !== 'v1' || !iv || !ciphertext || !tag) throw new Error('not a sealed secret');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(associatedData, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  }
}

export function parseMasterKey(encoded: string): Buffer {
  const key = Buffer.from(encoded.trim(), 'base64');
  if (key.length !== 32) throw new Error('GATEHOUSE_MASTER_KEY must be 32 random bytes, base64-encoded (e.g. `openssl rand -base64 32`)');
  return key;
}

export interface MasterKeySource {
  key: Buffer;
  /** Set when a key was generated into the data folder (embedded mode only). */
  generatedAt?: string;
}

/**
 * The master key: from GATEHOUSE_MASTER_KEY, or in embedded mode from `<dataDir>/master.key`,
 * created (mode 0600) on first start. On PostgreSQL it must be configured: a key kept beside
 * the data it protects would protect nothing.
 */
export function resolveMasterKey(configured: string | undefined, embeddedDataDir: string | null): MasterKeySource {
  if (configured) return { key: parseMasterKey(configured) };
  if (!embeddedDataDir) {
    throw new Error('GATEHOUSE_MASTER_KEY is required with DATABASE_URL (32 random bytes, base64; e.g. `openssl rand -base64 32`)');
  }
  const file = path.join(embeddedDataDir, 'master.key');
  if (existsSync(file)) return { key: parseMasterKey(readFileSync(file, 'utf8')) };
  const key = randomBytes(32);
  writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return { key, generatedAt: file };
}
