import { rotateRefreshToken } from '../../../modules/user-token/user-token.service.js';
import { environmentEm } from '../context.js';
import { parseScope } from '../form.js';
import { OAuthError } from '../oauth-error.js';
import type { Grant } from './grant.js';
import { auditUserGrant, holderOf, issueUserTokens } from './user-tokens.js';
import { authorizationPolicy } from '../authorize/pushed.js';

export const REFRESH_TOKEN = 'refresh_token';

/**
 * OAuth 2.1 §4.3: a refresh token for new tokens, rotated on every use. The token is bound to
 * its client; a rotated token presented again revokes its whole family (the client or a thief
 * holds a stale copy). `scope` may narrow the new access token, never widen it; the family
 * keeps what was granted.
 */
export const refreshToken: Grant = async (deps, request, client) => {
  if (!client.grantTypes.includes(REFRESH_TOKEN)) throw new OAuthError('unauthorized_client', 'This client may not use the refresh_token grant');
  const { env, params } = request;
  const presented = params.require('refresh_token');
  const narrowed = parseScope(params.get('scope'));

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
    const allowed = authorizationPolicy(env, client).grantableScopes;
    const holder = await holderOf(em, previous.userId, previous.organizationId);
    const details = { ...previous, scopes: (narrowed ?? previous.scopes).filter((scope) => allowed.has(scope)) };
    const tokens = await issueUserTokens(em, env, client, {
      details,
      holder,
      sessionId: previous.sessionId,
      source: record,
      idToken: { nonce: null },
      refresh: { token: rotation.token },
      codeId: previous.codeId,
    });
    return { tokens, record, holder, scopes: details.scopes };
  });

  if ('failure' in outcome) {
    if (outcome.failure === 'replayed') await auditUserGrant(deps, request, client, { replayed: 'oauth.refresh_token_replayed' });
    throw new OAuthError('invalid_grant', 'The refresh token is invalid, expired or revoked');
  }
  const { record, holder } = outcome;
  await auditUserGrant(deps, request, client, {
    issued: {
      grantType: REFRESH_TOKEN,
      holder,
      organizationId: record.organizationId,
      jti: record.accessTokenJti,
      resource: record.resource,
      scopes: outcome.scopes,
      extra: { family: record.familyId },
    },
  });
  return outcome.tokens;
};
