import { describe, expect, it } from 'vitest';
import { ID_PREFIXES, INTERNAL_ID_PREFIXES, isIdOf, kindOfId, newId, newInternalId, ulid } from './id.js';

describe('ids', () => {
  it('are prefixed, 26 base32 characters, and recognised by kind', () => {
    const id = newId('organization');
    expect(id).toMatch(/^org_[0-9a-hjkmnp-tv-z]{26}$/);
    expect(kindOfId(id)).toBe('organization');
    expect(isIdOf('user', id)).toBe(false);
    expect(kindOfId('org_not-an-id')).toBeUndefined();
  });

  it('of server-side state share no prefix with objects of the API, and are no node', () => {
    const prefixes = [...Object.values(ID_PREFIXES), ...Object.values(INTERNAL_ID_PREFIXES)];
    expect(new Set(prefixes).size).toBe(prefixes.length);
    const id = newInternalId('signInChallenge');
    expect(id).toMatch(/^sic_[0-9a-hjkmnp-tv-z]{26}$/);
    expect(kindOfId(id)).toBeUndefined();
  });

  it('sort by creation time across milliseconds', () => {
    const earlier = ulid(1_700_000_000_000);
    const later = ulid(1_700_000_000_001);
    expect(earlier < later).toBe(true);
    expect(ulid(0).slice(0, 10)).toBe('0000000000');
    // 2^48 - 1 ms, the largest ULID time, encodes as 7zzzzzzzzz.
    expect(ulid(2 ** 48 - 1).slice(0, 10)).toBe('7zzzzzzzzz');
  });

  it('do not repeat', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => newId('user')));
    expect(ids.size).toBe(10_000);
  });
});
