import { randomFillSync } from 'node:crypto';

/**
 * Prefixed, time-sortable, opaque identifiers: `org_01jd…`. The same string is the primary
 * key and the GraphQL `ID`, and its prefix lets `node(id:)` find the type without a lookup.
 */
export const ID_PREFIXES = {
  workspace: 'wks',
  environment: 'env',
  apiKey: 'key',
  organization: 'org',
  domain: 'dom',
  user: 'usr',
  membership: 'mem',
  role: 'rol',
  permission: 'prm',
  customAttribute: 'cad',
  auditEvent: 'evt',
  webhookEndpoint: 'whk',
  webhookDelivery: 'wdl',
  serviceAccount: 'sva',
  application: 'app',
  clientSecret: 'cls',
  signingKey: 'sgk',
  resourceServer: 'rsv',
  trustedIssuer: 'tis',
  outboxMessage: 'msg',
  session: 'ses',
  consent: 'cns',
  ssoConnection: 'con',
  ssoTrace: 'trc',
  spKey: 'spk',
  socialConnection: 'soc',
  directory: 'dir',
  directoryUser: 'dus',
  directoryGroup: 'dgr',
} as const;

/**
 * Prefixes of ids that name server-side state, never an object of the API (`node(id:)` does not
 * serve them): they appear in hosted pages' forms and links, where the prefix says what they are.
 */
export const INTERNAL_ID_PREFIXES = {
  signInChallenge: 'sic',
  signInFlow: 'flw',
  pushedRequest: 'par',
  authorizationCode: 'acd',
  refreshToken: 'rft',
  logoutNotice: 'lgn',
  samlRequest: 'sar',
  oidcRequest: 'oir',
  ssoIdentity: 'ssi',
  socialIdentity: 'sci',
  directoryRequestError: 'dre',
} as const;

export type InternalIdKind = keyof typeof INTERNAL_ID_PREFIXES;

export type IdKind = keyof typeof ID_PREFIXES;

/** Crockford's base32, lower-case (no i, l, o, u): the ULID alphabet. */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

// Random bytes are drawn in blocks: one syscall per 256 ids instead of one per character.
const pool = Buffer.alloc(10 * 256);
let poolOffset = pool.length;

/**
 * A ULID in lower case: 48 bits of millisecond time (10 characters, so ids sort by creation)
 * then 80 random bits (16 characters).
 */
export function ulid(now = Date.now()): string {
  let time = '';
  for (let i = 0, t = now; i < 10; i += 1, t = Math.floor(t / 32)) time = ALPHABET[t % 32] + time;
  if (poolOffset + 10 > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  let random = '';
  // 80 bits = 16 groups of 5 bits, taken from 10 bytes two at a time (5 bytes → 8 characters).
  for (let half = 0; half < 2; half += 1) {
    let bits = 0n;
    for (let b = 0; b < 5; b += 1) bits = (bits << 8n) | BigInt(pool[poolOffset++]);
    for (let c = 7; c >= 0; c -= 1) random += ALPHABET[Number((bits >> BigInt(c * 5)) & 31n)];
  }
  return time + random;
}

export function newId(kind: IdKind): string {
  return `${ID_PREFIXES[kind]}_${ulid()}`;
}

export function newInternalId(kind: InternalIdKind): string {
  return `${INTERNAL_ID_PREFIXES[kind]}_${ulid()}`;
}

const ID_SHAPE = /^([a-z]{3})_[0-9a-hjkmnp-tv-z]{26}$/;

/** The kind an id names, or undefined for anything that is not one of ours. */
export function kindOfId(id: string): IdKind | undefined {
  const match = ID_SHAPE.exec(id);
  if (!match) return undefined;
  return (Object.keys(ID_PREFIXES) as IdKind[]).find((kind) => ID_PREFIXES[kind] === match[1]);
}

export function isIdOf(kind: IdKind, id: string): boolean {
  return kindOfId(id) === kind;
}
