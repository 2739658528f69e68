import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RequestMeta } from '../../audit/audit-recorder.js';
import { authenticateClient, identifyClient } from './client-auth.js';
import type { OAuthDeps, OAuthRequest } from './context.js';
import { authorizationServerMetadata, protectedResourceMetadata } from './discovery.js';
import { FormParams } from './form.js';
import { clientCredentials, CLIENT_CREDENTIALS } from './grants/client-credentials.js';
import type { Grant } from './grants/grant.js';
import { tokenExchange, TOKEN_EXCHANGE } from './grants/token-exchange.js';
import { AUTHORIZATION_CODE, authorizationCode } from './grants/authorization-code.js';
import { REFRESH_TOKEN, refreshToken } from './grants/refresh-token.js';
import { bearerToken, userinfo } from './userinfo.js';
import { pushAuthorizationRequest } from './authorize/pushed.js';
import { OAuthClientRepository } from '../../modules/oauth-client/oauth-client.repository.js';
import { environmentEm } from './context.js';
import type { ClientState } from './oauth-cache.js';
import { introspect, revoke } from './introspection.js';
import { ISSUER_PATH_PREFIX } from '../../modules/environment/issuer.js';
import type { EnvironmentState } from './oauth-cache.js';
import { OAuthError, sendOAuthError } from './oauth-error.js';
import { JWKS_MAX_AGE_SECONDS } from '../../modules/signing-key/signing-key.service.js';
import { registerClientRegistration } from './registration.js';

/** Each grant type is one module; adding a grant is adding a line here. */
const GRANTS: Record<string, Grant> = {
  [CLIENT_CREDENTIALS]: clientCredentials,
  [TOKEN_EXCHANGE]: tokenExchange,
  [AUTHORIZATION_CODE]: authorizationCode,
  [REFRESH_TOKEN]: refreshToken,
};
/** Grants a public client (SPA, native app) may use without credentials: PKCE or rotation protects them. */
const PUBLIC_GRANTS = new Set([AUTHORIZATION_CODE, REFRESH_TOKEN]);
/** Endpoints an application's JavaScript may call from its allowed web origins. */
const CORS_ENDPOINTS = ['token', 'userinfo', 'revoke'];

/** Form bodies of the token, introspection and revocation endpoints: assertions fit easily. */
const FORM_BODY_LIMIT = 32 * 1024;
const ENVIRONMENT_ID = /^env_[0-9a-hjkmnp-tv-z]{26}$/;
const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

type EnvParams = { env: string };

/**
 * The REST sidecar of the OAuth 2.1 authorization servers, one per environment under
 * `/e/<environment id>`: discovery (RFC 8414, at both the path-inserted and the appended
 * location), JWKS, token (client credentials, token exchange), introspection, revocation,
 * dynamic client registration and RFC 9728 protected resource metadata.
 */
