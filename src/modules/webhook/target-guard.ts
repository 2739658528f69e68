import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { invalid } from '../../errors/app-error.js';

/** A BlockList of one address family only. */
function blockList(family: 'ipv4' | 'ipv6', subnets: readonly (readonly [string, number])[]): BlockList {
  const list = new BlockList();
  for (const [network, prefix] of subnets) list.addSubnet(network, prefix, family);
  return list;
}

/**
 * IPv4 addresses a webhook must not reach unless the operator allows private targets: this
 * network, private networks, CGNAT, loopback, link-local (cloud metadata at 169.254.169.254),
 * IETF protocol assignments, the 6to4 relay anycast, benchmarking, documentation, multicast,
 * reserved and broadcast (in 240/4).
 *
 * IPv4 and IPv6 are two lists checked separately: one BlockList holding both applies its IPv6
 * rules to IPv4 addresses too (it checks an IPv4 address as its IPv4-mapped IPv6 form), so a
 * `::ffff:0:0/96` rule there made every IPv4 address private.
 */
const PRIVATE_IPV4 = blockList('ipv4', [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15],
  ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
]);

/**
 * IPv6 addresses refused outright: unspecified, loopback, IPv4-compatible, IPv4-translated
 * (SIIT), NAT64 (well-known and local-use: a gateway reaches any IPv4 address, internal ones
 * included, so every embedded address is refused), discard, Teredo and 6to4 (tunnels to IPv4
 * hosts), documentation, unique-local, link-local, site-local, multicast. IPv4-mapped addresses
 * (`::ffff:0:0/96`) are not here: they are judged by the IPv4 address they carry.
 */
const PRIVATE_IPV6 = blockList('ipv6', [
  ['::', 128], ['::1', 128], ['::', 96], ['::ffff:0:0:0', 96], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['100::', 64],
  ['2001::', 32], ['2001:db8::', 32], ['2002::', 16], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
]);

/** The eight 16-bit groups of a valid IPv6 address, in any notation (`::` compression, dotted tail, zone). */
function ipv6Groups(address: string): number[] {
  let text = address.split('%')[0];
  // A dotted IPv4 tail (`::ffff:10.0.0.1`) is two groups written differently.
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number);
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const groupsOf = (part: string | undefined) => (part ? part.split(':') : []);
  const gap = tail === undefined ? 0 : 8 - groupsOf(head).length - groupsOf(tail).length;
  return [...groupsOf(head), ...Array<string>(gap).fill('0'), ...groupsOf(tail)].map((group) => parseInt(group, 16));
}

/**
 * The IPv4 address an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, also written `::ffff:7f00:1`)
 * stands for: a socket to it is a socket to that IPv4 address. Null for any other address.
 */
export function mappedIpv4(address: string): string | null {
  const groups = ipv6Groups(address);
  if (groups.slice(0, 5).some((group) => group !== 0) || groups[5] !== 0xffff) return null;
  return [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff].join('.');
}

/** Whether an address is one a webhook or JWKS fetch must not reach; anything but an IP address is. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return PRIVATE_IPV4.check(address, 'ipv4');
  if (family !== 6) return true;
  const mapped = mappedIpv4(address);
  if (mapped !== null) return PRIVATE_IPV4.check(mapped, 'ipv4');
  return PRIVATE_IPV6.check(address.split('%')[0], 'ipv6');
}

const MAX_URL_LENGTH = 2048;

/** The host of a URL as an address or name: no IPv6 brackets, no trailing root dot (`localhost.`). */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '');
}

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
  const host = hostOf(url);
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
  const host = hostOf(url);
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
