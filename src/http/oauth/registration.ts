import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { addressKey } from '../../auth/failed-auth-limiter.js';
import type { RequestMeta } from '../../audit/audit-recorder.js';
import type { OAuthClient } from '../../modules/oauth-client/oauth-client.entity.js';
import {
  ClientMetadataError,
  deleteRegistration,
  managedClient,
  registerClient,
  registrationAdmission,
  RegistrationRefused,
  updateRegistration,
  type RegistrationIssuer,
} from '../../modules/oauth-client/client-registration.service.js';
import { environmentEm, type OAuthDeps } from './context.js';
import type { EnvironmentState } from './oauth-cache.js';
import { FormParams } from './form.js';
import { OAuthError } from './oauth-error.js';

const REGISTRATION_BODY_LIMIT = 64 * 1024;
const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

type EnvParams = { env: string };
type ClientParams = EnvParams & { clientId: string };

/** The RFC 7591 §3.2.1 / RFC 7592 §3 view of a dynamic client. */
function clientInformation(env: EnvironmentState, client: OAuthClient): Record<string, unknown> {
  return {
    client_id: client.id,
    client_id_issued_at: Math.floor(client.createdAt.getTime() / 1000),
    client_name: client.name,
    grant_types: client.grantTypes,
    response_types: client.grantTypes.includes('authorization_code') ? ['code'] : [],
    token_endpoint_auth_method: client.tokenEndpointAuthMethod,
    redirect_uris: client.redirectUris,
    scope: client.allowedScopes.join(' '),
    ...(client.jwks ? { jwks: client.jwks } : {}),
    ...(client.jwksUri ? { jwks_uri: client.jwksUri } : {}),
    ...(client.registrationMetadata ?? {}),
    registration_client_uri: `${env.issuer}/oauth/register/${client.id}`,
  };
}

function bearer(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  const match = header ? /^Bearer ([\x21-\x7E]{1,512})$/i.exec(header) : null;
  return match ? match[1] : null;
}

/** The registration body as parsed JSON; a form body is not client metadata. */
const metadataBody = (request: FastifyRequest): unknown => (request.body instanceof FormParams ? null : request.body);

const issuerOf = (env: EnvironmentState): RegistrationIssuer => ({ ...env, resourceServers: [...env.resourceServers.values()] });

/** Invalid client metadata from the service, as RFC 7591 §3.2.2 answers it. */
async function asOAuth<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ClientMetadataError) throw new OAuthError(error.code, error.message);
    throw error;
  }
}

export interface RegistrationRoutes {
  environment(request: FastifyRequest<{ Params: EnvParams }>): Promise<EnvironmentState>;
  requestMeta(request: FastifyRequest): RequestMeta;
  base: string;
}

/**
 * The transport of dynamic client registration (RFC 7591) and its management protocol
 * (RFC 7592): requests go to the client registration service (modules/oauth-client), scoped to
 * the issuer's environment, and its answers and refusals come back as the RFCs spell them.
 * Failed tokens count against the caller's address; open registration has a per-address budget.
 */
export async function registerClientRegistration(scope: FastifyInstance, deps: OAuthDeps, routes: RegistrationRoutes): Promise<void> {
  const { environment, requestMeta, base } = routes;

  const refuseToken = async (request: FastifyRequest, description: string): Promise<never> => {
    const retryAfter = await deps.ipFailures.recordFailure(addressKey(request.ip));
    if (retryAfter) throw new OAuthError('invalid_token', 'Too many failed attempts; try again later', { status: 429, headers: { 'retry-after': String(retryAfter) } });
    throw new OAuthError('invalid_token', description);
  };

  scope.post(`${base}/oauth/register`, { bodyLimit: REGISTRATION_BODY_LIMIT }, async (request: FastifyRequest<{ Params: EnvParams }>, reply: FastifyReply) => {
    const env = await environment(request);
    const issuer = issuerOf(env);
    const meta = requestMeta(request);
    // The initial access token is checked first and only a wrong one counts against the
    // address (refuseToken): failures of other parties behind it lock out no valid registrant.
    const admission = registrationAdmission(issuer, bearer(request));
    if (admission === 'off') throw new OAuthError('access_denied', 'Dynamic client registration is turned off for this environment');
    if (admission === 'token_refused') await refuseToken(request, 'A valid initial access token is required to register');
    if (admission === 'open') {
      // Open registration is a write anyone can make: it has a per-IP budget of its own.
      const retryAfter = await deps.registrations.recordFailure(addressKey(meta.ip));
      if (retryAfter) throw new OAuthError('invalid_request', 'Too many registrations; try again later', { status: 429, headers: { 'retry-after': String(retryAfter) } });
    }
    const { client, secret, registrationToken } = await asOAuth(() =>
      registerClient(environmentEm(deps.orm, env), issuer, metadataBody(request), meta, deps.config.allowPrivateTargets),
    );
    return reply
      .code(201)
      .headers(NO_STORE)
      .send({
        ...clientInformation(env, client),
        ...(secret ? { client_secret: secret, client_secret_expires_at: 0 } : {}),
        registration_access_token: registrationToken,
      });
  });

  /** RFC 7592: the registration access token names the client; anything else is invalid_token. */
  const managed = async (request: FastifyRequest<{ Params: ClientParams }>) => {
    const env = await environment(request);
    const issuer = issuerOf(env);
    const found = await managedClient(environmentEm(deps.orm, env), issuer, request.params.clientId, bearer(request));
    if ('refused' in found) return refuse(request, found.refused);
    return { env, issuer, client: found.client };
  };

  const refuse = (request: FastifyRequest, reason: 'invalid' | 'disabled'): Promise<never> => {
    if (reason === 'disabled') throw new OAuthError('invalid_token', 'This client is disabled');
    return refuseToken(request, 'The registration access token is invalid for this client');
  };

  /** A change refused under the row lock (the client was disabled or its token replaced meanwhile) is refused like `managed`'s. */
  const underLock = async <T>(request: FastifyRequest, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      if (error instanceof RegistrationRefused) return refuse(request, error.reason);
      throw error;
    }
  };

  scope.get(`${base}/oauth/register/:clientId`, async (request: FastifyRequest<{ Params: ClientParams }>, reply) => {
    const { env, client } = await managed(request);
    return reply.headers(NO_STORE).send(clientInformation(env, client));
  });

  scope.put(`${base}/oauth/register/:clientId`, { bodyLimit: REGISTRATION_BODY_LIMIT }, async (request: FastifyRequest<{ Params: ClientParams }>, reply) => {
    const { env, issuer, client } = await managed(request);
    const updated = await underLock(request, () =>
      asOAuth(() =>
        updateRegistration(environmentEm(deps.orm, env), issuer, client, metadataBody(request), requestMeta(request), deps.config.allowPrivateTargets),
      ),
    );
    return reply.headers(NO_STORE).send(clientInformation(env, updated));
  });

  scope.delete(`${base}/oauth/register/:clientId`, async (request: FastifyRequest<{ Params: ClientParams }>, reply) => {
    const { env, issuer, client } = await managed(request);
    await underLock(request, () => deleteRegistration(environmentEm(deps.orm, env), issuer, client, requestMeta(request)));
    return reply.code(204).send();
  });
}
