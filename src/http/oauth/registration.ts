import { LockMode, type EntityManager } from '@mikro-orm/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { addressKey } from '../../auth/failed-auth-limiter.js';
import { recordAudit, type AuditActor, type RequestMeta } from '../../audit/audit-recorder.js';
import { hashSecret, randomToken, secretMatchesHash } from '../../crypto/secrets.js';
import { newId } from '../../db/id.js';
import { AppError } from '../../errors/app-error.js';
import { ClientRegistrationPolicy } from '../../modules/environment/environment.entity.js';
import { ApplicationType, ClientKind, ClientSecret, OAuthClient, type TokenEndpointAuthMethod } from '../../modules/oauth-client/oauth-client.entity.js';
import { CLIENT_SECRET_PREFIX, newClientSecret } from '../../modules/oauth-client/oauth-client.service.js';
import { checkGrantTypes, checkJwks, checkJwksUri, checkRedirectUris, checkScopeList } from '../../modules/oauth-client/oauth-client.validation.js';
import { checkName } from '../../modules/validation.js';
import type { OAuthDeps } from './context.js';
import type { EnvironmentState } from './oauth-cache.js';
import { FormParams } from './form.js';
import { OAuthError } from './oauth-error.js';
import { findUncleanText } from '../../modules/text.js';

const REGISTRATION_BODY_LIMIT = 64 * 1024;
const AUTH_METHODS: TokenEndpointAuthMethod[] = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'];
/** Informational metadata kept as given (RFC 7591 §2), each a string of bounded length. */
const INFORMATIONAL = ['client_uri', 'logo_uri', 'tos_uri', 'policy_uri', 'software_id', 'software_version'] as const;
const REGISTRATION_TOKEN_PREFIX = 'ghrat_';
/** The ids of dynamically registered clients (RFC 7592 paths name them). */
const DYNAMIC_CLIENT_ID = /^app_[0-9a-hjkmnp-tv-z]{26}$/;

type EnvParams = { env: string };
type ClientParams = EnvParams & { clientId: string };

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

const metadataError = (description: string) => new OAuthError('invalid_client_metadata', description);

/**
 * A registration body as a JSON object whose every string and member name is clean text (see
 * text.ts): anything else is invalid client metadata (RFC 7591 §3.2.2), whichever member it
 * hides in, known or not, before any of it is compared, stored or audited.
 */
function metadataObject(body: unknown): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body) || body instanceof FormParams) throw metadataError('The body must be a JSON object of client metadata');
  const unclean = findUncleanText(body);
  if (unclean) throw metadataError(`${unclean.slice(0, 200)} holds a NUL character or text that is not well-formed Unicode, or is nested too deeply`);
  return body as Record<string, unknown>;
}

/** Validates RFC 7591 client metadata against the environment's registration policy. */
async function checkMetadata(body: unknown, grantable: string[], allowPrivate: boolean): Promise<Registered> {
  const input = metadataObject(body);
  try {
    if (input.response_types !== undefined && (!Array.isArray(input.response_types) || input.response_types.length > 0)) {
      throw metadataError('No response types are supported: this server issues tokens to machines (client credentials, token exchange)');
    }
    const grantTypes = input.grant_types === undefined ? ['client_credentials'] : checkGrantTypes(input.grant_types, ['grant_types']);
    // Token exchange turns other parties' tokens into new ones: an admin grants it, a client cannot register for it.
    if (grantTypes.some((grant) => grant !== 'client_credentials')) throw metadataError('Only the client_credentials grant can be registered');
    const authMethod = (input.token_endpoint_auth_method ?? 'client_secret_basic') as TokenEndpointAuthMethod;
    if (!AUTH_METHODS.includes(authMethod)) throw metadataError(`token_endpoint_auth_method must be one of ${AUTH_METHODS.join(', ')}`);
    if (input.jwks !== undefined && input.jwks_uri !== undefined) throw metadataError('Give jwks or jwks_uri, not both');
    const jwks = input.jwks !== undefined ? await checkJwks(input.jwks, ['jwks']) : null;
    const jwksUri = input.jwks_uri !== undefined ? checkJwksUri(input.jwks_uri, allowPrivate, ['jwks_uri']) : null;
    if (authMethod === 'private_key_jwt' && !jwks && !jwksUri) throw metadataError('private_key_jwt needs jwks or jwks_uri');
    const redirectUris = input.redirect_uris === undefined ? [] : checkRedirectUris(input.redirect_uris, ['redirect_uris']);
    if (input.scope !== undefined && typeof input.scope !== 'string') throw metadataError('scope must be a space-separated string');
    const requested = input.scope !== undefined ? checkScopeList(input.scope.split(' ').filter(Boolean), ['scope']) : grantable;
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
    return { name, grantTypes, authMethod, redirectUris, scopes: requested, jwks, jwksUri, metadata };
  } catch (error) {
    if (error instanceof AppError) {
      throw new OAuthError(error.code === 'oauth.invalid_redirect_uri' ? 'invalid_redirect_uri' : 'invalid_client_metadata', error.message);
    }
    throw error;
  }
}

