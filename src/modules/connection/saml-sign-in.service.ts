import type { EntityManager } from '@mikro-orm/core';
import { randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { recordAudit, type RequestMeta } from '../../audit/audit-recorder.js';
import { hashSecret, randomToken, secretMatchesHash } from '../../crypto/secrets.js';
import { isIdOf, newInternalId } from '../../db/id.js';
import { hasHiddenCharacters } from '../text.js';
import { effectiveMapping, normalizeProfile } from './attribute-mapping.js';
import { OrganizationDomainRepository } from '../organization/organization.repository.js';
import { OAuthClientRepository } from '../oauth-client/oauth-client.repository.js';
import { SsoConnectionStatus, SsoConnectionType, type SsoConnection } from './connection.entity.js';
import type { SpKey } from './sp-key.entity.js';
import { SamlRequestRepository, SsoConnectionRepository } from './connection.repository.js';
import { samlServiceProvider } from './connection.urls.js';
import type { SecretBox } from '../../crypto/at-rest.js';
import { signRedirect, spKeysOf } from './sp-key.service.js';
import { MAX_TRACE_STEPS, newTrace, traceStep, type TraceSettings } from './sso-trace.service.js';
import { SamlRequest, type SsoIdentity } from './saml-request.entity.js';
import { validateSamlResponse } from './saml/validate-saml-response.js';
import { escapeXml } from './saml/saml-xml.js';
import type { SamlSuccess, SamlValidationResult } from './saml/saml-validation.types.js';
import { isEmailAddress } from '../validation.js';

/** A person has this long at their IdP before the request is refused. */
export const SAML_REQUEST_TTL_MS = 10 * 60_000;
/** Pending requests per flow: a person retries a few times; a script looping on `start` gets no more rows. */
export const MAX_PENDING_REQUESTS_PER_FLOW = 10;
const PROTOCOL = 'urn:oasis:names:tc:SAML:2.0:protocol';
const ASSERTION = 'urn:oasis:names:tc:SAML:2.0:assertion';
const POST_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';

/** The environment as this service needs it. */
export interface SsoEnvironment {
  id: string;
  workspaceId: string;
  issuer: string;
}


/** The active connection of the organization that verified `domain`, or null. */
async function connectionForDomain(em: EntityManager, environmentId: string, domain: string): Promise<SsoConnection | null> {
  return domain ? new SsoConnectionRepository(em).activeOfVerifiedDomain(environmentId, domain.toLowerCase()) : null;
}

/** The organization's active connection for an email address's verified domain, or null (home-realm discovery). */
export function connectionForEmail(em: EntityManager, environmentId: string, email: string): Promise<SsoConnection | null> {
  return connectionForDomain(em, environmentId, email.slice(email.lastIndexOf('@') + 1));
}

/**
 * Where an authorization request's routing hints lead, in this order: `connection_id` (an
 * active connection), `organization_id` (its active connection), `domain_hint` and
 * `login_hint` (a verified domain's organization); null when none does, and the person types
 * an email address instead. Hints name nothing of another environment: reads are scoped.
 */
export async function connectionForHints(
  em: EntityManager,
  environmentId: string,
  hints: { connectionId: string | null; organizationId: string | null; domainHint: string | null; loginHint: string | null },
): Promise<SsoConnection | null> {
  const connections = new SsoConnectionRepository(em);
  if (hints.connectionId && isIdOf('ssoConnection', hints.connectionId)) {
    const named = await connections.find(hints.connectionId);
    if (named?.status === SsoConnectionStatus.ACTIVE) return named;
  }
  if (hints.organizationId && isIdOf('organization', hints.organizationId)) {
    const found = await connections.activeOf(hints.organizationId);
    if (found) return found;
  }
  if (hints.domainHint) {
    const found = await connectionForDomain(em, environmentId, hints.domainHint);
    if (found) return found;
  }
  return hints.loginHint?.includes('@') ? connectionForEmail(em, environmentId, hints.loginHint) : null;
}

/**
 * Starts SP-initiated sign-in (SAML Profiles §4.1.3): a pending request kept for the flow, and
 * the IdP URL the browser goes to with the AuthnRequest (HTTP-Redirect binding, §3.4 of
 * Bindings: DEFLATE, base64, URL-encoded). Null past MAX_PENDING_REQUESTS_PER_FLOW. The request
 * and its trace are written together in one statement; no transaction is needed.
 */
export async function startSamlSignIn(
  em: EntityManager,
  env: SsoEnvironment,
  connection: SsoConnection,
  flow: { id: string; /** The application asked for a fresh sign-in (prompt=login, max_age): the IdP must not reuse its session. */ forceAuthn: boolean },
  trace: TraceSettings,
  box: SecretBox,
  now = new Date(),
  /** The flow's pending requests and the connection's SP keys, when the caller read them with the connection (`samlConnectionForSignIn`). */
  loaded?: { pendingRequests: number; spKeys: SpKey[] },
): Promise<string | null> {
  const flowId = flow.id;
  const requests = new SamlRequestRepository(em);
  if ((loaded?.pendingRequests ?? (await requests.pendingOfFlow(flowId, now))) >= MAX_PENDING_REQUESTS_PER_FLOW) return null;
  const { spEntityId, acsUrl } = samlServiceProvider(env.issuer, connection.id);
  // xs:ID: an NCName, so not starting with a digit.
  const requestId = `_${randomBytes(20).toString('hex')}`;
  const traced = newTrace(em, connection, trace, { flowId }, now);
  const pending = em.create(
    SamlRequest,
    {
      id: newInternalId('samlRequest'),
      environmentId: env.id,
      connectionId: connection.id,
      flowId,
      requestId,
      traceId: traced.id,
      expiresAt: new Date(now.getTime() + SAML_REQUEST_TTL_MS),
    },
    { persist: false },
  );
  const xml =
    `<samlp:AuthnRequest xmlns:samlp="${PROTOCOL}" xmlns:saml="${ASSERTION}" ID="${requestId}" Version="2.0" IssueInstant="${now.toISOString()}"` +
    ` Destination="${escapeXml(connection.idpSsoUrl!)}" AssertionConsumerServiceURL="${escapeXml(acsUrl)}" ProtocolBinding="${POST_BINDING}"` +
    `${flow.forceAuthn ? ' ForceAuthn="true"' : ''}>` +
    `<saml:Issuer>${escapeXml(spEntityId)}</saml:Issuer>` +
    '<samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified" AllowCreate="true"/>' +
    '</samlp:AuthnRequest>';
  traced.samlRequest = xml;
  traceStep(traced, trace.requestId, 'request_sent', true, `AuthnRequest ${requestId} to ${connection.idpSsoUrl}${flow.forceAuthn ? ' (ForceAuthn)' : ''}`, now);
  // The request and its trace: one statement, no transaction needed.
  await requests.insertWithTrace(pending, traced);
  const url = new URL(connection.idpSsoUrl!);
  url.searchParams.set('SAMLRequest', deflateRawSync(Buffer.from(xml)).toString('base64'));
  url.searchParams.set('RelayState', pending.id);
  signRedirect(url, loaded?.spKeys ?? (await spKeysOf(em, connection.id)), box);
  return url.toString();
}


/**
 * A connection that speaks SAML (SAML or SIMULATOR, any status) by id, with its SP keys, its
 * organization's verified domain names and, for `pendingOf`, the number of the flow's pending
 * requests: one statement. Null when there is
 * no such connection in the EntityManager's scope.
 */
export async function samlConnectionForSignIn(
  em: EntityManager,
  id: string,
  pendingOf?: { flowId: string; now: Date },
): Promise<{ connection: SsoConnection; spKeys: SpKey[]; pendingRequests: number; verifiedDomains: string[] } | null> {
  if (!isIdOf('ssoConnection', id)) return null;
  const found = await new SsoConnectionRepository(em).withSpKeys(id, pendingOf);
  return found && (found.connection.type === SsoConnectionType.SAML || found.connection.type === SsoConnectionType.SIMULATOR) ? found : null;
}

/** An answer matched to its request, or why not (with the request when one was found, for its trace). */
export type SamlAnswer = { ok: true; request: SamlRequest; answerToken: string } | { ok: false; reason: string; detail: string; request?: SamlRequest };


/**
 * The person an IdP vouched for (a verified assertion's NameID and attributes, or an OIDC
 * provider's `sub` and claims), read through the connection's attribute mapping: the email
 * from the mapped attribute, else from an email-shaped subject. Null without a usable address.
 */
export function identityFromProfile(
  connection: Pick<SsoConnection, 'provider' | 'attributeMapping'>,
  profile: { subject: string; attributes: Record<string, string[]>; friendlyNames?: Record<string, string> },
  verifiedDomains: readonly string[],
  /** SAML: a NameID in emailAddress format is the address. OIDC: only the `email` claim is, which `email_verified` speaks for. */
  subjectMayBeEmail = true,
): SsoIdentity | null {
  const { subject } = profile;
  const person = normalizeProfile(effectiveMapping(connection.provider, connection.attributeMapping), profile);
  const email = (person.email ?? (subjectMayBeEmail && isEmailAddress(subject.toLowerCase()) ? subject : null))?.toLowerCase();
  if (!email || !isEmailAddress(email) || hasHiddenCharacters(email) || !subject || subject.length > 1024) return null;
  return {
    email,
    inVerifiedDomain: verifiedDomains.includes(email.slice(email.lastIndexOf('@') + 1)),
    givenName: person.givenName ?? (person.name && !person.familyName ? person.name : null),
    familyName: person.familyName,
    nameId: subject,
    groups: person.groups,
    custom: person.custom,
    raw: profile.attributes,
  };
}

/** Validates an IdP's response against the connection's trust settings and SP decryption keys (no database). */
export function validateForConnection(env: SsoEnvironment, connection: SsoConnection, samlResponse: string, decryptionKeys: string[] = [], now = new Date()): Promise<SamlValidationResult> {
  const { spEntityId, acsUrl } = samlServiceProvider(env.issuer, connection.id);
  return validateSamlResponse(samlResponse, {
    idpEntityId: connection.idpEntityId!,
    idpCertificates: connection.idpCertificates.map((certificate) => certificate.pem),
    spEntityId,
    acsUrl,
    requireSignedAssertion: connection.requireSignedAssertion,
    allowSha1: connection.allowSha1,
    decryptionKeys,
    now,
  });
}

/**
 * A validated answer at the ACS, matched to a pending request of this connection
 * (InResponseTo; once, in time). `firstUse` says whether its assertion id was claimed against
 * replay in every process (done before, outside the transaction). The person's email must be
 * in a verified domain of the organization unless the connection admits guests. The identity
 * is kept on the request for the browser's return. Run in a transaction.
 */
export async function answerSamlRequest(
  em: EntityManager,
  connection: SsoConnection,
  validated: SamlSuccess,
  firstUse: boolean,
  now = new Date(),
): Promise<SamlAnswer> {
  if (!validated.inResponseTo) return { ok: false, reason: 'unsolicited', detail: 'The response answers no request (IdP-initiated sign-in is not enabled)' };
  // The request with its trace and the verified domains of its connection's organization, in one statement.
  const locked = await new SamlRequestRepository(em).lockForAnswer(validated.inResponseTo);
  const request = locked?.request;
  if (!locked || !request || request.connectionId !== connection.id) return { ok: false, reason: 'in_response_to', detail: 'The response answers no pending request of this connection' };
  if (request.answeredAt || !firstUse) return { ok: false, reason: 'replayed', detail: 'The request was answered, or the assertion used, before' };
  if (request.expiresAt.getTime() <= now.getTime()) return { ok: false, reason: 'request_expired', detail: 'The sign-in took too long', request };
  // The request's connection is `connection` (checked above): these are its organization's.
  const { verifiedDomains } = locked;
  const identity = identityFromProfile(connection, { subject: validated.nameId, attributes: validated.attributes, friendlyNames: validated.friendlyNames }, verifiedDomains);
  if (!identity) return { ok: false, reason: 'no_email', detail: 'The assertion carries no usable email address', request };
  if (!identity.inVerifiedDomain && !connection.allowGuestDomains) {
    return { ok: false, reason: 'domain_not_allowed', detail: 'The email address is not in a verified domain of the organization', request };
  }
  const answerToken = randomToken();
  request.answeredAt = now;
  request.identity = identity;
  request.answerTokenHash = hashSecret(answerToken);
  await em.flush();
  return { ok: true, request, answerToken };
}

/**
 * `answerSamlRequest` in one statement, without a transaction, when nothing stands in its way:
 * the assertion's first use, a person with a usable address the connection admits (by
 * `verifiedDomains`, its organization's, read with the connection), and a pending, unexpired
 * request of this connection with its trace, which gets the response (`trace`) and its steps.
 * Null otherwise, with nothing changed: the caller then answers in a transaction
 * (`answerSamlRequest`), which finds out what is wrong and records it.
 */
export async function answerSamlRequestAtOnce(
  em: EntityManager,
  connection: SsoConnection,
  validated: SamlSuccess,
  firstUse: boolean,
  verifiedDomains: readonly string[],
  trace: { requestId: string; samlResponse: string | null; profile: Record<string, unknown>; steps: object[] },
  now = new Date(),
): Promise<{ request: { id: string; flowId: string }; answerToken: string } | null> {
  if (!validated.inResponseTo || !firstUse) return null;
  const identity = identityFromProfile(connection, { subject: validated.nameId, attributes: validated.attributes, friendlyNames: validated.friendlyNames }, verifiedDomains);
  if (!identity || (!identity.inVerifiedDomain && !connection.allowGuestDomains)) return null;
  const answerToken = randomToken();
  const request = await new SamlRequestRepository(em).answerWithTrace({
    requestId: validated.inResponseTo,
    connectionId: connection.id,
    now,
    identity,
    answerTokenHash: hashSecret(answerToken),
    trace: { ...trace, maxSteps: MAX_TRACE_STEPS },
  });
  return request && { request, answerToken };
}

/**
 * An unsolicited response (IdP-initiated sign-in, SAML Profiles §4.1.5), accepted only when the
 * connection enables it and names an application that can start a sign-in itself
 * (`initiateLoginUri`): the person is signed in here, and the application is then asked to
 * start a normal authorization request; it is never handed a code it did not ask for. Its own
 * replay protection is the assertion id, claimed in every process (`firstUse`), inside the
 * assertion's short validity. Run in a transaction.
 */
export async function acceptIdpInitiated(
  em: EntityManager,
  connection: SsoConnection,
  validated: SamlSuccess,
  firstUse: boolean,
): Promise<{ ok: true; identity: SsoIdentity; initiateLoginUri: string } | { ok: false; reason: string; detail: string }> {
  if (!connection.allowIdpInitiated) return { ok: false, reason: 'unsolicited', detail: 'The response answers no request (IdP-initiated sign-in is not enabled)' };
  if (!firstUse) return { ok: false, reason: 'replayed', detail: 'The assertion was used before' };
  const application = connection.idpInitiatedApplicationId ? await new OAuthClientRepository(em, 'application').find(connection.idpInitiatedApplicationId) : null;
  if (!application?.enabled || !application.initiateLoginUri) {
    return { ok: false, reason: 'idp_initiated_unavailable', detail: 'IdP-initiated sign-in has no application to go to (one with an initiateLoginUri)' };
  }
  const verifiedDomains = await new OrganizationDomainRepository(em).verifiedNamesOf(connection.organizationId);
  const identity = identityFromProfile(connection, { subject: validated.nameId, attributes: validated.attributes, friendlyNames: validated.friendlyNames }, verifiedDomains);
  if (!identity) return { ok: false, reason: 'no_email', detail: 'The assertion carries no usable email address' };
  if (!identity.inVerifiedDomain && !connection.allowGuestDomains) {
    return { ok: false, reason: 'domain_not_allowed', detail: 'The email address is not in a verified domain of the organization' };
  }
  return { ok: true, identity, initiateLoginUri: application.initiateLoginUri };
}

/**
 * The identity a request was answered with, for the browser that both started its flow
 * (`flowId`, checked by the caller against the browser's cookie) and brought the answer back
 * (`answerToken`, which the ACS sent only to it): once, in time, while the connection is still
 * active and, for an address claimed as the organization's, its domain still verified. Null
 * otherwise. Run in a transaction.
 */
export async function takeSamlIdentity(
  em: EntityManager,
  input: { requestId: string; flowId: string; answerToken: string },
  now = new Date(),
): Promise<{ identity: SsoIdentity; connection: SsoConnection; traceId: string | null } | null> {
  if (!/^sar_[0-9a-hjkmnp-tv-z]{26}$/.test(input.requestId)) return null;
  // The request with its connection, the organization's verified domains and its trace, in one statement.
  const found = await new SamlRequestRepository(em).lockForReturn(input.requestId);
  const locked = found?.request;
  if (!found || !locked?.identity || locked.completedAt || locked.flowId !== input.flowId || locked.expiresAt.getTime() <= now.getTime()) return null;
  if (!secretMatchesHash(locked.answerTokenHash, input.answerToken)) return null;
  const { connection } = found;
  if (connection?.status !== SsoConnectionStatus.ACTIVE) return null;
  const identity = locked.identity!;
  if (identity.inVerifiedDomain) {
    if (!found.verifiedDomains.includes(identity.email.slice(identity.email.lastIndexOf('@') + 1))) return null;
  } else if (!connection.allowGuestDomains) {
    return null;
  }
  // Written with the sign-in's flush, in the same transaction.
  locked.completedAt = now;
  return { identity, connection, traceId: locked.traceId };
}

/** `sso.signin_failed` with its reason; the IdP's detail for people, never its XML. */
export function recordSsoFailure(em: EntityManager, env: SsoEnvironment, connection: SsoConnection, failure: { reason: string; detail: string | null }, meta: RequestMeta): void {
  recordAudit(em, { principal: null, anonymous: true, meta }, {
    action: 'sso.signin_failed',
    workspaceId: env.workspaceId,
    environmentId: env.id,
    organizationId: connection.organizationId,
    targets: [{ type: 'sso_connection', id: connection.id, name: connection.name }],
    after: { reason: failure.reason, ...(failure.detail ? { detail: failure.detail } : {}) },
  });
}
