import type { EntityManager } from '@mikro-orm/core';
import * as client from 'openid-client';
import { hashSecret, randomToken } from '../../crypto/secrets.js';
import type { SecretBox } from '../../crypto/at-rest.js';
import { newInternalId } from '../../db/id.js';
import { OrganizationDomainRepository } from '../organization/organization.repository.js';
import { SsoConnectionStatus, SsoConnectionType, type SsoConnection } from './connection.entity.js';
import { OidcRequestRepository, SsoConnectionRepository } from './connection.repository.js';
import { secretBinding } from './connection.service.js';
import { oidcRedirectUri } from './connection.urls.js';
import { openTrace, traceStep, type TraceSettings } from './sso-trace.service.js';
import type { OidcRequest } from './oidc-request.entity.js';
import type { OidcClaims, OidcFailure, OidcRelyingParty, OidcClientSettings } from './oidc/relying-party.js';
import type { SsoIdentity } from './saml-request.entity.js';
import { identityFromProfile, MAX_PENDING_REQUESTS_PER_FLOW, type SsoEnvironment } from './saml-sign-in.service.js';

/** A person has this long at their provider before the request is refused. */
export const OIDC_REQUEST_TTL_MS = 10 * 60_000;

/** Whether an OIDC connection has what signing in needs. */
export const oidcReady = (connection: SsoConnection): connection is SsoConnection & OidcClientSettings =>
  connection.type === SsoConnectionType.OIDC &&
  connection.status === SsoConnectionStatus.ACTIVE &&
  connection.oidcIssuer !== null &&
  connection.oidcClientId !== null &&
  connection.oidcClientSecretSealed !== null;

/** The provider's configuration for a ready connection (discovery through the relying party's cache). */
export function providerOf(rp: OidcRelyingParty, box: SecretBox, connection: SsoConnection & OidcClientSettings) {
  return rp.configuration(connection, box.open(connection.oidcClientSecretSealed!, secretBinding(connection.id)));
}

/**
 * Starts sign-in at the organization's OpenID Provider: a pending request kept for the flow
 * (state hashed, nonce, PKCE verifier) and the provider URL the browser goes to. Null past
 * MAX_PENDING_REQUESTS_PER_FLOW. Run in a transaction; the provider's configuration was
 * discovered before it.
 */
export async function startOidcSignIn(
  em: EntityManager,
  env: SsoEnvironment,
  rp: OidcRelyingParty,
  config: client.Configuration,
  connection: SsoConnection & OidcClientSettings,
  flow: { id: string; forceAuthn: boolean; maxAge: number | null; loginHint: string | null },
  trace: TraceSettings,
  now = new Date(),
): Promise<URL | null> {
  const requests = new OidcRequestRepository(em);
  if ((await requests.pendingOfFlow(flow.id, now)) >= MAX_PENDING_REQUESTS_PER_FLOW) return null;
  const state = randomToken();
  const nonce = randomToken();
  const codeVerifier = client.randomPKCECodeVerifier();
  const traced = openTrace(em, connection, trace, { flowId: flow.id }, now);
  requests.create({
    id: newInternalId('oidcRequest'),
    environmentId: env.id,
    connectionId: connection.id,
    flowId: flow.id,
    stateHash: hashSecret(state),
    nonce,
    codeVerifier,
    traceId: traced.id,
    maxAge: flow.maxAge,
    forceAuthn: flow.forceAuthn,
    expiresAt: new Date(now.getTime() + OIDC_REQUEST_TTL_MS),
  });
  const endpoint = config.serverMetadata().authorization_endpoint;
  traceStep(traced, trace.requestId, 'request_sent', true, `Authorization request to ${endpoint} for ${connection.oidcScopes.join(' ')}${flow.forceAuthn ? ' (prompt=login)' : ''}`, now);
  await em.flush();
  return rp.authorizationUrl(config, connection, {
    redirectUri: oidcRedirectUri(env.issuer),
    state,
    nonce,
    codeChallenge: await client.calculatePKCECodeChallenge(codeVerifier),
    forceAuthn: flow.forceAuthn,
    maxAge: flow.maxAge,
    loginHint: flow.loginHint,
  });
}

/** Whether a flow may start another sign-in at a provider (checked before discovery, which costs a request out). */
export async function mayStartOidcSignIn(em: EntityManager, flowId: string, now = new Date()): Promise<boolean> {
  return (await new OidcRequestRepository(em).pendingOfFlow(flowId, now)) < MAX_PENDING_REQUESTS_PER_FLOW;
}

