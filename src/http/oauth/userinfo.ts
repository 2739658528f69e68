import { UserStatus } from '../../modules/user/user.entity.js';
import { UserRepository } from '../../modules/user/user.repository.js';
import { environmentEm, type OAuthDeps } from './context.js';
import { userinfoClaims } from './grants/user-tokens.js';
import type { EnvironmentState } from './oauth-cache.js';
import { OAuthError } from './oauth-error.js';
import { liveToken, type LiveToken } from './token-status.js';

const bearerError = (code: 'invalid_token' | 'insufficient_scope' | 'invalid_request', description: string, status?: number) =>
  new OAuthError(code, description, { status, headers: { 'www-authenticate': `Bearer error="${code}", error_description="${description}"` } });

/** The bearer token of a request (RFC 6750 §2.1 header, or §2.2 form body for POST); exactly one. */
export function bearerToken(authorization: string | undefined, formToken: string | undefined): string {
  const header = authorization && /^bearer /i.test(authorization) ? authorization.slice(7).trim() : undefined;
  if (authorization && !header) throw bearerError('invalid_request', 'Use the Bearer scheme', 400);
  if (header && formToken) throw bearerError('invalid_request', 'Send the access token once', 400);
  const token = header ?? formToken;
  if (!token) throw new OAuthError('invalid_token', 'An access token is required', { status: 401, headers: { 'www-authenticate': 'Bearer' } });
  return token;
}

/**
 * OpenID Connect Core §5.3: the claims about the signed-in person that the token's scopes allow,
 * read now (a suspended or deleted user's token stops working here at once).
 */
export async function userinfo(deps: OAuthDeps, env: EnvironmentState, token: string): Promise<{ claims: Record<string, unknown>; live: LiveToken }> {
  const live = await liveToken(deps, env, token);
  if (!live || !live.claims.sub?.startsWith('usr_')) throw bearerError('invalid_token', 'The access token is invalid, expired or revoked');
  const scopes = (live.claims.scope ?? '').split(' ');
  if (!scopes.includes('openid')) throw bearerError('insufficient_scope', 'The access token lacks the openid scope');
  const user = await new UserRepository(environmentEm(deps.orm, env)).find(live.claims.sub);
  if (!user || user.status !== UserStatus.ACTIVE) throw bearerError('invalid_token', 'The access token is invalid, expired or revoked');
  const claims = live.claims as Record<string, unknown>;
  const organization =
    typeof claims.org_id === 'string' ? { id: claims.org_id, roles: (claims.roles as string[]) ?? [], permissions: (claims.permissions as string[]) ?? [] } : null;
  return { claims: userinfoClaims(user, scopes, organization), live };
}
