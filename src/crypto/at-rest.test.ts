import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretBox } from './at-rest.js';

describe('SecretBox', () => {
  const box = new SecretBox(randomBytes(32));

  it('round-trips, with a fresh IV each time', () => {
    const a = box.seal('whsec_secret', 'whk_1');
    const b = box.seal('whsec_secret', 'whk_1');
    expect(a).not.toBe(b);
    expect(a).not.toContain('whsec_secret');
    expect(box.open(a, 'whk_1')).toBe('whsec_secret');
  });

  it('refuses a ciphertext moved to another record, altered, or opened with another key', () => {
    const sealed = box.seal('whsec_secret', 'whk_1');
    expect(() => box.open(sealed, 'whk_2')).toThrow();
    const [v, iv, ct, tag] = sealed.split('.');
    const flipped = Buffer.from(ct, 'base64url');
    flipped[0] ^= 1;
    expect(() => box.open([v, iv, flipped.toString('base64url'), tag].join('.'), 'whk_1')).toThrow();
    expect(() => new SecretBox(randomBytes(32)).open(sealed, 'whk_1')).toThrow();
  });
});
