import { importJWK, type JWK } from 'jose';
import { AppError, invalid } from '../../errors/app-error.js';
import { MAX_ACCESS_TOKEN_TTL_SECONDS } from '../signing-key/signing-key.service.js';
import { checkWebhookUrl } from '../webhook/target-guard.js';

/**
 * Pure checks of OAuth client metadata, shared by the management API and dynamic client
 * registration (RFC 7591). Each takes the raw value (it may come from JSON, so `unknown`),
 * returns the normalised value, or throws BAD_USER_INPUT naming `field`.
 */

/** Grants a machine client may use. */
export const CLIENT_GRANT_TYPES = ['client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange'] as const;
export type ClientGrantType = (typeof CLIENT_GRANT_TYPES)[number];

/** Claims Gatehouse sets itself (or that mean something to token consumers): never custom. */
export const RESERVED_CLAIMS: readonly string[] = [
  'iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'client_id', 'scope', 'org_id', 'act', 'may_act', 'cnf', 'azp', 'typ',
  'auth_time', 'acr', 'amr', 'sid', 'nonce', 'token_use',
  // Members of the introspection response (RFC 7662 §2.2).
  'active', 'token_type', 'username',
  // Our own: the provenance of an exchanged token (grants/token-exchange.ts), never a client's to set.
  'gh_exchanged_from',
];

/** Algorithms a client's or trusted issuer's key may sign with. */
export const CLIENT_KEY_ALGORITHMS = ['ES256', 'ES384', 'RS256', 'PS256', 'EdDSA'] as const;
export type ClientKeyAlgorithm = (typeof CLIENT_KEY_ALGORITHMS)[number];

export const MIN_ACCESS_TOKEN_TTL_SECONDS = 60;
export const MAX_SCOPES = 100;
export const MAX_REDIRECT_URIS = 20;
export const MAX_JWKS_KEYS = 10;
const MAX_CUSTOM_CLAIMS_BYTES = 4 * 1024;
const MAX_JWKS_BYTES = 16 * 1024;
const MAX_RESOURCE_IDENTIFIER_LENGTH = 512;
const MAX_REDIRECT_URI_LENGTH = 2048;
const MIN_RSA_MODULUS_BITS = 2048;
const MAX_RSA_MODULUS_BITS = 4096;

/** RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

function stringList(values: unknown, code: string, what: string, field: string[]): string[] {
  if (!Array.isArray(values) || values.some((value) => typeof value !== 'string')) {
    throw invalid(code, `${what} must be a list of strings`, field);
  }
  return values as string[];
}

/** A list of strings, de-duplicated in the order given, of at most `max`. */
export function uniqueStringList(values: unknown, code: string, what: string, field: string[], max: number): string[] {
  const unique = [...new Set(stringList(values, code, what, field))];
  if (unique.length > max) throw invalid(code, `At most ${max} ${what.toLowerCase()}`, field);
  return unique;
}

/** Scope names (RFC 6749 scope-tokens), at most 100, de-duplicated and sorted. */
export function checkScopeList(values: unknown, field: string[]): string[] {
  const list = stringList(values, 'oauth.invalid_scope', 'Scopes', field);
  const bad = list.find((value) => !SCOPE_TOKEN.test(value));
  if (bad !== undefined) {
    throw invalid('oauth.invalid_scope', `"${bad.slice(0, 130)}" is not a scope: use 1–128 printable ASCII characters without spaces, quotes or backslashes`, field);
  }
  const unique = [...new Set(list)].sort();
  if (unique.length > MAX_SCOPES) throw invalid('oauth.invalid_scope', `At most ${MAX_SCOPES} scopes`, field);
  return unique;
}

/** A non-empty subset of CLIENT_GRANT_TYPES, de-duplicated and sorted. */
export function checkGrantTypes(values: unknown, field: string[]): ClientGrantType[] {
  const list = stringList(values, 'oauth.invalid_grant_type', 'Grant types', field);
  const unknown = list.find((value) => !(CLIENT_GRANT_TYPES as readonly string[]).includes(value));
  if (unknown !== undefined) {
    throw invalid('oauth.invalid_grant_type', `Unsupported grant type "${unknown.slice(0, 200)}"; use ${CLIENT_GRANT_TYPES.join(' or ')}`, field);
  }
  if (list.length === 0) throw invalid('oauth.invalid_grant_type', 'At least one grant type is required', field);
  return [...new Set(list as ClientGrantType[])].sort();
}

