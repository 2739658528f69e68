import type { EntityManager } from '@mikro-orm/core';
import { recordAudit, type AuditActor, type RequestMeta } from '../../audit/audit-recorder.js';
import { hashSecret, randomToken, secretMatchesHash } from '../../crypto/secrets.js';
import { newId } from '../../db/id.js';
import { AppError } from '../../errors/app-error.js';
import { ClientRegistrationPolicy } from '../environment/environment.entity.js';
import type { ResourceServer } from '../resource-server/resource-server.entity.js';
import { findUncleanText } from '../text.js';
import { checkName } from '../validation.js';
import { ApplicationType, ClientKind, type OAuthClient, type TokenEndpointAuthMethod } from './oauth-client.entity.js';
import { ClientSecretRepository, OAuthClientRepository } from './oauth-client.repository.js';
import { issueClientSecret } from './oauth-client.service.js';
import { checkGrantTypes, checkJwks, checkJwksUri, checkRedirectUris, checkScopeList } from './oauth-client.validation.js';
import { checkAppRedirectUris } from './application-settings.js';
import { OIDC_SCOPES } from '../sign-in/flow.types.js';

/**
 * Dynamic client registration (RFC 7591) and its management protocol (RFC 7592), under the
 * environment's policy: OFF, INITIAL_ACCESS_TOKEN (a bearer token an admin issued) or OPEN.
 * Registered clients are DYNAMIC applications that an admin sees, edits and disables through
 * GraphQL. The HTTP endpoints (http/oauth/registration.ts) only carry requests here and answers
 * back; every EntityManager given is scoped to the issuer's environment.
 */

const AUTH_METHODS: TokenEndpointAuthMethod[] = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'];
const INTERACTIVE_GRANTS = ['authorization_code', 'refresh_token'];
/** Informational metadata kept as given (RFC 7591 §2), each a string of bounded length. */
const INFORMATIONAL = ['client_uri', 'logo_uri', 'tos_uri', 'policy_uri', 'software_id', 'software_version'] as const;
const REGISTRATION_TOKEN_PREFIX = 'ghrat_';
/** The ids of dynamically registered clients (RFC 7592 paths name them). */
const DYNAMIC_CLIENT_ID = /^app_[0-9a-hjkmnp-tv-z]{26}$/;

/** Invalid client metadata (RFC 7591 §3.2.2): the endpoint answers with `code` and the message. */
export class ClientMetadataError extends Error {
  constructor(
    readonly code: 'invalid_client_metadata' | 'invalid_redirect_uri',
    message: string,
  ) {
    super(message);
  }
}

const metadataError = (description: string) => new ClientMetadataError('invalid_client_metadata', description);

/** What registration needs to know of the issuer's environment. */
export interface RegistrationIssuer {
  id: string;
  workspaceId: string;
  registrationPolicy: ClientRegistrationPolicy;
  initialAccessTokenHash: string | null;
  registrationScopes: string[];
  resourceServers: readonly Pick<ResourceServer, 'identifier' | 'scopes'>[];
}

interface Registered {
  name: string;
  grantTypes: string[];
  authMethod: TokenEndpointAuthMethod;
  redirectUris: string[];
  scopes: string[];
  jwks: { keys: Record<string, unknown>[] } | null;
  jwksUri: string | null;
  metadata: Record<string, unknown>;
}

/**
 * A registration body as a JSON object whose every string and member name is clean text (see
 * text.ts): anything else is invalid client metadata (RFC 7591 §3.2.2), whichever member it
 * hides in, known or not, before any of it is compared, stored or audited. The transport passes
 * anything that is not a parsed JSON body as null.
 */
function metadataObject(body: unknown): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw metadataError('The body must be a JSON object of client metadata');
  const unclean = findUncleanText(body);
  if (unclean) throw metadataError(`${unclean.slice(0, 200)} holds a NUL character or text that is not well-formed Unicode, or is nested too deeply`);
  return body as Record<string, unknown>;
}