/** Resource servers a dynamic client may reach: those declaring one of its scopes (an admin may change this). */
function audiencesFor(env: EnvironmentState, scopes: string[]): string[] {
  return [...env.resourceServers.values()].filter((server) => server.scopes.some((scope) => scopes.includes(scope.name))).map((server) => server.identifier);
}

/** The RFC 7591 §3.2.1 / RFC 7592 §3 view of a dynamic client. */
function clientInformation(env: EnvironmentState, client: OAuthClient): Record<string, unknown> {
  return {
    client_id: client.id,
    client_id_issued_at: Math.floor(client.createdAt.getTime() / 1000),
    client_name: client.name,
    grant_types: client.grantTypes,
    response_types: [],
    token_endpoint_auth_method: client.tokenEndpointAuthMethod,
    redirect_uris: client.redirectUris,
    scope: client.allowedScopes.join(' '),
    ...(client.jwks ? { jwks: client.jwks } : {}),
    ...(client.jwksUri ? { jwks_uri: client.jwksUri } : {}),
    ...(client.registrationMetadata ?? {}),
    registration_client_uri: `${env.issuer}/oauth/register/${client.id}`,
  };
}

/**
 * Applies registered metadata. At registration the client gets what it asked for within the
 * policy; on an RFC 7592 update it may narrow its scopes and grants but never widen them, and
 * its audiences stay as they are: an admin may have restricted them, and a client must not be
 * able to undo that.
 */
