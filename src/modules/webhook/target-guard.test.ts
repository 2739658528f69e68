import type { LookupAddress } from 'node:dns';
import { beforeEach, describe, expect, it, vi } from 'vitest';

// DNS answers are set per test: nothing here resolves a real name or opens a socket.
const dns = vi.hoisted(() => ({ answer: [] as LookupAddress[] }));
vi.mock('node:dns', async (importOriginal) => ({
  ...(await importOriginal<typeof import('node:dns')>()),
  lookup: (_host: string, _options: unknown, callback: (error: null, addresses: LookupAddress[]) => void) =>
    queueMicrotask(() => callback(null, dns.answer)),
}));

const { checkWebhookUrl, guardedLookup, isPrivateAddress, isPrivateLiteral, mappedIpv4 } = await import('./target-guard.js');

const PUBLIC_IPV4 = ['8.8.8.8', '1.1.1.1', '93.184.216.34', '9.255.255.255', '11.0.0.0', '100.63.255.255', '100.128.0.0', '172.15.255.255', '172.32.0.0', '192.0.1.0', '192.167.255.255', '198.17.255.255', '198.20.0.0', '223.255.255.255'];

/** Every private or reserved IPv4 range, by its first, an inner and its last address. */
const PRIVATE_IPV4: [range: string, addresses: string[]][] = [
  ['0.0.0.0/8 (this network)', ['0.0.0.0', '0.1.2.3', '0.255.255.255']],
  ['10.0.0.0/8 (private)', ['10.0.0.0', '10.1.2.3', '10.255.255.255']],
  ['100.64.0.0/10 (CGNAT)', ['100.64.0.0', '100.100.100.200', '100.127.255.255']],
  ['127.0.0.0/8 (loopback)', ['127.0.0.0', '127.0.0.1', '127.255.255.255']],
  ['169.254.0.0/16 (link-local, cloud metadata)', ['169.254.0.0', '169.254.169.254', '169.254.255.255']],
  ['172.16.0.0/12 (private)', ['172.16.0.0', '172.20.1.1', '172.31.255.255']],
  ['192.0.0.0/24 (IETF protocol assignments)', ['192.0.0.0', '192.0.0.8', '192.0.0.255']],
  ['192.0.2.0/24 (TEST-NET-1)', ['192.0.2.0', '192.0.2.1', '192.0.2.255']],
  ['192.88.99.0/24 (6to4 relay anycast)', ['192.88.99.0', '192.88.99.1', '192.88.99.255']],
  ['192.168.0.0/16 (private)', ['192.168.0.0', '192.168.1.1', '192.168.255.255']],
  ['198.18.0.0/15 (benchmarking)', ['198.18.0.0', '198.19.1.1', '198.19.255.255']],
  ['198.51.100.0/24 (TEST-NET-2)', ['198.51.100.0', '198.51.100.7', '198.51.100.255']],
  ['203.0.113.0/24 (TEST-NET-3)', ['203.0.113.0', '203.0.113.9', '203.0.113.255']],
  ['224.0.0.0/4 (multicast)', ['224.0.0.0', '239.1.2.3', '239.255.255.255']],
  ['240.0.0.0/4 (reserved)', ['240.0.0.0', '250.1.2.3', '255.255.255.254']],
  ['255.255.255.255 (broadcast)', ['255.255.255.255']],
];

const PUBLIC_IPV6 = ['2001:4860:4860::8888', '2606:4700:4700::1111', '2a00:1450:4001:82b::200e', '::ffff:8.8.8.8', '::ffff:808:808', '::FFFF:5DB8:D822'];

