import { rawQuery } from '../../db/raw.js';
import { authenticateClient } from './client-auth.js';
import type { OAuthDeps, OAuthRequest } from './context.js';
import { isRevoked, verifyOwnToken, type AccessTokenClaims } from './tokens.js';

/** A token of this environment that is still good: signed by a published key, unexpired, unrevoked, its client enabled. */
async function activeClaims(deps: OAuthDeps, request: OAuthRequest, token: string): Promise<AccessTokenClaims | null> {
  const claims = await verifyOwnToken(request.env, token);
  if (!claims) return null;
  if (await isRevoked(deps.orm.em, claims.jti!)) return null;
  const client = await deps.cache.client(request.env.id, claims.client_id);
  return client?.enabled ? claims : null;
}

/** RFC 7662. Any authenticated client of the environment may introspect its tokens. */
export async function introspect(deps: OAuthDeps, request: OAuthRequest): Promise<Record<string, unknown>> {
  await authenticateClient(deps, request);
  const claims = await activeClaims(deps, request, request.params.require('token'));
  if (!claims) return { active: false };
  return { ...claims, active: true, token_type: 'Bearer' };
}

/**
 * RFC 7009. The token's `jti` is remembered until the token would have expired. A client may
 * revoke only its own tokens; anything else (unknown, foreign, already revoked, another
 * client's) is answered the same 200, so the endpoint reveals nothing about tokens.
 */
export async function revoke(deps: OAuthDeps, request: OAuthRequest): Promise<void> {
  const { client } = await authenticateClient(deps, request);
  const claims = await activeClaims(deps, request, request.params.require('token'));
  if (!claims || claims.client_id !== client.id) return;
  await rawQuery(deps.orm.em, `insert into revoked_token (jti, environment_id, expires_at) values (?, ?, ?) on conflict do nothing`, [
    claims.jti,
    request.env.id,
    new Date(claims.exp! * 1000),
  ]);
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
}
