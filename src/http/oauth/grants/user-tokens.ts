import type { EntityManager } from '@mikro-orm/core';
import { createHash } from 'node:crypto';
import { signCompact } from '../../../crypto/signing-keys.js';
import { grantsInOrganization } from '../../../modules/sign-in/sign-in.service.js';
import { UserStatus, type User } from '../../../modules/user/user.entity.js';
import { UserRepository } from '../../../modules/user/user.repository.js';
import type { GrantDetails } from '../../../modules/user-token/user-token.entity.js';
import { issueRefreshToken, recordAccessToken } from '../../../modules/user-token/user-token.service.js';
import type { AuthorizationCode, RefreshToken } from '../../../modules/user-token/user-token.entity.js';
import type { ClientState, EnvironmentState } from '../oauth-cache.js';
import { OAuthError } from '../oauth-error.js';
import { signAccessToken, signerOf, type PlannedAccessToken } from '../tokens.js';
import type { TokenResponse } from './grant.js';
import type { OAuthDeps, OAuthRequest } from '../context.js';

/** The person a grant is for, as tokens describe them: refused once they may no longer sign in. */
export interface Holder {
  user: User;
  roles: string[];
  permissions: string[];
}

/**
 * The user of a grant and what they hold in its organization, read now: a suspended or removed
 * user, or one no longer an active member of the organization, gets nothing more
 * (`invalid_grant`), and roles changed since sign-in show in the next token.
 */
export async function holderOf(em: EntityManager, userId: string, organizationId: string | null): Promise<Holder> {
  const user = await new UserRepository(em).find(userId);
  if (!user || user.status !== UserStatus.ACTIVE) throw new OAuthError('invalid_grant', 'The user may no longer sign in');
  if (!organizationId) return { user, roles: [], permissions: [] };
  const grants = await grantsInOrganization(em, userId, organizationId);
  if (!grants) throw new OAuthError('invalid_grant', 'The user is no longer a member of the organization');
  return { user, ...grants };
}

/** OpenID Connect Core §3.1.3.6: the left half of the access token's SHA-256, base64url. */
function atHash(accessToken: string): string {
  return createHash('sha256').update(accessToken).digest().subarray(0, 16).toString('base64url');
}

function profileClaims(user: User, scopes: readonly string[]): Record<string, unknown> {
  const claims: Record<string, unknown> = {};
  if (scopes.includes('email')) Object.assign(claims, { email: user.email, email_verified: user.emailVerified });
  if (scopes.includes('profile')) {
    const name = [user.givenName, user.familyName].filter(Boolean).join(' ');
    Object.assign(claims, {
      ...(user.givenName ? { given_name: user.givenName } : {}),
      ...(user.familyName ? { family_name: user.familyName } : {}),
      ...(name ? { name } : {}),
      updated_at: Math.floor(user.updatedAt.getTime() / 1000),
    });
  }
  return claims;
}

/** Claims of the userinfo endpoint (OpenID Connect Core §5.3) for the scopes of a token. */
export function userinfoClaims(user: User, scopes: readonly string[], organization: { id: string; roles: string[]; permissions: string[] } | null): Record<string, unknown> {
  return {
    sub: user.id,
    ...profileClaims(user, scopes),
    ...(organization ? { org_id: organization.id, roles: organization.roles, permissions: organization.permissions } : {}),
  };
}

/** What a person's tokens say: the grant, its holder, the browser session it was born in. */
export interface UserTokenInput {
  details: GrantDetails;
  holder: Holder;
  sessionId: string | null;
  idToken: { nonce: string | null } | null;
}

/**
 * Signs the tokens of a person's grant, with no storage: an access token for the grant's API
 * (or, without one, for the issuer's userinfo), and an ID token when `openid` was granted and
 * `idToken` is wanted, next to `refreshToken` when there is one. `planned` fixes the access
 * token's id and times when they were stored first.
 */