export async function registerOAuthRoutes(app: FastifyInstance, deps: OAuthDeps, requestMeta: (request: FastifyRequest) => RequestMeta): Promise<void> {
  await app.register(async (scope) => {
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT }, (_request, body, done) => {
      try {
        done(null, FormParams.parse(body as string));
      } catch (error) {
        done(error as Error, undefined);
      }
    });

    scope.setErrorHandler((error, request, reply) => {
      if (error instanceof OAuthError) return sendOAuthError(reply, error, request.id);
      const status = (error as { statusCode?: number }).statusCode;
      if (status === 413) return sendOAuthError(reply, new OAuthError('invalid_request', 'The request body is too large', { status: 413 }), request.id);
      if (status === 415) return sendOAuthError(reply, new OAuthError('invalid_request', 'Send application/x-www-form-urlencoded', { status: 415 }), request.id);
      if (status && status >= 400 && status < 500) {
        // A registration body that is not JSON is invalid client metadata (RFC 7591 §3.2.2).
        const code = request.routeOptions.url?.endsWith('/oauth/register') ? 'invalid_client_metadata' : 'invalid_request';
        return sendOAuthError(reply, new OAuthError(code, 'Malformed request body'), request.id);
      }
      request.log.error({ err: error }, 'oauth endpoint failed');
      return sendOAuthError(reply, new OAuthError('server_error', 'Internal error'), request.id);
    });

    const environment = async (request: FastifyRequest<{ Params: EnvParams }>): Promise<EnvironmentState> => {
      const env = ENVIRONMENT_ID.test(request.params.env) ? await deps.cache.environment(request.params.env) : null;
      if (!env) throw new OAuthError('invalid_request', 'No such issuer', { status: 404 });
      return env;
    };

    const form = (request: FastifyRequest): FormParams => {
      if (!(request.body instanceof FormParams)) {
        throw new OAuthError('invalid_request', 'Send application/x-www-form-urlencoded', { status: request.body === undefined ? 400 : 415 });
      }
      return request.body;
    };

    const oauthRequest = async (request: FastifyRequest<{ Params: EnvParams }>): Promise<OAuthRequest> => {
      const env = await environment(request);
      return { env, params: form(request), meta: requestMeta(request), authorization: request.headers.authorization };
    };

    const metadata = async (request: FastifyRequest<{ Params: EnvParams }>, reply: FastifyReply) => {
      const env = await environment(request);
      return reply.header('cache-control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`).send(authorizationServerMetadata(env));
    };
    const base = `${ISSUER_PATH_PREFIX}:env`;
    for (const document of ['oauth-authorization-server', 'openid-configuration']) {
      scope.get(`/.well-known/${document}${base}`, metadata);
      scope.get(`${base}/.well-known/${document}`, metadata);
    }

    scope.get(`${base}/.well-known/jwks.json`, async (request: FastifyRequest<{ Params: EnvParams }>, reply) => {
      const env = await environment(request);
      return reply
        .header('content-type', 'application/jwk-set+json')
        .header('cache-control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`)
        .send(env.jwks);
    });

    const resourceMetadata = async (request: FastifyRequest<{ Params: EnvParams & { id: string } }>, reply: FastifyReply) => {
      const env = await environment(request);
      const server = [...env.resourceServers.values()].find((candidate) => candidate.id === request.params.id);
      if (!server) throw new OAuthError('invalid_request', 'No such resource server', { status: 404 });
      return reply.header('cache-control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`).send(protectedResourceMetadata(env, server));
    };
    scope.get(`${base}/resource-servers/:id/.well-known/oauth-protected-resource`, resourceMetadata);
    scope.get(`/.well-known/oauth-protected-resource${base}/resource-servers/:id`, resourceMetadata);

    /** CORS for an application's JavaScript: only its allowed web origins may read the answer. */
    const allowOrigin = (request: FastifyRequest, reply: FastifyReply, client: ClientState | null) => {
      const origin = request.headers.origin;
      if (origin && client?.allowedWebOrigins.includes(origin)) reply.header('access-control-allow-origin', origin).header('vary', 'Origin');
    };

    scope.post(`${base}/oauth/token`, async (request: FastifyRequest<{ Params: EnvParams }>, reply) => {
      const oauth = await oauthRequest(request);
      const grantType = oauth.params.require('grant_type');
      const grant = Object.hasOwn(GRANTS, grantType) ? GRANTS[grantType] : undefined;
      // Authenticate first: an unauthenticated caller learns nothing about grants.
      const { client } = PUBLIC_GRANTS.has(grantType) ? await identifyClient(deps, oauth) : await authenticateClient(deps, oauth);
      allowOrigin(request, reply, client);
      if (!grant) throw new OAuthError('unsupported_grant_type', 'This grant type is not supported');
      return reply.headers(NO_STORE).send(await grant(deps, oauth, client));
    });

    scope.post(`${base}/oauth/par`, async (request: FastifyRequest<{ Params: EnvParams }>, reply) => {
      const oauth = await oauthRequest(request);
      return reply.code(201).headers(NO_STORE).send(await pushAuthorizationRequest(deps, oauth, oauth.params.raw()));
    });

    const userinfoHandler = async (request: FastifyRequest<{ Params: EnvParams }>, reply: FastifyReply) => {
      const env = await environment(request);
      const formToken = request.method === 'POST' ? form(request).get('access_token') : undefined;
      const { claims, live } = await userinfo(deps, env, bearerToken(request.headers.authorization, formToken));
      allowOrigin(request, reply, live.owner);
      return reply.headers(NO_STORE).send(claims);
    };
    scope.get(`${base}/oauth/userinfo`, userinfoHandler);
    scope.post(`${base}/oauth/userinfo`, userinfoHandler);

    // Preflights: allowed for origins some enabled application of the environment lists; the
    // answer itself is readable only by the origins of the client it concerns (allowOrigin).
    for (const endpoint of CORS_ENDPOINTS) {
      scope.options(`${base}/oauth/${endpoint}`, async (request: FastifyRequest<{ Params: EnvParams }>, reply) => {
        const env = await environment(request);
        const origin = request.headers.origin;
        if (origin && origin.length <= 512 && (await new OAuthClientRepository(environmentEm(deps.orm, env)).anyAllowsOrigin(env.id, origin))) {
          reply
            .header('access-control-allow-origin', origin)
            .header('access-control-allow-methods', endpoint === 'userinfo' ? 'GET, POST' : 'POST')
            .header('access-control-allow-headers', 'authorization, content-type, dpop')
            .header('access-control-max-age', '600')
            .header('vary', 'Origin');
        }
        return reply.code(204).send();
      });
    }

    scope.post(`${base}/oauth/introspect`, async (request: FastifyRequest<{ Params: EnvParams }>, reply) => {
      return reply.headers(NO_STORE).send(await introspect(deps, await oauthRequest(request)));
    });

    scope.post(`${base}/oauth/revoke`, async (request: FastifyRequest<{ Params: EnvParams }>, reply) => {
      const client = await revoke(deps, await oauthRequest(request));
      allowOrigin(request, reply, client);
      return reply.headers(NO_STORE).send();
    });

    // The form-posting endpoints answer other methods with an OAuth error rather than a bare 404.
    for (const endpoint of ['token', 'introspect', 'revoke', 'par']) {
      scope.route({
        method: ['GET', 'PUT', 'DELETE', 'PATCH'],
        url: `${base}/oauth/${endpoint}`,
        handler: async () => {
          throw new OAuthError('invalid_request', 'Use POST', { status: 405, headers: { allow: 'POST' } });
        },
      });
    }

    await registerClientRegistration(scope, deps, { environment, requestMeta, base });
  });
}