function apply(client: OAuthClient, registered: Registered, env: EnvironmentState, update: boolean): void {
  if (update) {
    const wider = registered.grantTypes.filter((grant) => !client.grantTypes.includes(grant));
    if (wider.length) throw metadataError('An update cannot add grant types');
  } else {
    client.allowedAudiences = audiencesFor(env, registered.scopes);
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

function bearer(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  const match = header ? /^Bearer ([\x21-\x7E]{1,512})$/i.exec(header) : null;
  return match ? match[1] : null;
}

export interface RegistrationRoutes {
  environment(request: FastifyRequest<{ Params: EnvParams }>): Promise<EnvironmentState>;
  requestMeta(request: FastifyRequest): RequestMeta;
  base: string;
}

/**
 * Dynamic client registration (RFC 7591) and its management protocol (RFC 7592), under the
 * environment's policy: OFF, INITIAL_ACCESS_TOKEN (a bearer token an admin issued) or OPEN
 * (anyone, a budget per IP). Registered clients are DYNAMIC applications that an admin sees,
 * edits and disables through GraphQL.
 */
export async function registerClientRegistration(scope: FastifyInstance, deps: OAuthDeps, routes: RegistrationRoutes): Promise<void> {
  const { environment, requestMeta, base } = routes;

  const refuseToken = async (request: FastifyRequest, description: string): Promise<never> => {
    const retryAfter = await deps.ipFailures.recordFailure(addressKey(request.ip));
    if (retryAfter) throw new OAuthError('invalid_token', 'Too many failed attempts; try again later', { status: 429, headers: { 'retry-after': String(retryAfter) } });
    throw new OAuthError('invalid_token', description);
  };

  const inTransaction = <T>(work: (em: EntityManager) => Promise<T>) => deps.orm.em.fork().transactional(work);

  scope.post(`${base}/oauth/register`, { bodyLimit: REGISTRATION_BODY_LIMIT }, async (request: FastifyRequest<{ Params: EnvParams }>, reply: FastifyReply) => {
    const env = await environment(request);
    if (env.registrationPolicy === ClientRegistrationPolicy.OFF) {
      throw new OAuthError('access_denied', 'Dynamic client registration is turned off for this environment');
    }
    const meta = requestMeta(request);
    // The initial access token is checked first and only a wrong one counts against the
    // address (refuseToken): failures of other parties behind it lock out no valid registrant.
    if (env.registrationPolicy === ClientRegistrationPolicy.INITIAL_ACCESS_TOKEN && !secretMatchesHash(env.initialAccessTokenHash, bearer(request))) {
      await refuseToken(request, 'A valid initial access token is required to register');
    }
    if (env.registrationPolicy === ClientRegistrationPolicy.OPEN) {
      // Open registration is a write anyone can make: it has a per-IP budget of its own.
      const retryAfter = await deps.registrations.recordFailure(addressKey(meta.ip));
      if (retryAfter) throw new OAuthError('invalid_request', 'Too many registrations; try again later', { status: 429, headers: { 'retry-after': String(retryAfter) } });
    }
    const registered = await checkMetadata(request.body, env.registrationScopes, deps.config.allowPrivateTargets);
    const registrationToken = `${REGISTRATION_TOKEN_PREFIX}${randomToken()}`;
    const secret = registered.authMethod === 'private_key_jwt' ? null : newClientSecret();
    const client = await inTransaction(async (em) => {
      const created = em.create(OAuthClient, {
        id: newId('application'),
        environmentId: env.id,
        kind: ClientKind.APPLICATION,
        applicationType: ApplicationType.DYNAMIC,
        name: registered.name,
        allowedScopes: [],
        allowedAudiences: [],
        grantTypes: [],
        registrationTokenHash: hashSecret(registrationToken),
      });
      apply(created, registered, env, false);
      em.persist(created);
      if (secret) {
        em.persist(
          em.create(ClientSecret, {
            id: newId('clientSecret'),
            clientId: created.id,
            environmentId: env.id,
            secretHash: hashSecret(secret),
            prefix: secret.slice(0, CLIENT_SECRET_PREFIX.length + 7),
            description: 'Issued at registration',
          }),
        );
      }
      const actor: AuditActor = { principal: null, anonymous: true, meta };
      recordAudit(em, actor, {
        action: 'application.registered',
        workspaceId: env.workspaceId,
        environmentId: env.id,
        targets: [{ type: 'application', id: created.id, name: created.name }],
        after: { ...snapshot(created), policy: env.registrationPolicy },
      });
      return created;
    });
    return reply
      .code(201)
      .headers({ 'cache-control': 'no-store', pragma: 'no-cache' })
      .send({
        ...clientInformation(env, client),
        ...(secret ? { client_secret: secret, client_secret_expires_at: 0 } : {}),
        registration_access_token: registrationToken,
      });
  });

  /** RFC 7592: the registration access token names the client; anything else is invalid_token. */
  const managed = async (request: FastifyRequest<{ Params: ClientParams }>) => {
    const env = await environment(request);
    const token = bearer(request);
    // The path is input too: only a well-formed id reaches the database.
    const client = token && DYNAMIC_CLIENT_ID.test(request.params.clientId)
      ? await deps.orm.em.fork().findOne(OAuthClient, { id: request.params.clientId, environmentId: env.id, applicationType: ApplicationType.DYNAMIC })
      : null;
    if (!client || !secretMatchesHash(client.registrationTokenHash, token)) await refuseToken(request, 'The registration access token is invalid for this client');
    // An admin disabled it: it may not change, read or remove its registration either.
    if (!client!.enabled) throw new OAuthError('invalid_token', 'This client is disabled');
    return { env, client: client! };
  };

  const clientActor = (request: FastifyRequest, client: OAuthClient): AuditActor => ({
    principal: null,
    client: { id: client.id, name: client.name },
    meta: requestMeta(request),
  });

  scope.get(`${base}/oauth/register/:clientId`, async (request: FastifyRequest<{ Params: ClientParams }>, reply) => {
    const { env, client } = await managed(request);
    return reply.headers({ 'cache-control': 'no-store', pragma: 'no-cache' }).send(clientInformation(env, client));
  });

  scope.put(`${base}/oauth/register/:clientId`, { bodyLimit: REGISTRATION_BODY_LIMIT }, async (request: FastifyRequest<{ Params: ClientParams }>, reply) => {
    const { env, client } = await managed(request);
    const body = metadataObject(request.body);
    if (body.client_id !== client.id) throw metadataError('The body must carry this client_id');
    if (body.client_secret !== undefined) {
      const secrets = await deps.orm.em.fork().find(ClientSecret, { clientId: client.id, revokedAt: null });
      const given = typeof body.client_secret === 'string' ? body.client_secret : null;
      if (!secrets.some((secret) => secretMatchesHash(secret.secretHash, given))) throw metadataError('client_secret does not match');
    }
    const { client_id: _id, client_secret: _secret, registration_access_token: _rat, registration_client_uri: _uri, client_id_issued_at: _at, client_secret_expires_at: _exp, ...metadata } = body;
    // An update may keep or narrow the scopes it holds (left out: kept), never add any.
    const registered = await checkMetadata(metadata, client.allowedScopes, deps.config.allowPrivateTargets);
    if ((registered.authMethod === 'private_key_jwt') !== (client.tokenEndpointAuthMethod === 'private_key_jwt')) {
      throw metadataError('token_endpoint_auth_method cannot switch between secrets and keys; register a new client');
    }
    const updated = await inTransaction(async (em) => {
      const locked = await em.findOneOrFail(OAuthClient, { id: client.id }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
      const before = snapshot(locked);
      apply(locked, registered, env, true);
      recordAudit(em, clientActor(request, locked), {
        action: 'application.registration_updated',
        workspaceId: env.workspaceId,
        environmentId: env.id,
        targets: [{ type: 'application', id: locked.id, name: locked.name }],
        before,
        after: snapshot(locked),
      });
      return locked;
    });
    return reply.headers({ 'cache-control': 'no-store', pragma: 'no-cache' }).send(clientInformation(env, updated));
  });

  scope.delete(`${base}/oauth/register/:clientId`, async (request: FastifyRequest<{ Params: ClientParams }>, reply) => {
    const { env, client } = await managed(request);
    await inTransaction(async (em) => {
      await em.nativeDelete(OAuthClient, { id: client.id });
      recordAudit(em, clientActor(request, client), {
        action: 'application.registration_deleted',
        workspaceId: env.workspaceId,
        environmentId: env.id,
        targets: [{ type: 'application', id: client.id, name: client.name }],
        before: snapshot(client),
      });
    });
    return reply.code(204).send();
  });
}
