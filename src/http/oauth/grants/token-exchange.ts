import { decodeJwt, jwtVerify, type JWTPayload } from 'jose';
import { parseScope } from '../form.js';
import type { OAuthDeps, OAuthRequest } from '../context.js';
import type { ClientState } from '../oauth-cache.js';
import { invalidRequest, OAuthError } from '../oauth-error.js';
import { isCleanText } from '../../../modules/text.js';
import { liveToken } from '../token-status.js';
import { MAX_EXCHANGE_CHAIN, signAccessToken, TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_JWT, type Actor, type ExchangeLink } from '../tokens.js';
import type { Grant } from './grant.js';
import { selectAudience, selectScopes } from './policy.js';

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCEPTED_TYPES = [TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_JWT];
const EXTERNAL_ALGORITHMS = ['ES256', 'ES384', 'RS256', 'PS256', 'EdDSA'];
/** Delegation chains deeper than this are refused. */
const MAX_ACT_DEPTH = 5;
/** Subjects and actors of other issuers: OIDC's bound for `sub` (Core §2). */
const MAX_EXTERNAL_ID_LENGTH = 255;

/** A verified input token: ours, or a trusted issuer's. */
interface InputToken {
  issuer: string;
  own: boolean;
  /** For our own tokens: the client it was issued to. */
  owner?: ClientState;
  /** For our own tokens: the client whose grant bounds every exchange of it (see LiveToken.root). */
  root?: ClientState;
  /** For our own tokens: the tokens it was exchanged from. */
  chain?: ExchangeLink[];
  /** For our own tokens: exchanged before chains were recorded, so its root is unknown. */
  legacyExchange?: boolean;
  payload: JWTPayload & { scope?: string; act?: Actor; org_id?: string; client_id?: string };
}

function actDepth(act: Actor | undefined): number {
  let depth = 0;
  for (let current = act; current; current = current.act) depth += 1;
  return depth;
}

/** An identifier another issuer asserts (sub, jti, an actor's sub or iss): bounded, clean text. */
const externalId = (value: unknown, max = MAX_EXTERNAL_ID_LENGTH): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= max && isCleanText(value);

/**
 * The `act` chain of an input token (RFC 8693 §4.1). An actor without `iss` is one of the
 * issuer of the token that names it: for our tokens, a client of this environment; for a
 * trusted issuer's, one of that issuer. So every entry that came from outside gets its issuer
 * written in, and an outside token may not name actors of this environment at all: otherwise a
 * trusted issuer could mint delegations that read as our own clients'.
 */
function checkAct(value: unknown, input: { own: boolean; issuer: string }, ownIssuer: string): Actor | undefined {
  if (value === undefined) return undefined;
  const malformed = () => invalidRequest('The token carries a malformed or too deep act claim');
  const walk = (node: unknown, depth: number): Actor => {
    if (!node || typeof node !== 'object' || depth > MAX_ACT_DEPTH) throw malformed();
    const { sub, iss, act } = node as Actor;
    // Our own entries may hold namespaced outside subjects (`<issuer>#<sub>`): longer.
    if (!externalId(sub, input.own ? 1024 : MAX_EXTERNAL_ID_LENGTH) || (iss !== undefined && !externalId(iss, 1024))) throw malformed();
    if (!input.own && iss === ownIssuer) throw invalidRequest('A token of another issuer cannot name actors of this environment');
    const issuer = iss ?? (input.own ? undefined : input.issuer);
    return { sub, ...(issuer !== undefined ? { iss: issuer } : {}), ...(act !== undefined ? { act: walk(act, depth + 1) } : {}) };
  };
  return walk(value, 1);
}

/**
 * The subject of the new token. An outside subject is namespaced by its issuer
 * (`<issuer>#<sub>`; trusted issuer identifiers never hold a `#`), so that no trusted issuer can
 * mint a token whose `sub` reads as one of this environment's clients or users.
 */