/** Access token lifetime in seconds: a whole number from 60 to MAX_ACCESS_TOKEN_TTL_SECONDS. */
export function checkAccessTokenTtl(value: unknown, field: string[]): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < MIN_ACCESS_TOKEN_TTL_SECONDS || value > MAX_ACCESS_TOKEN_TTL_SECONDS) {
    throw invalid(
      'oauth.invalid_token_ttl',
      `The access token lifetime must be a whole number of seconds from ${MIN_ACCESS_TOKEN_TTL_SECONDS} to ${MAX_ACCESS_TOKEN_TTL_SECONDS}`,
      field,
    );
  }
  return value;
}

/** Extra access token claims: a JSON object of at most 4 KiB naming no reserved claim. Null is `{}`. */
export function checkCustomClaims(value: unknown, field: string[]): Record<string, unknown> {
  if (value == null) return {};
  if (!isPlainObject(value)) throw invalid('oauth.invalid_claims', 'Custom claims must be a JSON object', field);
  if (Buffer.byteLength(JSON.stringify(value)) > MAX_CUSTOM_CLAIMS_BYTES) {
    throw invalid('oauth.invalid_claims', `Custom claims must be at most ${MAX_CUSTOM_CLAIMS_BYTES} bytes of JSON`, field);
  }
  const reserved = Object.keys(value).filter((key) => RESERVED_CLAIMS.includes(key));
  if (reserved.length) {
    throw invalid('oauth.reserved_claim', `Gatehouse sets ${reserved.map((k) => `"${k}"`).join(', ')} itself; choose other claim names`, field);
  }
  return value;
}

/** Members that only private or symmetric keys have. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];
/** Public members kept per key type; anything else (x5c, key_ops, …) is dropped. */
const PUBLIC_MEMBERS: Record<string, string[]> = {
  EC: ['crv', 'x', 'y'],
  RSA: ['n', 'e'],
  OKP: ['crv', 'x'],
};

function modulusBits(n: string): number {
  const bytes = Buffer.from(n, 'base64url');
  let start = 0;
  while (start < bytes.length && bytes[start] === 0) start += 1;
  if (start === bytes.length) return 0;
  return (bytes.length - start - 1) * 8 + (32 - Math.clz32(bytes[start]));
}

/**
 * The algorithm a public JWK verifies with: its `alg`, or the one its type implies (EC P-256 →
 * ES256, P-384 → ES384, RSA → RS256, OKP Ed25519 → EdDSA). Undefined when neither fits.
 */
export function jwkAlgorithm(jwk: Record<string, unknown>): ClientKeyAlgorithm | undefined {
  const { kty, crv, alg } = jwk;
  const fits = (candidate: unknown): candidate is ClientKeyAlgorithm => {
    if (kty === 'EC') return (crv === 'P-256' && candidate === 'ES256') || (crv === 'P-384' && candidate === 'ES384');
    if (kty === 'RSA') return candidate === 'RS256' || candidate === 'PS256';
    if (kty === 'OKP') return crv === 'Ed25519' && candidate === 'EdDSA';
    return false;
  };
  if (alg !== undefined) return fits(alg) ? alg : undefined;
  const inferred = kty === 'EC' ? (crv === 'P-256' ? 'ES256' : 'ES384') : kty === 'RSA' ? 'RS256' : 'EdDSA';
  return fits(inferred) ? inferred : undefined;
}

