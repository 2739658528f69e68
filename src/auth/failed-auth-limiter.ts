import { isIPv6 } from 'node:net';
import { RateBudget } from './rate-budget.js';

/**
 * The budget key of a client address: IPv4 as is, IPv6 by /64 (one host usually holds a whole
 * /64, so per-address budgets would be free to multiply).
 */
export function addressKey(ip: string | null | undefined): string {
  if (!ip) return 'unknown';
  if (!isIPv6(ip) || ip.startsWith('::ffff:')) return ip;
  const [head, tail = ''] = ip.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((group) => parseInt(group || '0', 16).toString(16)).join(':')}::/64`;
}

/**
 * Bounds failed authentications per client IP. Every failure is audited, and an audit row is
 * a write an anonymous caller could otherwise make at will: past the budget the caller gets
 * 429 and nothing is written. Counted per process (with N processes the budget is N times
 * larger), which bounds the write rate all the same.
 */
export class FailedAuthLimiter extends RateBudget {
  /** Counts one failure; returns 0 while within the budget, else the seconds until it refills. */
  recordFailure(key: string): Promise<number> {
    return this.take(key);
  }
}
