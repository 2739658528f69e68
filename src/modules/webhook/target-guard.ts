import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { invalid } from '../../errors/app-error.js';

/**
 * Addresses a webhook must not reach unless the operator allows private targets: loopback,
 * private networks, link-local (cloud metadata at 169.254.169.254), CGNAT, multicast, reserved.
 */
const PRIVATE = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) {
  PRIVATE.addSubnet(network, prefix, 'ipv4');
}
// IPv6: unspecified, loopback, IPv4-compatible, NAT64 (reaches IPv4 through a gateway), discard,
// 6to4, unique-local, link-local, site-local, multicast, IPv4-mapped.
for (const [network, prefix] of [
  ['::', 128], ['::1', 128], ['::', 96], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['100::', 64], ['2002::', 16],
  ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8], ['::ffff:0:0', 96],
] as const) {
  PRIVATE.addSubnet(network, prefix, 'ipv6');
}

export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  // IPv4-mapped IPv6 (::ffff:a.b.c.d) is judged by its IPv4 address.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return PRIVATE.check(mapped[1], 'ipv4');
  return PRIVATE.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

const MAX_URL_LENGTH = 2048;

/** Checks an endpoint URL when it is saved: http(s), no credentials, no private literal address. */
export function checkWebhookUrl(value: string, allowPrivate: boolean, field: string[]): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid('webhook.invalid_url', 'Not a valid URL', field);
  }
  if (value.length > MAX_URL_LENGTH) throw invalid('webhook.invalid_url', `URLs are at most ${MAX_URL_LENGTH} characters`, field);
  if (url.protocol !== 'https:' && !(allowPrivate && url.protocol === 'http:')) {
    throw invalid('webhook.insecure_url', 'Webhook URLs must use https', field);
  }
  if (url.username || url.password) throw invalid('webhook.invalid_url', 'Webhook URLs must not carry credentials', field);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!allowPrivate && (isIP(host) ? isPrivateAddress(host) : host === 'localhost' || host.endsWith('.localhost'))) {
    throw invalid('webhook.private_target', 'Webhook URLs must not point at private, loopback or link-local addresses', field);
  }
  return url.toString();
}

/**
 * Whether an outbound URL names a private address literally (DNS, and so `guardedLookup`, is
 * skipped for literals).
 */
export function isPrivateLiteral(url: URL, allowPrivate: boolean): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return !allowPrivate && isIP(host) !== 0 && isPrivateAddress(host);
}

/**
 * A DNS lookup for outbound requests that refuses private addresses at connection time, so a
 * name that resolves (or later re-resolves) to an internal address cannot be used to reach it.
 */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const list = addresses as LookupAddress[];
      const allowed = allowPrivate ? list : list.filter((entry) => !isPrivateAddress(entry.address));
      if (allowed.length === 0) {
        const refused = Object.assign(new Error(`${hostname} resolves only to private addresses`), { code: 'EPRIVATETARGET' });
        return callback(refused, '', 0);
      }
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, allowed);
      return callback(null, allowed[0].address, allowed[0].family);
    });
  };
}