async function checkPublicJwk(key: unknown, index: number, field: string[]): Promise<Record<string, unknown>> {
  const fail = (message: string) => invalid('oauth.invalid_jwks', `Key ${index}: ${message}`, field);
  if (!isPlainObject(key)) throw fail('must be a JSON object');
  const { kty } = key;
  if (kty === 'oct') throw fail('symmetric keys are not accepted; give a public key');
  const privateMember = PRIVATE_MEMBERS.find((member) => member in key);
  if (privateMember) throw fail(`has the private member "${privateMember}"; give only the public key`);
  if (typeof kty !== 'string' || !(kty in PUBLIC_MEMBERS)) throw fail('kty must be EC, RSA or OKP');
  if (kty === 'EC' && key.crv !== 'P-256' && key.crv !== 'P-384') throw fail('EC keys must use the curve P-256 or P-384');
  if (kty === 'OKP' && key.crv !== 'Ed25519') throw fail('OKP keys must use the curve Ed25519');
  for (const member of PUBLIC_MEMBERS[kty]) {
    if (typeof key[member] !== 'string' || !key[member]) throw fail(`"${member}" is missing`);
  }
  if (kty === 'RSA') {
    const bits = modulusBits(key.n as string);
    if (bits < MIN_RSA_MODULUS_BITS || bits > MAX_RSA_MODULUS_BITS) throw fail(`RSA keys need a modulus of ${MIN_RSA_MODULUS_BITS}–${MAX_RSA_MODULUS_BITS} bits`);
    // A huge public exponent makes every verification hundreds of times slower.
    if (key.e !== 'AQAB') throw fail('RSA keys must use the public exponent 65537');
  }
  if (key.alg !== undefined && !(CLIENT_KEY_ALGORITHMS as readonly unknown[]).includes(key.alg)) {
    throw fail(`alg must be one of ${CLIENT_KEY_ALGORITHMS.join(', ')}`);
  }
  const algorithm = jwkAlgorithm(key);
  if (!algorithm) throw fail(`alg "${String(key.alg)}" does not fit this key`);
  if (key.use !== undefined && key.use !== 'sig') throw fail('use must be "sig"');
  if (key.kid !== undefined && (typeof key.kid !== 'string' || !key.kid || key.kid.length > 256)) throw fail('kid must be a string of 1–256 characters');
  const normalised: Record<string, unknown> = { kty };
  for (const member of PUBLIC_MEMBERS[kty]) normalised[member] = key[member];
  for (const member of ['kid', 'alg', 'use']) if (key[member] !== undefined) normalised[member] = key[member];
  try {
    await importJWK(normalised as JWK, algorithm);
  } catch {
    throw fail('is not a valid public key');
  }
  return normalised;
}

/**
 * A JWK Set of 1–10 public signing keys (EC P-256/P-384, RSA ≥ 2048 bits, Ed25519), each
 * importable, with unique `kid`s where given, at most 16 KiB. Returns the keys with only their
 * public members (plus kid, alg, use).
 */
export async function checkJwks(value: unknown, field: string[]): Promise<{ keys: Record<string, unknown>[] }> {
  if (!isPlainObject(value) || !Array.isArray(value.keys)) throw invalid('oauth.invalid_jwks', 'A JWK Set is an object with a "keys" list', field);
  if (Buffer.byteLength(JSON.stringify(value)) > MAX_JWKS_BYTES) {
    throw invalid('oauth.invalid_jwks', `A JWK Set must be at most ${MAX_JWKS_BYTES} bytes of JSON`, field);
  }
  if (value.keys.length < 1 || value.keys.length > MAX_JWKS_KEYS) {
    throw invalid('oauth.invalid_jwks', `A JWK Set holds 1–${MAX_JWKS_KEYS} keys`, field);
  }
  const keys: Record<string, unknown>[] = [];
  for (const [index, key] of value.keys.entries()) keys.push(await checkPublicJwk(key, index, field));
  const kids = keys.flatMap((key) => (key.kid === undefined ? [] : [key.kid]));
  if (new Set(kids).size !== kids.length) throw invalid('oauth.invalid_jwks', 'Key ids (kid) must be unique within the set', field);
  // Without kids a verifier cannot tell several keys apart (jose refuses to guess).
  if (keys.length > 1 && kids.length !== keys.length) throw invalid('oauth.invalid_jwks', 'Every key needs a kid when the set holds several', field);
  return { keys };
}

/**
 * A URL Gatehouse will fetch or post to (a `jwks_uri`, a back-channel logout URL), under the
 * webhooks' outbound policy: https, no private targets unless allowed. `noun` names it in the
 * error, refused with `code`.
 */
export function checkOutboundUrl(value: unknown, allowPrivate: boolean, field: string[], code: string, noun: string): string {
  if (typeof value !== 'string') throw invalid(code, `${noun} must be a URL`, field);
  try {
    return checkWebhookUrl(value, allowPrivate, field);
  } catch (error) {
    if (error instanceof AppError) throw invalid(code, error.message.replace(/^Webhook URLs/, `${noun}s`), field);
    throw error;
  }
}

