import { parseScope } from '../form.js';
import { OAuthError } from '../oauth-error.js';
import { signAccessToken } from '../tokens.js';
import type { Grant } from './grant.js';
import { selectAudience, selectScopes } from './policy.js';

export const CLIENT_CREDENTIALS = 'client_credentials';

/** RFC 6749 §4.4: a client gets a token for itself. */
export const clientCredentials: Grant = async (deps, request, client) => {
  if (!client.grantTypes.includes(CLIENT_CREDENTIALS)) throw new OAuthError('unauthorized_client', 'This client may not use the client_credentials grant');
  const { env, params } = request;
  const resource = selectAudience(env, client, params.all('resource'));
  const scope = selectScopes(parseScope(params.get('scope')), client.allowedScopes, resource);
  const issued = await signAccessToken(env, {
    subject: client.id,
    clientId: client.id,
    audience: resource.identifier,
    scope,
    lifetime: client.accessTokenTtl,
    extra: { ...client.customClaims, ...(client.organizationId ? { org_id: client.organizationId } : {}) },
  });
  await deps.audit.append(
    { principal: null, client: { id: client.id, name: client.name }, meta: request.meta },
    {
      action: 'oauth.token_issued',
      workspaceId: env.workspaceId,
      environmentId: env.id,
      organizationId: client.organizationId,
      targets: [
        { type: 'oauth_client', id: client.id, name: client.name },
        { type: 'resource_server', id: resource.id, name: resource.identifier },
      ],
      after: { grantType: CLIENT_CREDENTIALS, jti: issued.jti, audience: resource.identifier, scope, expiresAt: new Date(issued.claims.exp! * 1000) },
    },
  );
  return { access_token: issued.token, token_type: 'Bearer', expires_in: issued.expiresIn, ...(scope.length ? { scope: scope.join(' ') } : {}) };
};