/** The pending request a callback's `state` names, unlocked, to find its flow; null when unknown. */
export function pendingOidcRequest(em: EntityManager, state: string): Promise<OidcRequest | null> {
  return state ? new OidcRequestRepository(em).byStateHash(hashSecret(state)) : Promise.resolve(null);
}

/**
 * Uses up a pending request whose answer came back in a browser that does not hold its flow:
 * a provider link forwarded to someone else. The code in that URL then signs nobody in, even if
 * the URL travels back to the browser that started the flow. Run in a transaction.
 */
export async function abandonOidcRequest(em: EntityManager, state: string, now = new Date()): Promise<void> {
  const request = await new OidcRequestRepository(em).lockByStateHash(hashSecret(state));
  if (request && !request.completedAt) {
    request.completedAt = now;
    await em.flush();
  }
}

/**
 * Uses the pending request a callback's state names, once and in time, when it was sent for the
 * flow the browser holds and for this kind of connection (an organization's, or a social one);
 * null when it was not. Run in a transaction.
 */
export async function useOidcRequest(
  em: EntityManager,
  input: { state: string; flowId: string; sentFor: 'connectionId' | 'socialConnectionId' },
  now = new Date(),
): Promise<OidcRequest | { reason: string; detail: string } | null> {
  const request = await new OidcRequestRepository(em).lockByStateHash(hashSecret(input.state));
  if (!request?.[input.sentFor] || request.flowId !== input.flowId) return null;
  if (request.completedAt) return { reason: 'replayed', detail: 'The provider\'s answer was used before' };
  if (request.expiresAt.getTime() <= now.getTime()) return { reason: 'request_expired', detail: 'The sign-in took too long' };
  request.completedAt = now;
  await em.flush();
  return request;
}

/**
 * Uses the pending request a callback names, once, in time, for the flow the browser holds, with
 * its connection still ready. Run in a transaction.
 */
export async function takeOidcRequest(
  em: EntityManager,
  input: { state: string; flowId: string },
  now = new Date(),
): Promise<{ request: OidcRequest; connection: SsoConnection & OidcClientSettings } | { reason: string; detail: string } | null> {
  const request = await useOidcRequest(em, { ...input, sentFor: 'connectionId' }, now);
  if (!request || 'reason' in request) return request;
  const connection = await new SsoConnectionRepository(em).find(request.connectionId!);
  if (!connection || !oidcReady(connection)) return { reason: 'connection_unavailable', detail: 'The connection is switched off or incomplete' };
  return { request, connection };
}

/** Claims as a SAML-like attribute map (strings, arrays of strings), for the shared identity rules. */
function attributesOf(claims: OidcClaims): Record<string, string[]> {
  const attributes: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(claims)) {
    const values = (Array.isArray(value) ? value : [value]).filter((entry) => typeof entry === 'string' || typeof entry === 'number' || typeof entry === 'boolean');
    if (values.length) attributes[name] = values.map(String);
  }
  return attributes;
}

/**
 * The person of validated claims, under the same rules as a SAML assertion: an email address of
 * a verified domain of the organization unless the connection admits guests. A provider that
 * says the address is not verified (`email_verified: false`) is not believed about it.
 */
export async function oidcIdentity(em: EntityManager, connection: SsoConnection, claims: OidcClaims): Promise<{ ok: true; identity: SsoIdentity } | { ok: false; reason: string; detail: string }> {
  if (claims.email_verified === false || claims.email_verified === 'false') {
    return { ok: false, reason: 'email_not_verified', detail: 'The provider says the email address is not verified' };
  }
  const verifiedDomains = await new OrganizationDomainRepository(em).verifiedNamesOf(connection.organizationId);
  const identity = identityFromProfile(connection, { subject: claims.sub, attributes: attributesOf(claims) }, verifiedDomains, false);
  if (!identity) return { ok: false, reason: 'no_email', detail: 'The provider named no usable email address' };
  if (!identity.inVerifiedDomain && !connection.allowGuestDomains) {
    return { ok: false, reason: 'domain_not_allowed', detail: 'The email address is not in a verified domain of the organization' };
  }
  return { ok: true, identity };
}

export type { OidcFailure };
