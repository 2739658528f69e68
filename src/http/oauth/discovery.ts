import { ClientRegistrationPolicy } from '../../modules/environment/environment.entity.js';
import type { ResourceServer } from '../../modules/resource-server/resource-server.entity.js';
import { ASSERTION_ALGORITHMS } from './client-auth.js';
import { CLIENT_CREDENTIALS } from './grants/client-credentials.js';
import { TOKEN_EXCHANGE } from './grants/token-exchange.js';
import { endpointsFor } from '../../modules/environment/issuer.js';
import type { EnvironmentState } from './oauth-cache.js';

const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'];

/**
 * RFC 8414 metadata: exactly what this server does today. There is no authorization endpoint
 * yet (user sign-in comes with SSO), hence no response types.
 */
export function authorizationServerMetadata(env: EnvironmentState): Record<string, unknown> {
  const endpoints = endpointsFor(env.issuer);
  return {
    issuer: env.issuer,
    token_endpoint: endpoints.token,
    jwks_uri: endpoints.jwks,
    ...(env.registrationPolicy !== ClientRegistrationPolicy.OFF ? { registration_endpoint: endpoints.registration } : {}),
    response_types_supported: [],
    grant_types_supported: [CLIENT_CREDENTIALS, TOKEN_EXCHANGE],
    token_endpoint_auth_methods_supported: AUTH_METHODS,
    token_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS,
    introspection_endpoint: endpoints.introspection,
    introspection_endpoint_auth_methods_supported: AUTH_METHODS,
    introspection_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS,
    revocation_endpoint: endpoints.revocation,
    revocation_endpoint_auth_methods_supported: AUTH_METHODS,
    revocation_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS,
    scopes_supported: [...new Set([...env.resourceServers.values()].flatMap((server) => server.scopes.map((scope) => scope.name)))].sort(),
    // RFC 8707 resource indicators select the audience.
    resource_indicators_supported: true,
    authorization_response_iss_parameter_supported: false,
  };
}

/** RFC 9728 metadata of one resource server, so an MCP server can send clients to us. */
export function protectedResourceMetadata(env: EnvironmentState, server: ResourceServer): Record<string, unknown> {
  return {
    resource: server.identifier,
    resource_name: server.name,
    authorization_servers: [env.issuer],
    jwks_uri: endpointsFor(env.issuer).jwks,
    scopes_supported: server.scopes.map((scope) => scope.name),
    bearer_methods_supported: ['header'],
    ...(server.documentationUrl ? { resource_documentation: server.documentationUrl } : {}),
  };
}
