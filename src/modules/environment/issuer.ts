/**
 * Every environment is its own authorization server. Its issuer is path-based under the public
 * URL and names the environment by id: ids are global, stable and never reused, where slugs
 * are only unique within a workspace and may be renamed (an issuer must never change). A custom
 * domain per environment maps onto this path with a reverse proxy; only this module would then
 * need to know the mapping.
 */
export const ISSUER_PATH_PREFIX = '/e/';

export function issuerFor(publicUrl: string, environmentId: string): string {
  return `${publicUrl}${ISSUER_PATH_PREFIX}${environmentId}`;
}

/** The endpoints of an environment's authorization server. */
export function endpointsFor(issuer: string) {
  return {
    authorization: `${issuer}/oauth/authorize`,
    pushedAuthorization: `${issuer}/oauth/par`,
    userinfo: `${issuer}/oauth/userinfo`,
    endSession: `${issuer}/oauth/logout`,
    token: `${issuer}/oauth/token`,
    introspection: `${issuer}/oauth/introspect`,
    revocation: `${issuer}/oauth/revoke`,
    registration: `${issuer}/oauth/register`,
    jwks: `${issuer}/.well-known/jwks.json`,
  };
}

/** RFC 9728 metadata of a resource server, served by Gatehouse on the API's behalf. */
export function resourceMetadataUrl(issuer: string, resourceServerId: string): string {
  return `${issuer}/resource-servers/${resourceServerId}/.well-known/oauth-protected-resource`;
}
