import { RevokedTokenRepository } from '../../modules/token-state/token-state.repository.js';
import { ApplicationType } from '../../modules/oauth-client/oauth-client.entity.js';
import { isInteractive } from '../../modules/oauth-client/application-settings.js';
import { authenticateClient, identifyClient } from './client-auth.js';
import { hashSecret } from '../../crypto/secrets.js';
import { RefreshTokenRepository } from '../../modules/user-token/user-token.repository.js';
import { revokeRefreshTokens } from '../../modules/user-token/user-token.service.js';
import { environmentEm, type OAuthDeps, type OAuthRequest } from './context.js';
import type { ClientState } from './oauth-cache.js';
import { liveToken } from './token-status.js';
import type { AccessTokenClaims } from './tokens.js';

/**
 * Whether `caller` may learn about a live token (RFC 7662 §4: the server decides whether the
 * token can be used at the protected resource asking, and must not hand out token data for
 * scanning). Resource servers hold no credentials of their own here: an API's backend
 * introspects with a client the builder provisioned for it. So the answer is yes for
 *
 *  - the token's own client (it holds the token anyway), and
 *  - a client that stands for a resource server in the token's audience: one the builder
 *    created (not self-registered under RFC 7591, whatever audiences it got), whose allowed
 *    audiences include the token's, and, when it belongs to an organization, only for tokens of
 *    that organization (an organization's account acts only within it, as in token exchange).
 *
 * Everyone else, including any anonymously registered client, gets `{"active": false}` as for
 * an unknown token (RFC 7662 §2.2), so the answer reveals nothing.
 */
function mayIntrospect(caller: ClientState, claims: AccessTokenClaims): boolean {
  if (caller.clientId === claims.client_id) return true;
  // Applications people sign in to (and self-registered ones) are no resource servers: another
  // application's tokens describe its users, roles and sessions, none of their business.
  if (caller.applicationType === ApplicationType.DYNAMIC || isInteractive(caller.applicationType)) return false;
  if (caller.organizationId && claims.org_id !== caller.organizationId) return false;
  const audiences = ([] as string[]).concat(claims.aud ?? []);
  return audiences.some((audience) => caller.allowedAudiences.includes(audience));
}

/** RFC 7662, answered as `mayIntrospect` allows. */
export async function introspect(deps: OAuthDeps, request: OAuthRequest): Promise<Record<string, unknown>> {
  const { client } = await authenticateClient(deps, request);
  const live = await liveToken(deps, request.env, request.params.require('token'));
  if (!live || !mayIntrospect(client, live.claims)) return { active: false };
  return { ...live.claims, active: true, token_type: 'Bearer' };
}

/**
 * RFC 7009. An access token's `jti` is remembered until the token would have expired; tokens
 * exchanged from it stop with it (see liveToken). A refresh token is revoked with its whole
 * family and the access tokens issued with it. A client may revoke only its own tokens (a
 * public client names itself, RFC 7009 §5); anything else (unknown, foreign, already revoked,
 * another client's) is answered the same 200, so the endpoint reveals nothing about tokens.
 * Returns the client, for CORS.
 */
export async function revoke(deps: OAuthDeps, request: OAuthRequest): Promise<ClientState> {
  const { client } = await identifyClient(deps, request);
  const token = request.params.require('token');
  // Refresh tokens are opaque, access tokens are JWTs: the shape tells them apart whatever the hint says.
  if (!token.includes('.')) {
    await revokeRefreshTokenOf(deps, request, client, token);
    return client;
  }
  const live = await liveToken(deps, request.env, token);
  if (!live || live.claims.client_id !== client.clientId) return client;
  const { claims } = live;
  await new RevokedTokenRepository(environmentEm(deps.orm, request.env)).revoke({
    jti: claims.jti!,
    environmentId: request.env.id,
    expiresAt: new Date(claims.exp! * 1000),
  });
  await deps.audit.append(
    { principal: null, client: { id: client.id, name: client.name }, meta: request.meta },
    {
      action: 'oauth.token_revoked',
      workspaceId: request.env.workspaceId,
      environmentId: request.env.id,
      organizationId: typeof claims.org_id === 'string' ? claims.org_id : null,
      targets: [{ type: 'oauth_client', id: client.id, name: client.name }],
      after: { jti: claims.jti, subject: claims.sub, expiresAt: new Date(claims.exp! * 1000) },
    },
  );
  return client;
}

async function revokeRefreshTokenOf(deps: OAuthDeps, request: OAuthRequest, client: ClientState, token: string): Promise<void> {
  if (token.length < 40 || token.length > 64) return;
  const families = await environmentEm(deps.orm, request.env).transactional(async (em) => {
    const record = await new RefreshTokenRepository(em).lockByHash(hashSecret(token));
    if (!record || record.clientId !== client.id || record.revokedAt) return [];
    return revokeRefreshTokens(em, { familyId: record.familyId });
  });
  if (!families.length) return;
  await deps.audit.append(
    { principal: null, client: { id: client.id, name: client.name }, meta: request.meta },
    {
      action: 'oauth.refresh_token_revoked',
      workspaceId: request.env.workspaceId,
      environmentId: request.env.id,
      targets: [{ type: 'oauth_client', id: client.id, name: client.name }],
      after: { families },
    },
  );
}