const subjectOf = (input: InputToken): string => (input.own ? input.payload.sub! : `${input.issuer}#${input.payload.sub}`);

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
    // The same test as introspection: revoked, of a deleted or disabled client, or derived from
    // such a token, it is no longer active.
    const live = await liveToken(deps, env, token);
    if (!live) throw invalidRequest(`The ${role}_token is invalid, expired, revoked, or of a disabled client`);
    return { issuer, own: true, payload: live.claims, owner: live.owner, root: live.root, chain: live.chain, legacyExchange: live.legacyExchange };
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
    // What the issuer asserts goes into our tokens and the audit trail: it must be storable.
    if (!externalId(payload.sub) || (payload.jti !== undefined && !externalId(payload.jti))) {
      throw invalidRequest(`The ${role}_token carries a malformed sub or jti`);
    }
    return { issuer: trusted.issuer.issuer, own: false, payload: payload as InputToken['payload'] };
  } catch (error) {
    if (error instanceof OAuthError) throw error;
    throw invalidRequest(`The ${role}_token is invalid or expired`);
  }
}

/**
 * RFC 8693: a client exchanges a subject token (and optionally an actor token) for a token of
 * this environment. The new token never reaches further than the subject's: its audience must
 * be one the exchanging client may reach and, for our tokens, one the subject's first client
 * may (its root: carried through every hop, so a chain of exchanges cannot climb from one
 * exchanger's reach to the next); its scopes a subset of the subject token's and of the
 * client's; and it expires no later than the subject token. It lists the tokens it derives from,
 * and stops when any of them is revoked or any of their clients disabled. With an actor token the
 * delegation is recorded in `act`, the earlier actors nested inside (§4.1).
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

  const subjectAct = checkAct(subject.payload.act, subject, env.issuer);
  const act: Actor | undefined = actor
    ? { sub: actor.payload.sub!, ...(actor.own ? {} : { iss: actor.issuer }), ...(subjectAct ? { act: subjectAct } : {}) }
    : subjectAct;
  if (actDepth(act) > MAX_ACT_DEPTH) throw invalidRequest('The delegation chain is too long');

  const subjectClient = subject.own ? subject.owner! : null;
  if (subjectClient) {
    if (subject.legacyExchange) throw invalidRequest('The subject_token was exchanged before exchange chains were recorded; exchange the original token');
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
  // The organization the exchange happens in: the subject's, or for an outside subject the
  // exchanging client's. An organization's account may act only within it, so an actor token
  // of another organization is refused as much as a subject token of one.
  const orgId = subject.own ? subject.payload.org_id : undefined;
  const exchangeOrg = subject.own ? orgId : (client.organizationId ?? undefined);
  if (actor?.own && actor.payload.org_id !== undefined && actor.payload.org_id !== exchangeOrg) {
    throw invalidRequest('The actor_token belongs to another organization');
  }

  // The subject's grant bounds the audience: for our tokens, what the chain's root client may
  // reach (not the subject token's own client, which after an exchange is the exchanger).
  const within = subject.own ? subject.root!.allowedAudiences : undefined;
  const requestedAudiences = [...params.all('resource'), ...params.all('audience')];
  const resource = selectAudience(env, client, requestedAudiences, within);

  const subjectScopes = new Set((typeof subject.payload.scope === 'string' ? subject.payload.scope : '').split(' ').filter(Boolean));
  const allowed = new Set([...client.allowedScopes].filter((scope) => subjectScopes.has(scope)));
  const scope = selectScopes(parseScope(params.get('scope')), allowed, resource);

  const exchangedFrom: ExchangeLink[] = subject.own ? [...subject.chain!, { jti: subject.payload.jti!, client_id: subject.payload.client_id! }] : [];
  if (exchangedFrom.length > MAX_EXCHANGE_CHAIN) throw invalidRequest('The subject_token has been exchanged too many times');

  const now = Math.floor(Date.now() / 1000);
  const lifetime = Math.min(client.accessTokenTtl, subject.payload.exp! - now);
  if (lifetime <= 0) throw invalidRequest('The subject_token has expired');
  const issued = await signAccessToken(env, {
    subject: subjectOf(subject),
    clientId: client.id,
    audience: resource.identifier,
    scope,
    lifetime,
    extra: { ...client.customClaims, ...(orgId ? { org_id: orgId } : {}), ...(act ? { act } : {}) },
    exchangedFrom,
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
        ...(subject.root && subject.root !== subjectClient ? [{ type: 'oauth_client', id: subject.root.id, name: subject.root.name }] : []),
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
        exchangedFrom,
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
