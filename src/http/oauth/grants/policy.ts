import type { ResourceServer } from '../../../modules/resource-server/resource-server.entity.js';
import type { ClientState, EnvironmentState } from '../oauth-cache.js';
import { OAuthError } from '../oauth-error.js';

/**
 * The audience of a token (RFC 8707): the one resource asked for, or the client's only allowed
 * one when none is named. It must be a resource server of the environment that the client may
 * get tokens for, and within `within` when given (token exchange: never wider than the subject).
 */
export function selectAudience(env: EnvironmentState, client: ClientState, requested: string[], within?: readonly string[]): ResourceServer {
  if (requested.length > 1) throw new OAuthError('invalid_target', 'Ask for one resource per token');
  let identifier = requested[0];
  if (identifier === undefined) {
    const candidates = within ? client.allowedAudiences.filter((audience) => within.includes(audience)) : client.allowedAudiences;
    if (candidates.length !== 1) {
      throw new OAuthError('invalid_target', candidates.length ? 'Name the resource: this client may get tokens for several' : 'This client may not get tokens for any resource');
    }
    identifier = candidates[0];
  }
  const server = env.resourceServers.get(identifier);
  if (!server || !client.allowedAudiences.includes(identifier) || (within && !within.includes(identifier))) {
    throw new OAuthError('invalid_target', 'The client may not get tokens for this resource');
  }
  return server;
}

/**
 * The scopes of a token: those asked for, each of which must be allowed (and, when the resource
 * server declares scopes, one of them); or, when none are asked for, every allowed one.
 */
export function selectScopes(requested: string[] | undefined, allowed: ReadonlySet<string>, resource: ResourceServer): string[] {
  const declared = new Set(resource.scopes.map((scope) => scope.name));
  const grantable = (scope: string) => allowed.has(scope) && (declared.size === 0 || declared.has(scope));
  if (requested) {
    const refused = requested.filter((scope) => !grantable(scope));
    if (refused.length) throw new OAuthError('invalid_scope', `Scope not allowed: ${refused.slice(0, 5).join(' ').slice(0, 200)}`);
    return [...requested].sort();
  }
  return [...allowed].filter(grantable).sort();
}
