import { errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { signCompact } from '../../crypto/signing-keys.js';
import { ulid } from '../../db/id.js';
import type { EnvironmentState } from './oauth-cache.js';
import { OAuthError } from './oauth-error.js';

export const ACCESS_TOKEN_TYPE = 'at+jwt';
export const TOKEN_TYPE_ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
export const TOKEN_TYPE_JWT = 'urn:ietf:params:oauth:token-type:jwt';

export interface AccessTokenClaims extends JWTPayload {
  client_id: string;
  scope?: string;
  org_id?: string;
  act?: Actor;
  gh_exchanged_from?: ExchangeLink[];
}

/**
 * The private claim (RFC 7519 §4.3) in which an exchanged token lists the tokens of this
 * environment it was exchanged from, oldest first: empty when its subject came from a trusted
 * issuer. RFC 8693 leaves such provenance to the server; the token endpoint needs it to bound a
 * chain of exchanges by its first client, and introspection to stop a token when any token
 * before it is revoked or any client before it disabled. Only the token endpoint sets it.
 */
export const EXCHANGE_CHAIN_CLAIM = 'gh_exchanged_from';
/** Exchanges of exchanges deeper than this are refused (each link is a revocation lookup). */
export const MAX_EXCHANGE_CHAIN = 5;

/** One token an exchanged token derives from: its id and the client it was issued to. */
export interface ExchangeLink {
  jti: string;
  client_id: string;
}

/** RFC 8693 §4.1: the current actor, and nested within it the actors before it. */
export interface Actor {
  sub: string;
  iss?: string;
  act?: Actor;
}

export interface IssuedToken {
  token: string;
  jti: string;
  expiresIn: number;
  claims: AccessTokenClaims;
}

/** The environment's current signing key; none signs and none could be made (see OAuthCache) is a passing state. */
export function signerOf(env: EnvironmentState): NonNullable<EnvironmentState['signer']> {
  if (!env.signer) throw new OAuthError('temporarily_unavailable', 'The issuer has no signing key yet; try again shortly', { status: 503, headers: { 'retry-after': '5' } });
  return env.signer;
}

/** An access token's id and times, fixed before it is signed (so that they can be stored first). */
export interface PlannedAccessToken {
  jti: string;
  /** Seconds since the epoch. */
  issuedAt: number;
  expiresAt: Date;
}

export function plannedAccessToken(lifetime: number): PlannedAccessToken {
  const issuedAt = Math.floor(Date.now() / 1000);
  return { jti: `at_${ulid()}`, issuedAt, expiresAt: new Date((issuedAt + lifetime) * 1000) };
}

/** Signs an RFC 9068 access token with the environment's current key. */
export async function signAccessToken(
  env: EnvironmentState,
  input: {
    subject: string;
    clientId: string;
    audience: string;
    scope: string[];
    lifetime: number;
    extra?: Record<string, unknown>;
    /** For exchanged tokens: the tokens it derives from (EXCHANGE_CHAIN_CLAIM). */
    exchangedFrom?: ExchangeLink[];
    /** Id and issue time chosen beforehand (`plannedAccessToken`), when they were recorded before signing. */
    planned?: PlannedAccessToken;
  },
): Promise<IssuedToken> {
  const signer = signerOf(env);
  const { jti, issuedAt: now } = input.planned ?? plannedAccessToken(input.lifetime);
  // A client's custom claims can never carry provenance: a forged chain would let the token
  // endpoint bound a later exchange by another client's audiences.
  const { [EXCHANGE_CHAIN_CLAIM]: _forged, ...extra } = input.extra ?? {};
  const claims: AccessTokenClaims = {
    // Custom claims first: the registered ones below always win (the API refuses them anyway).
    ...extra,
    ...(input.exchangedFrom ? { [EXCHANGE_CHAIN_CLAIM]: input.exchangedFrom } : {}),
    iss: env.issuer,
    sub: input.subject,
    aud: input.audience,
    iat: now,
    exp: now + input.lifetime,
    jti,
    client_id: input.clientId,
  };
  if (input.scope.length) claims.scope = input.scope.join(' ');
  else delete claims.scope;
  const token = signCompact({ typ: ACCESS_TOKEN_TYPE, kid: signer.kid }, claims, signer.key, signer.alg);
  return { token, jti, expiresIn: input.lifetime, claims };
}

/** The published keys of the environment as a key resolver: revoked and expired keys are gone. */
function publishedKeys(env: EnvironmentState): JWTVerifyGetKey {
  return (header) => {
    const found = header.kid ? env.verifyKeys.get(header.kid) : undefined;
    if (!found || found.alg !== header.alg) throw new joseErrors.JWKSNoMatchingKey();
    return found.key;
  };
}

/**
 * Verifies an access token of this environment: signature by a published key, issuer, type,
 * expiry. Revocation is the caller's next check. Null for anything else, including tokens of
 * other environments (other keys, other issuer).
 */
export async function verifyOwnToken(env: EnvironmentState, token: string): Promise<AccessTokenClaims | null> {
  if (token.length > 16_384) return null;
  try {
    const { payload } = await jwtVerify<AccessTokenClaims>(token, publishedKeys(env), {
      issuer: env.issuer,
      typ: ACCESS_TOKEN_TYPE,
      algorithms: ['ES256', 'RS256', 'EdDSA'],
      requiredClaims: ['exp', 'jti', 'sub', 'client_id'],
    });
    return payload;
  } catch {
    return null;
  }
}

/**
 * The claims of an ID token this environment issued, for `id_token_hint` (OpenID Connect
 * RP-Initiated Logout §2): signature by a published key and issuer checked; an expired one is
 * still a valid hint (a person often signs out long after their ID token expired). Null for
 * anything else.
 */
export async function verifyIdTokenHint(env: EnvironmentState, token: string): Promise<JWTPayload | null> {
  if (token.length > 16_384) return null;
  // typ JWT: an ID token, never an access token (at+jwt) or a logout token (logout+jwt).
  const options = { issuer: env.issuer, typ: 'JWT', algorithms: ['ES256', 'RS256', 'EdDSA'], requiredClaims: ['sub', 'aud'] };
  try {
    return (await jwtVerify(token, publishedKeys(env), options)).payload;
  } catch (error) {
    if (!(error instanceof joseErrors.JWTExpired)) return null;
    // Only expiry failed; verify again as of the moment before it expired.
    const exp = (error.payload as JWTPayload).exp;
    if (typeof exp !== 'number') return null;
    try {
      return (await jwtVerify(token, publishedKeys(env), { ...options, currentDate: new Date((exp - 1) * 1000) })).payload;
    } catch {
      return null;
    }
  }
}
