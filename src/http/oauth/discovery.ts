import { ClientRegistrationPolicy } from '../../modules/environment/environment.entity.js';
import type { ResourceServer } from '../../modules/resource-server/resource-server.entity.js';
import { ASSERTION_ALGORITHMS } from './client-auth.js';
import { CLIENT_CREDENTIALS } from './grants/client-credentials.js';
import { TOKEN_EXCHANGE } from './grants/token-exchange.js';
import { AUTHORIZATION_CODE } from './grants/authorization-code.js';
import { REFRESH_TOKEN } from './grants/refresh-token.js';
import { OIDC_SCOPES } from '../../modules/sign-in/flow.types.js';
import { endpointsFor } from '../../modules/environment/issuer.js';
import type { EnvironmentState } from './oauth-cache.js';

const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'];
/** Public clients (SPA, native) authenticate with nothing at the token and revocation endpoints. */
const AUTH_METHODS_WITH_PUBLIC = [...AUTH_METHODS, 'none'];
const CLAIMS = ['iss', 'sub', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'amr', 'sid', 'at_hash', 'email', 'email_verified', 'name', 'given_name', 'family_name', 'updated_at', 'org_id', 'roles', 'permissions'];

/**
 * RFC 8414 and OpenID Connect Discovery 1.0 metadata (the same document at both well-known
 * names): exactly what this server does.
 */
export function authorizationServerMetadata(env: EnvironmentState): Record<string, unknown> {
  const endpoints = endpointsFor(env.issuer);
  return {
    issuer: env.issuer,
    authorization_endpoint: endpoints.authorization,
    token_endpoint: endpoints.token,
    userinfo_endpoint: endpoints.userinfo,
    end_session_endpoint: endpoints.endSession,
    backchannel_logout_supported: true,
    backchannel_logout_session_supported: true,
    pushed_authorization_request_endpoint: endpoints.pushedAuthorization,
    require_pushed_authorization_requests: false,
    jwks_uri: endpoints.jwks,
    ...(env.registrationPolicy !== ClientRegistrationPolicy.OFF ? { registration_endpoint: endpoints.registration } : {}),
    // Anyone may then be a client by publishing its metadata at an https URL (MCP's preferred registration).
    client_id_metadata_document_supported: env.registrationPolicy === ClientRegistrationPolicy.OPEN,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: [AUTHORIZATION_CODE, REFRESH_TOKEN, CLIENT_CREDENTIALS, TOKEN_EXCHANGE],
    code_challenge_methods_supported: ['S256'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: env.signer ? [env.signer.alg] : ['ES256'],
    claims_supported: CLAIMS,
    claims_parameter_supported: false,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    prompt_values_supported: ['none', 'login', 'consent'],
    token_endpoint_auth_methods_supported: AUTH_METHODS_WITH_PUBLIC,
    token_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS,
    introspection_endpoint: endpoints.introspection,
    introspection_endpoint_auth_methods_supported: AUTH_METHODS,
    introspection_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS,
    revocation_endpoint: endpoints.revocation,
    revocation_endpoint_auth_methods_supported: AUTH_METHODS_WITH_PUBLIC,
    revocation_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS,
    scopes_supported: [...OIDC_SCOPES, ...[...new Set([...env.resourceServers.values()].flatMap((server) => server.scopes.map((scope) => scope.name)))].sort()],
    // RFC 8707 resource indicators select the audience.
    resource_indicators_supported: true,
    authorization_response_iss_parameter_supported: true,
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
