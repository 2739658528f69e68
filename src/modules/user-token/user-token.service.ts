import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import { hashSecret, randomToken } from '../../crypto/secrets.js';
import { newInternalId } from '../../db/id.js';
import { RevokedTokenRepository } from '../token-state/token-state.repository.js';
import type { AuthorizationCode, GrantDetails, RefreshToken } from './user-token.entity.js';
import type { User } from '../user/user.entity.js';
import type { MembershipGrants } from '../membership/membership.repository.js';
import { AuthorizationCodeRepository, RefreshTokenRepository, type RotatedFamily } from './user-token.repository.js';

/** OAuth 2.1 §4.1.2 recommends at most ten minutes; a code is for a redirect that takes seconds. */
export const CODE_TTL_MS = 60_000;

export interface CodeInput extends GrantDetails {
  environmentId: string;
  clientId: string;
  userId: string;
  sessionId: string | null;
  redirectUri: string;
  codeChallenge: string;
  nonce: string | null;
}

/** Issues an authorization code; returns it (only its hash is kept). */
export function issueCode(em: EntityManager, input: CodeInput, now = new Date()): { code: string; record: AuthorizationCode } {
  const code = randomToken();
  const record = new AuthorizationCodeRepository(em).create({
    id: newInternalId('authorizationCode'),
    codeHash: hashSecret(code),
    environmentId: input.environmentId,
    clientId: input.clientId,
    userId: input.userId,
    sessionId: input.sessionId,
    redirectUri: input.redirectUri,
    codeChallenge: input.codeChallenge,
    nonce: input.nonce,
    scopes: input.scopes,
    resource: input.resource,
    organizationId: input.organizationId,
    authTime: input.authTime,
    amr: input.amr,
    expiresAt: new Date(now.getTime() + CODE_TTL_MS),
  });
  return { code, record };
}

export type CodeRedemption =
  | { ok: true; code: AuthorizationCode }
  /** `replayed`: the code was used before; everything issued from it has just been revoked. */
  | { ok: false; reason: 'unknown' | 'expired' | 'replayed' | 'wrong_client' };

/**
 * Redeems a code for `clientId`, under a row lock: the first redemption wins in any process. A
 * second one revokes the tokens of the first (OAuth 2.1 §4.1.3: the code may have leaked).
 * Run in a transaction; the caller checks redirect URI and PKCE and records the tokens it issues.
 */
export async function redeemCode(em: EntityManager, code: string, clientId: string, now = new Date()): Promise<CodeRedemption> {
  if (code.length < 40 || code.length > 64) return { ok: false, reason: 'unknown' };
  const record = await new AuthorizationCodeRepository(em).lockByHash(hashSecret(code));
  if (!record) return { ok: false, reason: 'unknown' };
  if (record.clientId !== clientId) return { ok: false, reason: 'wrong_client' };
  if (record.usedAt) {
    await revokeIssuedFrom(em, record, now);
    return { ok: false, reason: 'replayed' };
  }
  if (record.expiresAt.getTime() <= now.getTime()) return { ok: false, reason: 'expired' };
  record.usedAt = now;
  return { ok: true, code: record };
}

/**
 * Redeems a code in one statement when its grant holds and needs nothing more stored
 * (`AuthorizationCodeRepository.redeemGrantable`): the code with the access token about to be
 * issued recorded, its user and their grants. Null when anything is amiss: the caller then
 * redeems in a transaction (`redeemCode`), which finds out what.
 */
export async function redeemGrantableCode(
  em: EntityManager,
  code: string,
  grant: { clientId: string; redirectUri: string; codeChallenge: string; refreshable: boolean },
  accessToken: { jti: string; expiresAt: Date },
  now = new Date(),
): Promise<{ code: AuthorizationCode; user: User; grants: MembershipGrants | null } | null> {
  if (code.length < 40 || code.length > 64) return null;
  return new AuthorizationCodeRepository(em).redeemGrantable({ codeHash: hashSecret(code), ...grant, now, accessToken });
}

