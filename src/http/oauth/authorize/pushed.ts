import { hashSecret, randomToken } from '../../../crypto/secrets.js';
import { newInternalId } from '../../../db/id.js';
import { PushedRequestRepository } from '../../../modules/sign-in/flow.repository.js';
import { OIDC_SCOPES } from '../../../modules/sign-in/flow.types.js';
import { identifyClient } from '../client-auth.js';
import { environmentEm, type OAuthDeps, type OAuthRequest } from '../context.js';
import type { ClientState, EnvironmentState } from '../oauth-cache.js';
import { OAuthError } from '../oauth-error.js';
import { checkAuthorizationRequest, type AuthorizationCheck, type AuthorizationPolicy, type RawParameters } from './request.js';

/** RFC 9126 §2.2: short-lived; a minute is ample for the redirect that follows. */
export const PUSHED_REQUEST_TTL_S = 60;
export const REQUEST_URI_PREFIX = 'urn:ietf:params:oauth:request_uri:';
const CLIENT_AUTHENTICATION = new Set(['client_secret', 'client_assertion', 'client_assertion_type']);

/** What a client may ask for at the authorization endpoint. */
export function authorizationPolicy(env: EnvironmentState, client: ClientState | null): AuthorizationPolicy {
  const resources = new Set((client?.allowedAudiences ?? []).filter((audience) => env.resourceServers.has(audience)));
  return { issuer: env.issuer, grantableScopes: new Set([...OIDC_SCOPES, ...(client?.allowedScopes ?? [])]), resources };
}

/**
 * RFC 9126 pushed authorization request: the client authenticates (or, public, names itself),
 * its parameters are checked as the authorization endpoint would check them, and kept for a
 * minute under a `request_uri` that is good once.
 */
export async function pushAuthorizationRequest(deps: OAuthDeps, request: OAuthRequest, raw: RawParameters): Promise<{ request_uri: string; expires_in: number }> {
  const { client } = await identifyClient(deps, request);
  if (raw.has('request_uri')) throw new OAuthError('invalid_request', 'request_uri may not be pushed');
  const check = checkAuthorizationRequest(raw, client, authorizationPolicy(request.env, client));
  if (!check.ok) {
    const failure = 'page' in check ? check.page : check.redirect;
    throw new OAuthError(failure.error === 'invalid_client' ? 'invalid_request' : failure.error, failure.description);
  }
  const handle = randomToken();
  // Credentials authenticated this request; they are no part of the authorization request and are never stored.
  const params: Record<string, string[]> = {};
  for (const [name, values] of raw) if (!CLIENT_AUTHENTICATION.has(name)) params[name] = [...values];
  const em = environmentEm(deps.orm, request.env);
  new PushedRequestRepository(em).create({
    id: newInternalId('pushedRequest'),
    environmentId: request.env.id,
    clientId: client.id,
    handleHash: hashSecret(handle),
    params,
    expiresAt: new Date(Date.now() + PUSHED_REQUEST_TTL_S * 1000),
  });
  await em.flush();
  return { request_uri: `${REQUEST_URI_PREFIX}${handle}`, expires_in: PUSHED_REQUEST_TTL_S };
}

/**
 * The parameters an authorization request stands for: its own, or, with `request_uri`, those
 * pushed by its client (used up now; RFC 9126 §4). A `request_uri` that is unknown, expired,
 * used or of another client is shown as an error page: without trusted parameters there is no
 * redirect URI to answer.
 */
export async function resolvePushedRequest(deps: OAuthDeps, env: EnvironmentState, raw: RawParameters): Promise<RawParameters | AuthorizationCheck> {
  const requestUri = raw.get('request_uri');
  if (!requestUri) return raw;
  const page = (description: string): AuthorizationCheck => ({ ok: false, page: { error: 'invalid_request', description } });
  if (requestUri.length !== 1 || !requestUri[0].startsWith(REQUEST_URI_PREFIX)) return page('request_uri is not one this server issued');
  const clientId = raw.get('client_id');
  if (!clientId || clientId.length !== 1) return page('client_id must accompany request_uri');
  const client = clientId[0].length <= 2048 ? await deps.cache.client(env, clientId[0]) : null;
  const em = environmentEm(deps.orm, env);
  return em.transactional(async (tx) => {
    const pushed = await new PushedRequestRepository(tx).lockByHandle(hashSecret(requestUri[0].slice(REQUEST_URI_PREFIX.length)));
    if (!pushed || !client || pushed.clientId !== client.id) return page('request_uri is not one this server issued');
    if (pushed.usedAt || pushed.expiresAt.getTime() <= Date.now()) return page('request_uri has expired or was already used');
    pushed.usedAt = new Date();
    // Only the pushed parameters count (RFC 9126 §4); the ones beside request_uri are ignored.
    return new Map(Object.entries(pushed.params));
  });
}
