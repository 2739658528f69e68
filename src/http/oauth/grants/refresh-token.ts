import type { GrantDetails, RefreshToken } from '../../../modules/user-token/user-token.entity.js';
import { rotateGrantableRefreshToken, rotateRefreshToken } from '../../../modules/user-token/user-token.service.js';
import { authorizationPolicy } from '../authorize/pushed.js';
import type { ClientState, EnvironmentState } from '../oauth-cache.js';
import { environmentEm, type OAuthDeps, type OAuthRequest } from '../context.js';
import { parseScope } from '../form.js';
import { OAuthError } from '../oauth-error.js';
import { plannedAccessToken, signerOf } from '../tokens.js';
import type { Grant, TokenResponse } from './grant.js';
import { auditUserGrant, holderOf, issueUserTokens, signUserTokens, type Holder } from './user-tokens.js';

export const REFRESH_TOKEN = 'refresh_token';

/** A rotation's answer and what its audit event names. */
interface Rotated {
  tokens: TokenResponse;
  holder: Holder;
  scopes: string[];
  organizationId: string | null;
  resource: string | null;
  familyId: string;
  accessTokenJti: string | null;
}

/**
 * OAuth 2.1 §4.3: a refresh token for new tokens, rotated on every use. The token is bound to
 * its client; a rotated token presented again revokes its whole family (the client or a thief
 * holds a stale copy). `scope` may narrow the new access token, never widen it; the family
 * keeps what was granted.
 *
 * The common case, a live token whose grant still holds, rotates in one statement
 * (`rotateGrantableRefreshToken`); anything else takes the transaction of `rotateOrRefuse`,
 * which finds out what is wrong and answers as the standard asks.
 */
export const refreshToken: Grant = async (deps, request, client) => {
  if (!client.grantTypes.includes(REFRESH_TOKEN)) throw new OAuthError('unauthorized_client', 'This client may not use the refresh_token grant');
  const { env, params } = request;
  const presented = params.require('refresh_token');
  const narrowed = parseScope(params.get('scope'));
  // Before anything rotates: a successor stored but never handed out would end the family.
  signerOf(env);

  const planned = plannedAccessToken(client.accessTokenTtl);
  const em = environmentEm(deps.orm, env);
  const requiredScopes = ['offline_access', ...(narrowed ?? [])];
  const rotation = await rotateGrantableRefreshToken(
    em,
    presented,
    { clientId: client.id, idleTtl: client.refreshTokenIdleTtl, requiredScopes, allowedResources: client.allowedAudiences },
    planned,
  );
  let outcome: Rotated;
  if (rotation) {
    const { previous, user, grants } = rotation;
    const holder = { user, roles: grants?.roles ?? [], permissions: grants?.permissions ?? [] };
    const details = grantedNow(env, client, previous, narrowed);
    const { response } = await signUserTokens(env, client, { details, holder, sessionId: previous.sessionId, idToken: { nonce: null }, refreshToken: rotation.token, planned });
    outcome = { tokens: response, holder, scopes: details.scopes, ...family(previous), accessTokenJti: planned.jti };
  } else {
    outcome = await rotateOrRefuse(deps, request, client, presented, narrowed);
  }

  await auditUserGrant(deps, request, client, {
    issued: {
      grantType: REFRESH_TOKEN,
      holder: outcome.holder,
      organizationId: outcome.organizationId,
      jti: outcome.accessTokenJti,
      resource: outcome.resource,
      scopes: outcome.scopes,
      extra: { family: outcome.familyId },
    },
  });
  return outcome.tokens;
};

const family = (token: RefreshToken) => ({ organizationId: token.organizationId, resource: token.resource, familyId: token.familyId });

/** The grant's details for the next tokens: `scope` narrows them, and what the client may no longer ask for is gone. */
function grantedNow(env: EnvironmentState, client: ClientState, previous: GrantDetails, narrowed: string[] | undefined): GrantDetails {
  const allowed = authorizationPolicy(env, client).grantableScopes;
  return { ...previous, scopes: (narrowed ?? previous.scopes).filter((scope) => allowed.has(scope)) };
}

/**
 * Rotation in a transaction under the token's row lock, for the cases the single statement
 * left alone: it refuses unknown, expired, revoked and other clients' tokens, revokes the
 * family of a replayed one, and refuses grants that no longer hold without using the token up.
 */
async function rotateOrRefuse(deps: OAuthDeps, request: OAuthRequest, client: ClientState, presented: string, narrowed: string[] | undefined): Promise<Rotated> {
  const { env } = request;
  const outcome = await environmentEm(deps.orm, env).transactional(async (em) => {
    const rotation = await rotateRefreshToken(em, presented, client.id, client.refreshTokenIdleTtl);
    if (!rotation.ok) return { failure: rotation.reason };
    const { previous, record } = rotation;
    // Refusals from here on roll the rotation back: the presented token stays the family's
    // current one, so the client's next (corrected) attempt is not taken for a replay.
    if (!previous.scopes.includes('offline_access')) throw new OAuthError('invalid_grant', 'The refresh token is invalid, expired or revoked');
    if (narrowed && narrowed.some((scope) => !previous.scopes.includes(scope))) throw new OAuthError('invalid_scope', 'scope may only narrow what was granted');
    // What an admin took from the client since the grant is gone from its next tokens too.
    if (previous.resource && !client.allowedAudiences.includes(previous.resource)) throw new OAuthError('invalid_grant', 'The client may no longer get tokens for this resource');
    const holder = await holderOf(em, previous.userId, previous.organizationId);
    const details = grantedNow(env, client, previous, narrowed);
    const tokens = await issueUserTokens(em, env, client, {
      details,
      holder,
      sessionId: previous.sessionId,
      source: record,
      idToken: { nonce: null },
      refresh: { token: rotation.token },
      codeId: previous.codeId,
    });
    return { tokens, holder, scopes: details.scopes, ...family(record), accessTokenJti: record.accessTokenJti } satisfies Rotated;
  });
  if ('failure' in outcome) {
    if (outcome.failure === 'replayed') await auditUserGrant(deps, request, client, { replayed: 'oauth.refresh_token_replayed' });
    throw new OAuthError('invalid_grant', 'The refresh token is invalid, expired or revoked');
  }
  return outcome;
}