async function revokeIssuedFrom(em: EntityManager, record: AuthorizationCode, now: Date): Promise<void> {
  await revokeRefreshTokens(em, { codeId: record.id }, now);
  await revokeAccessToken(em, record.environmentId, record.accessTokenJti, record.accessTokenExpiresAt, now);
  // A replayed code's tokens can never be issued again, even if it is replayed later still.
  record.accessTokenJti = null;
  record.accessTokenExpiresAt = null;
}

async function revokeAccessToken(em: EntityManager, environmentId: string, jti: string | null, expiresAt: Date | null, now: Date): Promise<void> {
  if (!jti || !expiresAt || expiresAt.getTime() <= now.getTime()) return;
  await new RevokedTokenRepository(em).revoke({ jti, environmentId, expiresAt });
}

export interface RefreshInput extends GrantDetails {
  environmentId: string;
  clientId: string;
  userId: string;
  sessionId: string | null;
  codeId: string | null;
  idleTtl: number;
  absoluteTtl: number;
}

/** Starts a refresh token family; returns the token (only its hash is kept). */
export function issueRefreshToken(em: EntityManager, input: RefreshInput, now = new Date()): { token: string; record: RefreshToken } {
  const familyExpiresAt = new Date(now.getTime() + input.absoluteTtl * 1000);
  return createRefreshToken(em, { ...input, familyId: newInternalId('refreshToken'), familyExpiresAt }, input.idleTtl, now);
}

function createRefreshToken(
  em: EntityManager,
  input: Omit<RefreshInput, 'idleTtl' | 'absoluteTtl'> & { familyId: string; familyExpiresAt: Date },
  idleTtl: number,
  now: Date,
): { token: string; record: RefreshToken } {
  const token = randomToken();
  const idle = now.getTime() + idleTtl * 1000;
  const record = new RefreshTokenRepository(em).create({
    id: newInternalId('refreshToken'),
    tokenHash: hashSecret(token),
    environmentId: input.environmentId,
    clientId: input.clientId,
    userId: input.userId,
    sessionId: input.sessionId,
    codeId: input.codeId,
    familyId: input.familyId,
    scopes: input.scopes,
    resource: input.resource,
    organizationId: input.organizationId,
    authTime: input.authTime,
    amr: input.amr,
    expiresAt: new Date(Math.min(idle, input.familyExpiresAt.getTime())),
    familyExpiresAt: input.familyExpiresAt,
  });
  return { token, record };
}

export type RefreshRotation =
  | { ok: true; previous: RefreshToken; token: string; record: RefreshToken }
  /** `replayed`: a rotated token came back; its whole family has just been revoked. */
  | { ok: false; reason: 'unknown' | 'wrong_client' | 'expired' | 'revoked' | 'replayed' };

/**
 * Rotates a refresh token (OAuth 2.1 §4.3.1): the presented one is used up and a successor of
 * the same family is returned. Presenting a used one revokes the family: either the client or
 * a thief holds a stale copy, and the server cannot tell which. Run in a transaction.
 */
export async function rotateRefreshToken(em: EntityManager, token: string, clientId: string, idleTtl: number, now = new Date()): Promise<RefreshRotation> {
  if (token.length < 40 || token.length > 64) return { ok: false, reason: 'unknown' };
  const previous = await new RefreshTokenRepository(em).lockByHash(hashSecret(token));
  if (!previous) return { ok: false, reason: 'unknown' };
  // Another client's token: refused, and nothing of the owner's family is touched (RFC 6749 §10.4).
  if (previous.clientId !== clientId) return { ok: false, reason: 'wrong_client' };
  if (previous.revokedAt) return { ok: false, reason: 'revoked' };
  if (previous.usedAt) {
    await revokeRefreshTokens(em, { familyId: previous.familyId }, now);
    return { ok: false, reason: 'replayed' };
  }
  if (previous.expiresAt.getTime() <= now.getTime() || previous.familyExpiresAt.getTime() <= now.getTime()) return { ok: false, reason: 'expired' };
  previous.usedAt = now;
  const next = createRefreshToken(
    em,
    {
      environmentId: previous.environmentId,
      clientId: previous.clientId,
      userId: previous.userId,
      sessionId: previous.sessionId,
      codeId: previous.codeId,
      familyId: previous.familyId,
      familyExpiresAt: previous.familyExpiresAt,
      scopes: previous.scopes,
      resource: previous.resource,
      organizationId: previous.organizationId,
      authTime: previous.authTime,
      amr: previous.amr,
    },
    idleTtl,
    now,
  );
  return { ok: true, previous, ...next };
}

