import { expect, it } from 'vitest';
import { addressKey } from '../../src/auth/failed-auth-limiter.js';

it('budgets IPv4 addresses one by one and IPv6 addresses by /64', () => {
  expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
  expect(addressKey('2001:db8:a:b:c:d:e:f')).toBe('2001:db8:a:b::/64');
  expect(addressKey('2001:db8:a:b::1')).toBe(addressKey('2001:db8:a:b:ffff:1:2:3'));
  expect(addressKey('2001:db8:a:c::1')).not.toBe(addressKey('2001:db8:a:b::1'));
  expect(addressKey('::ffff:192.0.2.1')).toBe('::ffff:192.0.2.1');
  expect(addressKey(null)).toBe('unknown');
});
