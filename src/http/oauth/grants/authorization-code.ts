import { createHash, timingSafeEqual } from 'node:crypto';
import { UserSessionRepository } from '../../../modules/session/session.repository.js';
import { isLive } from '../../../modules/session/session.service.js';
import { redeemCode, redeemGrantableCode } from '../../../modules/user-token/user-token.service.js';
import { plannedAccessToken, signerOf } from '../tokens.js';
import { environmentEm } from '../context.js';
import { OAuthError } from '../oauth-error.js';
import type { Grant } from './grant.js';
import { auditUserGrant, holderOf, issueUserTokens, signUserTokens } from './user-tokens.js';

export const AUTHORIZATION_CODE = 'authorization_code';

/** RFC 7636 §4.1: 43 to 128 unreserved characters. */
const CODE_VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

function pkceMatches(verifier: string, challenge: string): boolean {
  const computed = Buffer.from(s256(verifier));
  const expected = Buffer.from(challenge);
  return computed.length === expected.length && timingSafeEqual(computed, expected);
}

/**
 * OAuth 2.1 §4.1.3: a code for tokens, once. The client is the one the code was issued to
 * (authenticated when confidential), the redirect URI the one of the request, and the PKCE
 * verifier hashes to its challenge. A code presented again revokes what its first use issued.
 * The code is used up by any attempt that gets as far as naming it, right or wrong.
 */
export const authorizationCode: Grant = async (deps, request, client) => {
  if (!client.grantTypes.includes(AUTHORIZATION_CODE)) throw new OAuthError('unauthorized_client', 'This client may not use the authorization_code grant');
  const { env, params } = request;
  const code = params.require('code');
  const redirectUri = params.require('redirect_uri');
  const verifier = params.get('code_verifier');
  if (!verifier) throw new OAuthError('invalid_request', 'PKCE is required: send code_verifier');
  if (!CODE_VERIFIER.test(verifier)) throw new OAuthError('invalid_request', 'code_verifier must be 43 to 128 unreserved characters (RFC 7636)');

  // Before the code is used up: a code redeemed for tokens never signed would be lost.
  signerOf(env);
  // The common case in one statement: the code redeemed with its access token recorded.
  const planned = plannedAccessToken(client.accessTokenTtl);
  const redeemed = await redeemGrantableCode(
    environmentEm(deps.orm, env),
    code,
    { clientId: client.id, redirectUri, codeChallenge: s256(verifier), refreshable: client.grantTypes.includes('refresh_token') },
    planned,
  );
  if (redeemed) {
    const { code: record, user, grants } = redeemed;
    const holder = { user, roles: grants?.roles ?? [], permissions: grants?.permissions ?? [] };
    const { response } = await signUserTokens(env, client, { details: record, holder, sessionId: record.sessionId, idToken: { nonce: record.nonce }, refreshToken: null, planned });
    await auditUserGrant(deps, request, client, {
      issued: {
        grantType: AUTHORIZATION_CODE,
        holder,
        organizationId: record.organizationId,
        jti: planned.jti,
        resource: record.resource,
        scopes: record.scopes,
        extra: { refreshToken: false, idToken: !!response.id_token },
      },
    });
    return response;
  }

  // Anything else in a transaction, under the code's row lock: it finds out what is wrong.
  const outcome = await environmentEm(deps.orm, env).transactional(async (em) => {
    const redemption = await redeemCode(em, code, client.id);
    if (!redemption.ok) return { failure: redemption.reason };
    const record = redemption.code;
    if (record.redirectUri !== redirectUri) return { failure: 'redirect_uri_mismatch' as const };
    if (!pkceMatches(verifier, record.codeChallenge)) return { failure: 'pkce_mismatch' as const };
    if (record.sessionId) {
      const session = await new UserSessionRepository(em).find(record.sessionId);
      if (!session || !isLive(session)) return { failure: 'session_ended' as const };
    }
    const holder = await holderOf(em, record.userId, record.organizationId);
    const tokens = await issueUserTokens(em, env, client, {
      details: record,
      holder,
      sessionId: record.sessionId,
      source: record,
      idToken: { nonce: record.nonce },
      refresh: 'new',
      codeId: record.id,
    });
    return { tokens, record, holder };
  });

  if ('failure' in outcome) {
    if (outcome.failure === 'replayed') await auditUserGrant(deps, request, client, { replayed: 'oauth.code_replayed' });
    throw new OAuthError('invalid_grant', outcome.failure === 'redirect_uri_mismatch' ? 'redirect_uri does not match the authorization request' : 'The authorization code is invalid, expired or already used');
  }
  const { tokens, record, holder } = outcome;
  await auditUserGrant(deps, request, client, {
    issued: {
      grantType: AUTHORIZATION_CODE,
      holder,
      organizationId: record.organizationId,
      jti: record.accessTokenJti,
      resource: record.resource,
      scopes: record.scopes,
      extra: { refreshToken: !!tokens.refresh_token, idToken: !!tokens.id_token },
    },
  });
  return tokens;
};