export async function signUserTokens(
  env: EnvironmentState,
  client: ClientState,
  input: UserTokenInput & { refreshToken: string | null; planned?: PlannedAccessToken },
): Promise<{ response: TokenResponse; accessToken: { jti: string; expiresAt: Date } }> {
  const { details, holder } = input;
  const signer = signerOf(env);
  const organization = details.organizationId ? { org_id: details.organizationId, roles: holder.roles, permissions: holder.permissions } : {};
  const access = await signAccessToken(env, {
    subject: holder.user.id,
    clientId: client.clientId,
    audience: details.resource ?? env.issuer,
    scope: details.scopes,
    lifetime: client.accessTokenTtl,
    extra: { ...client.customClaims, ...organization, ...(input.sessionId ? { sid: input.sessionId } : {}) },
    planned: input.planned,
  });

  let idToken: string | undefined;
  if (input.idToken && details.scopes.includes('openid')) {
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      ...profileClaims(holder.user, details.scopes),
      ...organization,
      iss: env.issuer,
      sub: holder.user.id,
      aud: client.clientId,
      iat: now,
      exp: now + client.idTokenTtl,
      auth_time: Math.floor(details.authTime.getTime() / 1000),
      amr: details.amr,
      at_hash: atHash(access.token),
      ...(input.idToken.nonce ? { nonce: input.idToken.nonce } : {}),
      ...(input.sessionId ? { sid: input.sessionId } : {}),
    };
    idToken = signCompact({ typ: 'JWT', kid: signer.kid }, claims, signer.key, signer.alg);
  }
  return {
    response: {
      access_token: access.token,
      token_type: 'Bearer',
      expires_in: access.expiresIn,
      scope: details.scopes.join(' '),
      ...(input.refreshToken ? { refresh_token: input.refreshToken } : {}),
      ...(idToken ? { id_token: idToken } : {}),
    },
    accessToken: { jti: access.jti, expiresAt: new Date(access.claims.exp! * 1000) },
  };
}

/**
 * The tokens of a person's grant (`signUserTokens`), stored within `em`'s unit of work: a new
 * refresh token family when `offline_access` was granted and the client may refresh, and every
 * access token recorded on its code or refresh token, so that revoking those revokes it.
 */
export async function issueUserTokens(
  em: EntityManager,
  env: EnvironmentState,
  client: ClientState,
  input: UserTokenInput & {
    /** What the access token is recorded on. */
    source: AuthorizationCode | RefreshToken;
    /** A refresh token already made by rotation, or `new` to start a family (when allowed), or none. */
    refresh: { token: string } | 'new' | null;
    codeId: string | null;
  },
): Promise<TokenResponse> {
  const { details, holder } = input;
  let family: { token: string; record: RefreshToken } | null = null;
  if (input.refresh === 'new' && details.scopes.includes('offline_access') && client.grantTypes.includes('refresh_token')) {
    family = issueRefreshToken(em, {
      ...details,
      environmentId: env.id,
      clientId: client.id,
      userId: holder.user.id,
      sessionId: input.sessionId,
      codeId: input.codeId,
      idleTtl: client.refreshTokenIdleTtl,
      absoluteTtl: client.refreshTokenAbsoluteTtl,
    });
  }
  const refreshToken = input.refresh === 'new' ? (family?.token ?? null) : (input.refresh?.token ?? null);
  const { response, accessToken } = await signUserTokens(env, client, { ...input, refreshToken });
  recordAccessToken(input.source, accessToken.jti, accessToken.expiresAt);
  if (family) recordAccessToken(family.record, accessToken.jti, accessToken.expiresAt);
  await em.flush();
  return response;
}

/** Audits a grant of people's tokens (`oauth.token_issued`), or a replay that revoked what an earlier use issued. */
export function auditUserGrant(
  deps: Pick<OAuthDeps, 'audit'>,
  request: OAuthRequest,
  client: ClientState,
  event:
    | { issued: { grantType: string; holder: Holder; organizationId: string | null; jti: string | null; resource: string | null; scopes: string[]; extra: Record<string, unknown> } }
    | { replayed: 'oauth.code_replayed' | 'oauth.refresh_token_replayed' },
): Promise<void> {
  const { env } = request;
  const actor = { principal: null, client: { id: client.id, name: client.name }, meta: request.meta };
  const clientTarget = { type: 'oauth_client', id: client.id, name: client.name };
  if ('replayed' in event) {
    return deps.audit.append(actor, { action: event.replayed, workspaceId: env.workspaceId, environmentId: env.id, targets: [clientTarget], after: { revoked: true } });
  }
  const { issued } = event;
  return deps.audit.append(actor, {
    action: 'oauth.token_issued',
    workspaceId: env.workspaceId,
    environmentId: env.id,
    organizationId: issued.organizationId,
    targets: [clientTarget, { type: 'user', id: issued.holder.user.id, name: issued.holder.user.email }],
    after: { grantType: issued.grantType, jti: issued.jti, audience: issued.resource ?? env.issuer, scope: issued.scopes, ...issued.extra },
  });
}