/**
 * The common case of rotation in one statement, no transaction: the token is live and
 * everything its grant needs still holds (see `RefreshTokenRepository.rotateGrantable`); the
 * successor records the access token `accessToken` about to be issued. Null when anything is
 * off, with nothing changed: `rotateRefreshToken` then finds out what.
 */
export async function rotateGrantableRefreshToken(
  em: EntityManager,
  token: string,
  grant: { clientId: string; idleTtl: number; requiredScopes: readonly string[]; allowedResources: readonly string[] },
  accessToken: { jti: string; expiresAt: Date },
  now = new Date(),
): Promise<(RotatedFamily & { token: string }) | null> {
  if (token.length < 40 || token.length > 64) return null;
  const next = randomToken();
  const rotated = await new RefreshTokenRepository(em).rotateGrantable({
    tokenHash: hashSecret(token),
    clientId: grant.clientId,
    requiredScopes: grant.requiredScopes,
    allowedResources: grant.allowedResources,
    now,
    successor: {
      id: newInternalId('refreshToken'),
      tokenHash: hashSecret(next),
      idleExpiresAt: new Date(now.getTime() + grant.idleTtl * 1000),
      accessTokenJti: accessToken.jti,
      accessTokenExpiresAt: accessToken.expiresAt,
    },
  });
  return rotated && { ...rotated, token: next };
}

/**
 * Revokes the refresh tokens matching `where` and the access tokens last issued with them.
 * Returns the families revoked.
 */
export async function revokeRefreshTokens(em: EntityManager, where: FilterQuery<RefreshToken>, now = new Date()): Promise<string[]> {
  const tokens = await new RefreshTokenRepository(em).unrevoked(where);
  for (const token of tokens) {
    token.revokedAt = now;
    await revokeAccessToken(em, token.environmentId, token.accessTokenJti, token.accessTokenExpiresAt, now);
  }
  await em.flush();
  return [...new Set(tokens.map((token) => token.familyId))];
}

/**
 * Revokes everything a user holds from sign-ins (optionally only what was issued for one
 * organization, or in some sessions): refresh token families and live access tokens.
 */
export async function revokeTokensOfUser(
  em: EntityManager,
  userId: string,
  options: { organizationId?: string; sessionIds?: string[]; clientId?: string } = {},
  now = new Date(),
): Promise<void> {
  const where: FilterQuery<RefreshToken> = { userId };
  if (options.organizationId) where.organizationId = options.organizationId;
  if (options.sessionIds) where.sessionId = { $in: options.sessionIds };
  if (options.clientId) where.clientId = options.clientId;
  await revokeRefreshTokens(em, where, now);
  for (const code of await new AuthorizationCodeRepository(em).withLiveAccessTokens({ userId, ...options }, now)) {
    await revokeAccessToken(em, code.environmentId, code.accessTokenJti, code.accessTokenExpiresAt, now);
  }
}

/** Records the access token issued with a code or refresh token, so revoking either revokes it. */
export function recordAccessToken(record: AuthorizationCode | RefreshToken, jti: string, expiresAt: Date): void {
  record.accessTokenJti = jti;
  record.accessTokenExpiresAt = expiresAt;
}