/** Where to fetch a JWK Set: the webhooks' outbound policy (https, no private targets unless allowed). */
export const checkJwksUri = (value: unknown, allowPrivate: boolean, field: string[]): string =>
  checkOutboundUrl(value, allowPrivate, field, 'oauth.invalid_jwks_uri', 'JWKS URL');

export const LOOPBACK_IPS: readonly string[] = ['127.0.0.1', '[::1]'];
export const LOOPBACK_HOSTS: readonly string[] = [...LOOPBACK_IPS, 'localhost'];

/**
 * A client URI (redirect URI, web origin) as a URL: absolute, at most 2048 characters, without
 * white space, control characters, fragment, wildcard or user information; `fail` makes the error.
 */
export function parseClientUri(value: string, fail: (why: string) => Error): URL {
  if (value.length > MAX_REDIRECT_URI_LENGTH) throw fail(`is longer than ${MAX_REDIRECT_URI_LENGTH} characters`);
  if (/[\s\u0000-\u001f\u007f]/.test(value)) throw fail('must not contain white space or control characters');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw fail('is not an absolute URI');
  }
  if (value.includes('#')) throw fail('must not have a fragment');
  if (value.includes('*')) throw fail('must not contain wildcards: redirect URIs are matched exactly');
  if (url.username || url.password) throw fail('must not carry user information');
  return url;
}

/**
 * A private-use URI scheme of a native app (RFC 8252 §7.1): a reverse domain name the app
 * controls, such as `com.example.app:/callback`, so two apps are unlikely to claim the same.
 */
const PRIVATE_USE_SCHEME = /^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+$/;

/**
 * Redirect URIs: at most 20, checked by `parseClientUri`, de-duplicated in the order given.
 * - `web` (web apps, SPAs, dynamically registered clients): `https`, or `http` on a loopback
 *   host (a developer's machine);
 * - `native` (RFC 8252): `http` on a loopback IP literal (`127.0.0.1` or `[::1]`; any port is
 *   accepted when matching, §7.3), a private-use scheme named by a reverse domain (§7.1), or an
 *   `https` URL the app claims (§7.2); `localhost` is refused (§8.3).
 */
export function checkRedirectUris(values: unknown, field: string[], rule: 'web' | 'native' = 'web', what = 'Redirect URIs'): string[] {
  const unique = uniqueStringList(values, 'oauth.invalid_redirect_uri', what, field, MAX_REDIRECT_URIS);
  for (const value of unique) {
    const fail = (why: string) => invalid('oauth.invalid_redirect_uri', `"${value.slice(0, 200)}" ${why}`, field);
    const url = parseClientUri(value, fail);
    const scheme = url.protocol.slice(0, -1);
    if (scheme === 'https') continue;
    if (rule === 'native') {
      if (scheme === 'http' && !LOOPBACK_IPS.includes(url.hostname)) throw fail('must use a loopback IP literal (127.0.0.1 or [::1]) for http in a native app');
      if (scheme !== 'http' && !PRIVATE_USE_SCHEME.test(scheme)) {
        throw fail('must use https, http on a loopback IP, or a private-use scheme named by a reverse domain (com.example.app:/callback)');
      }
      continue;
    }
    if (scheme === 'http' && LOOPBACK_HOSTS.includes(url.hostname)) continue;
    throw fail('must use https (http only on 127.0.0.1, [::1] or localhost)');
  }
  return unique;
}

/** An absolute http(s) URI without fragment, at most 512 characters (RFC 8707 resource indicator), kept as given. */
export function checkResourceIdentifier(value: unknown, field: string[], code = 'resource_server.invalid_identifier'): string {
  if (typeof value !== 'string' || !value) throw invalid(code, 'Must be an absolute http or https URI', field);
  if (value.length > MAX_RESOURCE_IDENTIFIER_LENGTH) throw invalid(code, `Must be at most ${MAX_RESOURCE_IDENTIFIER_LENGTH} characters`, field);
  if (/\s/.test(value)) throw invalid(code, 'Must not contain white space', field);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(code, 'Must be an absolute http or https URI', field);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalid(code, 'Must be an absolute http or https URI', field);
  if (value.includes('#')) throw invalid(code, 'Must not have a fragment', field);
  return value;
}
