import { decodeJwt, jwtVerify, type JWTPayload } from 'jose';
import { parseScope } from '../form.js';
import type { OAuthDeps, OAuthRequest } from '../context.js';
import type { ClientState } from '../oauth-cache.js';
import { invalidRequest, OAuthError } from '../oauth-error.js';
import { isRevoked, signAccessToken, TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_JWT, verifyOwnToken, type Actor } from '../tokens.js';
import type { Grant } from './grant.js';
import { selectAudience, selectScopes } from './policy.js';

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCEPTED_TYPES = [TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_JWT];
const EXTERNAL_ALGORITHMS = ['ES256', 'ES384', 'RS256', 'PS256', 'EdDSA'];
/** Delegation chains deeper than this are refused. */
const MAX_ACT_DEPTH = 5;

/** A verified input token: ours, or a trusted issuer's. */
interface InputToken {
  issuer: string;
  own: boolean;
  /** For our own tokens: the client it was issued to. */
  owner?: ClientState;
  payload: JWTPayload & { scope?: string; act?: Actor; org_id?: string; client_id?: string };
}

function actDepth(act: Actor | undefined): number {
  let depth = 0;
  for (let current = act; current; current = current.act) depth += 1;
  return depth;
}

function checkAct(value: unknown): Actor | undefined {
  if (value === undefined) return undefined;
  const walk = (node: unknown, depth: number): Actor => {
    if (!node || typeof node !== 'object' || typeof (node as Actor).sub !== 'string' || depth > MAX_ACT_DEPTH) throw invalidRequest('The token carries a malformed or too deep act claim');
    const { sub, iss, act } = node as Actor;
    return { sub, ...(typeof iss === 'string' ? { iss } : {}), ...(act !== undefined ? { act: walk(act, depth + 1) } : {}) };
  };
  return walk(value, 1);
}

/** Verifies a subject or actor token: ours (not revoked) or a trusted issuer's, else invalid_request (RFC 8693 §2.2.2). */
async function verifyInput(deps: OAuthDeps, request: OAuthRequest, token: string, tokenType: string | undefined, role: string): Promise<InputToken> {
  if (!tokenType) throw invalidRequest(`${role}_token_type is required`);
  if (!ACCEPTED_TYPES.includes(tokenType)) throw invalidRequest(`${role}_token_type must be an access token or a JWT`);
  const { env } = request;
  let issuer: string | undefined;
  try {
    issuer = decodeJwt(token).iss;
  } catch {
    throw invalidRequest(`The ${role}_token is not a JWT`);
  }
  if (issuer === env.issuer) {
    const payload = await verifyOwnToken(env, token);
    if (!payload) throw invalidRequest(`The ${role}_token is invalid or expired`);
    if (await isRevoked(deps.orm.em, payload.jti!)) throw invalidRequest(`The ${role}_token is revoked`);
    // The same test as introspection: a token of a deleted or disabled client is no longer active.
    const owner = await deps.cache.client(env.id, payload.client_id);
    if (!owner?.enabled) throw invalidRequest(`The ${role}_token belongs to a client that no longer exists or is disabled`);
    return { issuer, own: true, payload, owner };
  }
  const trusted = issuer ? env.trustedIssuers.get(issuer) : undefined;
  if (!trusted) throw invalidRequest(`The ${role}_token is not from this environment or an issuer it trusts`);
  try {
    const { payload } = await jwtVerify(token, trusted.getKey, {
      issuer: trusted.issuer.issuer,
      audience: trusted.issuer.audiences,
      algorithms: EXTERNAL_ALGORITHMS,
      requiredClaims: ['exp', 'sub'],
      clockTolerance: 30,
    });
    return { issuer: trusted.issuer.issuer, own: false, payload: payload as InputToken['payload'] };
  } catch {
    throw invalidRequest(`The ${role}_token is invalid or expired`);
  }
}

/**
 * RFC 8693: a client exchanges a subject token (and optionally an actor token) for a token of
 * this environment. The new token never reaches further than the subject's: its audience must
 * be one the subject's client may reach (for our tokens) and one the exchanging client may,
 * its scopes a subset of the subject token's and of the client's, and it expires no later than
 * the subject token. With an actor token the delegation is recorded in `act`, the earlier actors
 * nested inside (§4.1).
 */