const PRIVATE_IPV6: [what: string, addresses: string[]][] = [
  ['unspecified', ['::', '0:0:0:0:0:0:0:0']],
  ['loopback', ['::1', '0:0:0:0:0:0:0:1']],
  ['unique-local fc00::/7', ['fc00::', 'fd12:3456:789a::1', 'fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff']],
  ['link-local fe80::/10', ['fe80::', 'fe80::1', 'fe80::1%eth0', 'febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff']],
  ['site-local fec0::/10', ['fec0::1']],
  ['multicast ff00::/8', ['ff00::', 'ff02::1', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff']],
  ['IPv4-mapped private, dotted', ['::ffff:127.0.0.1', '::ffff:10.0.0.1', '::ffff:169.254.169.254', '::ffff:192.168.1.1', '::ffff:0.0.0.0', '0:0:0:0:0:ffff:172.16.0.1']],
  ['IPv4-mapped private, hex', ['::ffff:7f00:1', '::ffff:a00:1', '::ffff:a9fe:a9fe', '::FFFF:C0A8:101', '::ffff:0:0', '0:0:0:0:0:ffff:ac10:1']],
  ['IPv4-compatible (deprecated), any embedded address', ['::127.0.0.1', '::7f00:1', '::8.8.8.8', '::808:808']],
  ['IPv4-translated (SIIT)', ['::ffff:0:7f00:1', '::ffff:0:808:808']],
  ['NAT64 64:ff9b::/96 with a private IPv4 inside', ['64:ff9b::127.0.0.1', '64:ff9b::a00:1', '64:ff9b::a9fe:a9fe']],
  // Kept from before: a NAT64 gateway may sit inside the network, so no embedded address is trusted.
  ['NAT64 64:ff9b::/96 with a public IPv4 inside', ['64:ff9b::8.8.8.8', '64:ff9b::808:808']],
  ['local-use NAT64 64:ff9b:1::/48', ['64:ff9b:1::a00:1']],
  ['discard 100::/64', ['100::1']],
  ['Teredo 2001::/32', ['2001:0:4136:e378:8000:63bf:3fff:fdd2']],
  ['documentation 2001:db8::/32', ['2001:db8::1']],
  ['6to4 2002::/16, any embedded address', ['2002:7f00:1::1', '2002:a00:1::', '2002:808:808::1']],
];

describe('isPrivateAddress', () => {
  it.each(PUBLIC_IPV4)('lets public IPv4 %s through', (address) => {
    expect(isPrivateAddress(address)).toBe(false);
  });

  for (const [range, addresses] of PRIVATE_IPV4) {
    it.each(addresses)(`refuses ${range}: %s`, (address) => {
      expect(isPrivateAddress(address)).toBe(true);
    });
  }

  it.each(PUBLIC_IPV6)('lets public IPv6 %s through', (address) => {
    expect(isPrivateAddress(address)).toBe(false);
  });

  for (const [what, addresses] of PRIVATE_IPV6) {
    it.each(addresses)(`refuses ${what}: %s`, (address) => {
      expect(isPrivateAddress(address)).toBe(true);
    });
  }

  it.each(['', 'localhost', 'example.com', '1.2.3', '::ffff:1.2.3.256', 'not an address'])('refuses what is not an IP address: %j', (value) => {
    expect(isPrivateAddress(value)).toBe(true);
  });
});

describe('mappedIpv4', () => {
  it.each([
    ['::ffff:7f00:1', '127.0.0.1'],
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['0:0:0:0:0:ffff:808:808', '8.8.8.8'],
    ['::ffff:0:0', '0.0.0.0'],
    ['::FFFF:FFFF:FFFF', '255.255.255.255'],
  ])('reads the IPv4 address inside %s', (address, ipv4) => {
    expect(mappedIpv4(address)).toBe(ipv4);
  });

  it.each(['::1', '::7f00:1', '::ffff:0:7f00:1', '64:ff9b::7f00:1', '1::ffff:7f00:1', '2001:4860:4860::8888'])('finds none in %s', (address) => {
    expect(mappedIpv4(address)).toBeNull();
  });
});

describe('checkWebhookUrl and isPrivateLiteral', () => {
  it.each([
    'https://8.8.8.8/hook',
    'https://93.184.216.34:8443/hook',
    'https://[2001:4860:4860::8888]/hook',
    'https://[::ffff:8.8.8.8]/hook',
    'https://hooks.example.com/in',
  ])('accept a public target by default: %s', (url) => {
    expect(() => checkWebhookUrl(url, false, ['url'])).not.toThrow();
    expect(isPrivateLiteral(new URL(url), false)).toBe(false);
  });

  it.each([
    'https://127.0.0.1/hook',
    'https://10.0.0.8/hook',
    'https://0x7f.1/hook',
    'https://2130706433/hook',
    'https://[::1]/hook',
    'https://[::ffff:127.0.0.1]/hook',
    'https://[::ffff:7f00:1]/hook',
    'https://[::ffff:a9fe:a9fe]/latest/meta-data',
    'https://[64:ff9b::10.0.0.1]/hook',
    'https://[fd00::1]/hook',
  ])('refuse a private literal: %s', (url) => {
    expect(() => checkWebhookUrl(url, false, ['url'])).toThrow(expect.objectContaining({ code: 'webhook.private_target' }));
    expect(isPrivateLiteral(new URL(url), false)).toBe(true);
    expect(isPrivateLiteral(new URL(url), true)).toBe(false);
  });

  it.each(['https://localhost/hook', 'https://localhost./hook', 'https://api.localhost/hook'])('refuse a localhost name: %s', (url) => {
    expect(() => checkWebhookUrl(url, false, ['url'])).toThrow(expect.objectContaining({ code: 'webhook.private_target' }));
  });
});

describe('guardedLookup', () => {
  const resolve = (allowPrivate: boolean, all: boolean) =>
    new Promise<{ error: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number }>((done) =>
      guardedLookup(allowPrivate)('hooks.example.com', { all }, (error, address, family) => done({ error, address, family })),
    );

  beforeEach(() => {
    dns.answer = [];
  });

  it('connects to the public addresses of a name, IPv4 and IPv6 alike, and never to its private ones', async () => {
    dns.answer = [
      { address: '10.0.0.7', family: 4 },
      { address: '93.184.216.34', family: 4 },
      { address: '::ffff:7f00:1', family: 6 },
      { address: '2606:2800:220:1:248:1893:25c8:1946', family: 6 },
    ];
    expect(await resolve(false, false)).toEqual({ error: null, address: '93.184.216.34', family: 4 });
    expect(await resolve(false, true)).toMatchObject({
      error: null,
      address: [
        { address: '93.184.216.34', family: 4 },
        { address: '2606:2800:220:1:248:1893:25c8:1946', family: 6 },
      ],
    });
  });

  it('refuses a name that resolves only to private addresses, unless they are allowed', async () => {
    dns.answer = [
      { address: '169.254.169.254', family: 4 },
      { address: '::ffff:a9fe:a9fe', family: 6 },
    ];
    expect((await resolve(false, false)).error).toMatchObject({ code: 'EPRIVATETARGET' });
    expect(await resolve(true, false)).toEqual({ error: null, address: '169.254.169.254', family: 4 });
  });
});