/** Validates RFC 7591 client metadata against the scopes the client may hold. */
async function checkMetadata(input: Record<string, unknown>, grantable: string[], allowPrivate: boolean): Promise<Registered> {
  try {
    // A client either signs people in (response_types ["code"], the code and refresh grants) or
    // is a machine (client_credentials): never both, so one registration cannot mix the two.
    const responseTypes = input.response_types;
    if (responseTypes !== undefined && (!Array.isArray(responseTypes) || responseTypes.some((type) => type !== 'code') || responseTypes.length > 1)) {
      throw metadataError('response_types must be ["code"] (or empty for a machine client)');
    }
    const interactive = Array.isArray(responseTypes) && responseTypes.length === 1;
    const grantTypes =
      input.grant_types === undefined
        ? interactive
          ? ['authorization_code']
          : ['client_credentials']
        : interactive
          ? interactiveGrants(input.grant_types)
          : checkGrantTypes(input.grant_types, ['grant_types']);
    // Token exchange turns other parties' tokens into new ones: an admin grants it, a client cannot register for it.
    if (interactive) {
      if (!grantTypes.includes('authorization_code') || grantTypes.some((grant) => !INTERACTIVE_GRANTS.includes(grant))) {
        throw metadataError('A client with response_types ["code"] registers authorization_code, and refresh_token if it wants it, only');
      }
    } else if (grantTypes.some((grant) => grant !== 'client_credentials')) {
      throw metadataError('Only the client_credentials grant can be registered without response_types ["code"]');
    }
    const authMethod = (input.token_endpoint_auth_method ?? 'client_secret_basic') as TokenEndpointAuthMethod;
    const methods = interactive ? [...AUTH_METHODS, 'none'] : AUTH_METHODS;
    if (!methods.includes(authMethod)) throw metadataError(`token_endpoint_auth_method must be one of ${methods.join(', ')}`);
    const applicationType = input.application_type ?? 'web';
    if (applicationType !== 'web' && applicationType !== 'native') throw metadataError('application_type must be web or native');
    if (input.jwks !== undefined && input.jwks_uri !== undefined) throw metadataError('Give jwks or jwks_uri, not both');
    const jwks = input.jwks !== undefined ? await checkJwks(input.jwks, ['jwks']) : null;
    const jwksUri = input.jwks_uri !== undefined ? checkJwksUri(input.jwks_uri, allowPrivate, ['jwks_uri']) : null;
    if (authMethod === 'private_key_jwt' && !jwks && !jwksUri) throw metadataError('private_key_jwt needs jwks or jwks_uri');
    let redirectUris: string[];
    if (interactive) {
      // OpenID Connect Dynamic Registration §2: native apps use loopback or private-use schemes (RFC 8252), web apps https.
      if (input.redirect_uris === undefined) throw new ClientMetadataError('invalid_redirect_uri', 'redirect_uris is required with response_types ["code"]');
      redirectUris = checkAppRedirectUris(applicationType === 'native' ? ApplicationType.NATIVE : ApplicationType.WEB, input.redirect_uris, ['redirect_uris']);
      if (!redirectUris.length) throw new ClientMetadataError('invalid_redirect_uri', 'redirect_uris is required with response_types ["code"]');
    } else {
      redirectUris = input.redirect_uris === undefined ? [] : checkRedirectUris(input.redirect_uris, ['redirect_uris']);
    }
    if (input.scope !== undefined && typeof input.scope !== 'string') throw metadataError('scope must be a space-separated string');
    // OpenID scopes are the person's to grant at sign-in, not the registration's: kept out of the list.
    const asked = input.scope !== undefined ? checkScopeList(input.scope.split(' ').filter(Boolean), ['scope']) : grantable;
    const requested = interactive ? asked.filter((scope) => !(OIDC_SCOPES as readonly string[]).includes(scope)) : asked;
    const refused = requested.filter((scope) => !grantable.includes(scope));
    if (refused.length) throw metadataError(`These scopes cannot be registered: ${refused.slice(0, 5).join(' ')}`);
    if (input.client_name !== undefined && typeof input.client_name !== 'string') throw metadataError('client_name must be a string');
    const name = input.client_name === undefined ? 'Dynamically registered client' : checkName(input.client_name, ['client_name']);
    const metadata: Record<string, unknown> = {};
    for (const key of INFORMATIONAL) {
      const value = input[key];
      if (value === undefined) continue;
      if (typeof value !== 'string' || value.length > 2048) throw metadataError(`${key} must be a string of at most 2048 characters`);
      if (key.endsWith('_uri') && !/^https:\/\//.test(value)) throw metadataError(`${key} must be an https URL`);
      metadata[key] = value;
    }
    if (input.contacts !== undefined) {
      if (!Array.isArray(input.contacts) || input.contacts.length > 10 || input.contacts.some((c) => typeof c !== 'string' || c.length > 320)) {
        throw metadataError('contacts must be a list of at most 10 strings');
      }
      metadata.contacts = input.contacts;
    }
    if (interactive) metadata.application_type = applicationType;
    return { name, grantTypes, authMethod, redirectUris, scopes: requested, jwks, jwksUri, metadata };
  } catch (error) {
    if (error instanceof AppError) {
      throw new ClientMetadataError(error.code === 'oauth.invalid_redirect_uri' ? 'invalid_redirect_uri' : 'invalid_client_metadata', error.message);
    }
    throw error;
  }
}

/** The grants of a client that signs people in: authorization_code, with refresh_token if it wants it. */
function interactiveGrants(values: unknown): string[] {
  if (!Array.isArray(values) || values.some((value) => typeof value !== 'string' || !INTERACTIVE_GRANTS.includes(value))) {
    throw metadataError('A client with response_types ["code"] registers authorization_code, and refresh_token if it wants it, only');
  }
  return [...new Set(values as string[])].sort();
}

/** Resource servers a dynamic client may reach: those declaring one of its scopes (an admin may change this). */
function audiencesFor(issuer: RegistrationIssuer, scopes: string[]): string[] {
  return issuer.resourceServers.filter((server) => server.scopes.some((scope) => scopes.includes(scope.name))).map((server) => server.identifier);
}

/**
 * Applies registered metadata. At registration the client gets what it asked for within the
 * policy; on an RFC 7592 update it may narrow its scopes and grants but never widen them, and
 * its audiences stay as they are: an admin may have restricted them, and a client must not be
 * able to undo that.
 */
function apply(client: OAuthClient, registered: Registered, issuer: RegistrationIssuer, update: boolean): void {
  if (update) {
    const wider = registered.grantTypes.filter((grant) => !client.grantTypes.includes(grant));
    if (wider.length) throw metadataError('An update cannot add grant types');
  } else {
    client.allowedAudiences = audiencesFor(issuer, registered.scopes);
  }
  client.name = registered.name;
  client.grantTypes = registered.grantTypes;
  client.tokenEndpointAuthMethod = registered.authMethod;
  client.redirectUris = registered.redirectUris;
  client.allowedScopes = registered.scopes;
  client.jwks = registered.jwks;
  client.jwksUri = registered.jwksUri;
  client.registrationMetadata = registered.metadata;
}

const snapshot = (client: OAuthClient) => ({
  id: client.id,
  name: client.name,
  grantTypes: client.grantTypes,
  authMethod: client.tokenEndpointAuthMethod,
  redirectUris: client.redirectUris,
  allowedScopes: client.allowedScopes,
  allowedAudiences: client.allowedAudiences,
  jwksUri: client.jwksUri,
  hasJwks: client.jwks !== null,
});

const clientActor = (client: OAuthClient, meta: RequestMeta): AuditActor => ({ principal: null, client: { id: client.id, name: client.name }, meta });

/**
 * Whether the environment's policy admits a registration presenting `initialAccessToken`:
 * `off` (refused), `token_refused` (a wrong or missing initial access token), `open` (anyone:
 * the transport applies its per-address budget) or `admitted` (a valid initial access token).
 */
export function registrationAdmission(issuer: RegistrationIssuer, initialAccessToken: string | null): 'off' | 'token_refused' | 'open' | 'admitted' {
  switch (issuer.registrationPolicy) {
    case ClientRegistrationPolicy.OFF:
      return 'off';
    case ClientRegistrationPolicy.INITIAL_ACCESS_TOKEN:
      return secretMatchesHash(issuer.initialAccessTokenHash, initialAccessToken) ? 'admitted' : 'token_refused';
    default:
      return 'open';
  }
}

export interface ClientRegistration {
  client: OAuthClient;
  /** Returned this once; null for private_key_jwt clients. */
  secret: string | null;
  /** The RFC 7592 registration access token, returned this once; only its SHA-256 is kept. */
  registrationToken: string;
}

/** Registers a DYNAMIC application (RFC 7591) with a secret unless it authenticates with keys; audited as anonymous. */
export async function registerClient(
  em: EntityManager,
  issuer: RegistrationIssuer,
  body: unknown,
  meta: RequestMeta,
  allowPrivateTargets: boolean,
): Promise<ClientRegistration> {
  const registered = await checkMetadata(metadataObject(body), issuer.registrationScopes, allowPrivateTargets);
  const registrationToken = `${REGISTRATION_TOKEN_PREFIX}${randomToken()}`;
  return em.transactional(async (tx) => {
    const created = new OAuthClientRepository(tx, 'application').create({
      id: newId('application'),
      environmentId: issuer.id,
      kind: ClientKind.APPLICATION,
      applicationType: ApplicationType.DYNAMIC,
      name: registered.name,
      allowedScopes: [],
      allowedAudiences: [],
      grantTypes: [],
      registrationTokenHash: hashSecret(registrationToken),
      // Nobody vouches for a self-registered client: people consent to what it asks for.
      firstParty: false,
    });
    apply(created, registered, issuer, false);
    const secret = registered.authMethod === 'private_key_jwt' || registered.authMethod === 'none' ? null : issueClientSecret(tx, created, { description: 'Issued at registration' }).secret;
    recordAudit(tx, { principal: null, anonymous: true, meta }, {
      action: 'application.registered',
      workspaceId: issuer.workspaceId,
      environmentId: issuer.id,
      targets: [{ type: 'application', id: created.id, name: created.name }],
      after: { ...snapshot(created), policy: issuer.registrationPolicy },
    });
    return { client: created, secret, registrationToken };
  });
}

/**
 * The dynamic client an RFC 7592 request manages: `invalid` unless the registration access
 * token names it; `disabled` when an admin disabled it (it may not change, read or remove its
 * registration either). Only a well-formed id reaches the database.
 */
export async function managedClient(
  em: EntityManager,
  issuer: RegistrationIssuer,
  clientId: string,
  registrationToken: string | null,
): Promise<{ client: OAuthClient } | { refused: 'invalid' | 'disabled' }> {
  const client = registrationToken && DYNAMIC_CLIENT_ID.test(clientId) ? await new OAuthClientRepository(em, 'application').findDynamic(issuer.id, clientId) : null;
  if (!client || !secretMatchesHash(client.registrationTokenHash, registrationToken)) return { refused: 'invalid' };
  if (!client.enabled) return { refused: 'disabled' };
  return { client };
}

/**
 * A registration request refused once the client's row is locked: between `managedClient` and
 * the lock an admin may have disabled the client, or rotated or removed its registration
 * access token. The transport answers it as it answers `managedClient`'s refusals.
 */
export class RegistrationRefused extends Error {
  constructor(readonly reason: 'invalid' | 'disabled') {
    super(reason === 'disabled' ? 'This client is disabled' : 'The registration access token is no longer valid for this client');
  }
}

/**
 * Checks, under the row lock, that the client is still the one `managedClient` let through:
 * its registration token unchanged (`seenTokenHash`, captured as a string before the
 * transaction, so it cannot be the locked row's own refreshed value) and still enabled.
 */
function stillManaged(locked: OAuthClient, seenTokenHash: string | null): void {
  if (!locked.registrationTokenHash || locked.registrationTokenHash !== seenTokenHash) throw new RegistrationRefused('invalid');
  if (!locked.enabled) throw new RegistrationRefused('disabled');
}

/**
 * RFC 7592 §2.2: replaces the client's metadata. The body carries its client_id (and, when it
 * gives one, a client_secret it holds); it may keep or narrow its scopes (left out: kept) and
 * grants, never widen them, nor switch between secrets and keys. Audited with the client as actor.
 */
export async function updateRegistration(
  em: EntityManager,
  issuer: RegistrationIssuer,
  client: OAuthClient,
  body: unknown,
  meta: RequestMeta,
  allowPrivateTargets: boolean,
): Promise<OAuthClient> {
  const input = metadataObject(body);
  if (input.client_id !== client.id) throw metadataError('The body must carry this client_id');
  const seenTokenHash = client.registrationTokenHash;
  const { client_id: _id, client_secret: _secret, registration_access_token: _rat, registration_client_uri: _uri, client_id_issued_at: _at, client_secret_expires_at: _exp, ...metadata } = input;
  return em.transactional(async (tx) => {
    // Every check reads the locked row: an admin's change (disabled, narrower scopes) made
    // since the token was checked is what the registration is held to, never undone.
    const locked = await new OAuthClientRepository(tx, 'application').lock(client.id);
    stillManaged(locked, seenTokenHash);
    if (input.client_secret !== undefined) {
      const secrets = await new ClientSecretRepository(tx).unrevokedOf(locked.id);
      const given = typeof input.client_secret === 'string' ? input.client_secret : null;
      if (!secrets.some((secret) => secretMatchesHash(secret.secretHash, given))) throw metadataError('client_secret does not match');
    }
    const registered = await checkMetadata(metadata, locked.allowedScopes, allowPrivateTargets);
    const kind = (method: string | null) => (method === 'private_key_jwt' ? 'keys' : method === 'none' ? 'none' : 'secrets');
    if (kind(registered.authMethod) !== kind(locked.tokenEndpointAuthMethod)) {
      throw metadataError('token_endpoint_auth_method cannot switch between secrets, keys and none; register a new client');
    }
    const before = snapshot(locked);
    apply(locked, registered, issuer, true);
    recordAudit(tx, clientActor(locked, meta), {
      action: 'application.registration_updated',
      workspaceId: issuer.workspaceId,
      environmentId: issuer.id,
      targets: [{ type: 'application', id: locked.id, name: locked.name }],
      before,
      after: snapshot(locked),
    });
    return locked;
  });
}

/** RFC 7592 §2.3: the client removes its registration. Audited with the client as actor. */
export async function deleteRegistration(em: EntityManager, issuer: RegistrationIssuer, client: OAuthClient, meta: RequestMeta): Promise<void> {
  const seenTokenHash = client.registrationTokenHash;
  await em.transactional(async (tx) => {
    const clients = new OAuthClientRepository(tx, 'application');
    stillManaged(await clients.lock(client.id), seenTokenHash);
    await clients.delete(client.id);
    recordAudit(tx, clientActor(client, meta), {
      action: 'application.registration_deleted',
      workspaceId: issuer.workspaceId,
      environmentId: issuer.id,
      targets: [{ type: 'application', id: client.id, name: client.name }],
      before: snapshot(client),
    });
  });
}