export const tokenExchange: Grant = async (deps, request, client) => {
  if (!client.grantTypes.includes(TOKEN_EXCHANGE)) throw new OAuthError('unauthorized_client', 'This client may not use token exchange');
  const { env, params } = request;
  const requestedType = params.get('requested_token_type');
  if (requestedType && requestedType !== TOKEN_TYPE_ACCESS_TOKEN && requestedType !== TOKEN_TYPE_JWT) {
    throw invalidRequest('Only access tokens can be requested');
  }
  const subject = await verifyInput(deps, request, params.require('subject_token'), params.get('subject_token_type'), 'subject');
  const actorToken = params.get('actor_token');
  if (!actorToken && params.has('actor_token_type')) throw invalidRequest('actor_token_type without actor_token');
  const actor = actorToken ? await verifyInput(deps, request, actorToken, params.get('actor_token_type'), 'actor') : undefined;

  const subjectAct = checkAct(subject.payload.act);
  const act: Actor | undefined = actor
    ? { sub: actor.payload.sub!, ...(actor.own ? {} : { iss: actor.issuer }), ...(subjectAct ? { act: subjectAct } : {}) }
    : subjectAct;
  if (actDepth(act) > MAX_ACT_DEPTH) throw invalidRequest('The delegation chain is too long');

  const subjectClient = subject.own ? subject.owner! : null;
  if (subjectClient) {
    // The exchanging client must be a party the subject token was meant for (it serves, or may
    // itself call, the token's audience): a client cannot re-target tokens it merely got hold of.
    const subjectAudiences = ([] as string[]).concat(subject.payload.aud ?? []);
    if (!subjectAudiences.some((audience) => client.allowedAudiences.includes(audience))) {
      throw invalidRequest("The subject_token's audience is not one this client may use");
    }
    // An organization's service account acts only for its own organization.
    if (client.organizationId && subject.payload.org_id !== client.organizationId) {
      throw invalidRequest('The subject_token belongs to another organization');
    }
  }
  // The subject's grant bounds the audience: for our tokens, what its own client may reach.
  const within = subjectClient ? subjectClient.allowedAudiences : undefined;
  const requestedAudiences = [...params.all('resource'), ...params.all('audience')];
  const resource = selectAudience(env, client, requestedAudiences, within);

  const subjectScopes = new Set((typeof subject.payload.scope === 'string' ? subject.payload.scope : '').split(' ').filter(Boolean));
  const allowed = new Set([...client.allowedScopes].filter((scope) => subjectScopes.has(scope)));
  const scope = selectScopes(parseScope(params.get('scope')), allowed, resource);

  const now = Math.floor(Date.now() / 1000);
  const lifetime = Math.min(client.accessTokenTtl, subject.payload.exp! - now);
  if (lifetime <= 0) throw invalidRequest('The subject_token has expired');
  const orgId = subject.own ? subject.payload.org_id : undefined;
  const issued = await signAccessToken(env, {
    subject: subject.payload.sub!,
    clientId: client.id,
    audience: resource.identifier,
    scope,
    lifetime,
    extra: { ...client.customClaims, ...(orgId ? { org_id: orgId } : {}), ...(act ? { act } : {}) },
  });
  await deps.audit.append(
    { principal: null, client: { id: client.id, name: client.name }, meta: request.meta },
    {
      action: 'oauth.token_exchanged',
      workspaceId: env.workspaceId,
      environmentId: env.id,
      organizationId: orgId ?? null,
      targets: [
        { type: 'oauth_client', id: client.id, name: client.name },
        { type: 'resource_server', id: resource.id, name: resource.identifier },
        ...(subjectClient ? [{ type: 'oauth_client', id: subjectClient.id, name: subjectClient.name }] : []),
      ],
      after: {
        grantType: TOKEN_EXCHANGE,
        jti: issued.jti,
        audience: resource.identifier,
        scope,
        expiresAt: new Date(issued.claims.exp! * 1000),
        subject: { iss: subject.issuer, sub: subject.payload.sub, jti: subject.payload.jti ?? null },
        actor: actor ? { iss: actor.issuer, sub: actor.payload.sub, jti: actor.payload.jti ?? null } : null,
        delegation: act ?? null,
      },
    },
  );
  return {
    access_token: issued.token,
    token_type: 'Bearer',
    expires_in: lifetime,
    issued_token_type: TOKEN_TYPE_ACCESS_TOKEN,
    ...(scope.length ? { scope: scope.join(' ') } : {}),
  };
};
