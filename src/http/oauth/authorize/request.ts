import { redirectUriMatches, isInteractive } from '../../../modules/oauth-client/application-settings.js';
import { ApplicationType } from '../../../modules/oauth-client/oauth-client.entity.js';
import type { AuthorizationRequest } from '../../../modules/sign-in/flow.types.js';

export type { AuthorizationRequest };

/**
 * Checking an authorization request (OAuth 2.1 §4.1.1, OpenID Connect Core §3.1.2.1, RFC 7636,
 * RFC 8707, RFC 9207) before anyone is asked to sign in. The order matters for safety: until
 * the client and its redirect URI are known good, an error is shown to the user (`page`) and
 * never redirected, so the endpoint cannot be made an open redirector; after that, errors go
 * back to the client (`redirect`) with `state` and `iss`. Descriptions are fixed ASCII text
 * (RFC 6749 §4.1.2.1): they never echo what the request sent.
 */

/** The client as the authorization endpoint needs it. */
export interface AuthorizingClient {
  id: string;
  /** The identifier the client uses when it is not its id (a Client ID Metadata Document's URL). */
  clientId?: string;
  enabled: boolean;
  applicationType: ApplicationType | null;
  /** How redirect URIs match when not by the application type (a registered native client). */
  redirectMatching?: ApplicationType;
  redirectUris: readonly string[];
  grantTypes: readonly string[];
}

/** What the environment lets a request ask for. */
export interface AuthorizationPolicy {
  /** The issuer, sent back as `iss` with every response (RFC 9207). */
  issuer: string;
  /** Scopes the client may request: OpenID scopes and those of the environment's APIs it may reach. */
  grantableScopes: ReadonlySet<string>;
  /** Resource server identifiers the client's tokens may be for (RFC 8707 `resource`). */
  resources: ReadonlySet<string>;
}

export type Prompt = AuthorizationRequest['prompt'][number];

export type AuthorizationErrorCode =
  | 'invalid_request'
  | 'unauthorized_client'
  | 'invalid_client'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'request_not_supported'
  | 'request_uri_not_supported';

export type AuthorizationCheck =
  | { ok: true; request: AuthorizationRequest }
  /** Shown to the user: the client or its redirect URI cannot be trusted with the answer. */
  | { ok: false; page: { error: AuthorizationErrorCode; description: string } }
  /** Sent back to the client's (registered, checked) redirect URI. */
  | { ok: false; redirect: { uri: string; error: AuthorizationErrorCode; description: string; state: string | null; iss: string } };

/** The request's parameters as received, each name with every value it came with. */
export type RawParameters = ReadonlyMap<string, readonly string[]>;

const MAX_STATE = 2048;
const MAX_NONCE = 512;
const MAX_HINT = 512;
const MAX_RESOURCES = 10;
/** RFC 7636 §4.2: BASE64URL(SHA-256(verifier)) is 43 characters. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
/** RFC 6749 §3.3 scope-token. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/;
const PROMPTS: readonly Prompt[] = ['none', 'login', 'consent'];

/**
 * Checks `params` for `client` (null when `client_id` names none of the environment's clients).
 * Parameters the request must not repeat (RFC 6749 §3.1) are refused when repeated.
 */
export function checkAuthorizationRequest(params: RawParameters, client: AuthorizingClient | null, policy: AuthorizationPolicy): AuthorizationCheck {
  const page = (error: AuthorizationErrorCode, description: string): AuthorizationCheck => ({ ok: false, page: { error, description } });

  // 1. The client, and where it may be answered. Nothing is redirected before both are known.
  const clientId = single(params, 'client_id');
  if (clientId === undefined || clientId === null) return page('invalid_request', clientId === null ? 'client_id is repeated' : 'client_id is missing');
  if (!client || (client.clientId ?? client.id) !== clientId) return page('invalid_client', 'No application of this environment has this client_id');
  if (!client.enabled) return page('unauthorized_client', 'This application is disabled');
  // Registered clients (RFC 7591, or by metadata document) sign people in when they hold the code grant.
  const interactive = isInteractive(client.applicationType) || client.applicationType === ApplicationType.DYNAMIC;
  if (!interactive || !client.grantTypes.includes('authorization_code')) {
    return page('unauthorized_client', 'This application does not sign people in (it lacks the authorization_code grant)');
  }
  const redirectUri = single(params, 'redirect_uri');
  if (redirectUri === undefined || redirectUri === null) {
    return page('invalid_request', redirectUri === null ? 'redirect_uri is repeated' : 'redirect_uri is missing');
  }
  if (!redirectUriMatches(client.redirectMatching ?? client.applicationType, client.redirectUris, redirectUri)) {
    return page('invalid_request', 'redirect_uri is not one this application registered');
  }

  // 2. From here on the client hears about its mistakes at its own redirect URI.
  const rawState = params.get('state');
  const state = rawState?.length === 1 && rawState[0].length <= MAX_STATE ? rawState[0] : null;
  const redirect = (error: AuthorizationErrorCode, description: string): AuthorizationCheck => ({
    ok: false,
    redirect: { uri: redirectUri, error, description, state, iss: policy.issuer },
  });
  for (const [name, values] of params) {
    // `resource` alone may be given several times (RFC 8707 §2).
    if (values.length > 1 && name !== 'resource') return redirect('invalid_request', 'A parameter is repeated (only resource may be)');
  }
  if (rawState && rawState[0].length > MAX_STATE) return redirect('invalid_request', `state is longer than ${MAX_STATE} characters`);
  if (params.has('request')) return redirect('request_not_supported', 'Request objects are not supported; use pushed authorization requests');
  if (params.has('request_uri')) return redirect('request_uri_not_supported', 'request_uri must be one this server issued at its pushed authorization request endpoint');

  const responseType = single(params, 'response_type');
  if (!responseType) return redirect('invalid_request', 'response_type is missing');
  if (responseType !== 'code') return redirect('unsupported_response_type', 'Only response_type=code is supported');
  const responseMode = single(params, 'response_mode');
  if (responseMode && responseMode !== 'query') return redirect('invalid_request', 'Only response_mode=query is supported');

  const codeChallenge = single(params, 'code_challenge');
  const method = single(params, 'code_challenge_method');
  if (!codeChallenge) return redirect('invalid_request', 'PKCE is required: send code_challenge with code_challenge_method=S256');
  if (method !== 'S256') return redirect('invalid_request', 'code_challenge_method must be S256 (plain is not accepted)');
  if (!S256_CHALLENGE.test(codeChallenge)) return redirect('invalid_request', 'code_challenge must be 43 base64url characters (RFC 7636)');

  const scopeParam = single(params, 'scope') ?? '';
  const scopes = [...new Set(scopeParam.split(' ').filter(Boolean))];
  const badScope = scopes.find((scope) => !SCOPE_TOKEN.test(scope));
  if (badScope !== undefined) return redirect('invalid_scope', 'scope holds a value that is not a scope token');
  const refused = scopes.filter((scope) => !policy.grantableScopes.has(scope));
  if (refused.length) return redirect('invalid_scope', 'scope asks for a scope this application may not have');

  const nonce = single(params, 'nonce') ?? null;
  if (nonce !== null && (nonce.length === 0 || nonce.length > MAX_NONCE)) return redirect('invalid_request', `nonce must be 1 to ${MAX_NONCE} characters`);

  const promptParam = single(params, 'prompt');
  const prompt = [...new Set((promptParam ?? '').split(' ').filter(Boolean))] as Prompt[];
  const unknown = prompt.find((value) => !PROMPTS.includes(value));
  if (unknown !== undefined) return redirect('invalid_request', 'prompt holds a value other than none, login and consent');
  if (prompt.includes('none') && prompt.length > 1) return redirect('invalid_request', 'prompt=none cannot be combined with other values');

  const maxAgeParam = single(params, 'max_age');
  let maxAge: number | null = null;
  if (maxAgeParam !== undefined && maxAgeParam !== null) {
    if (!/^\d{1,9}$/.test(maxAgeParam)) return redirect('invalid_request', 'max_age must be a non-negative whole number of seconds');
    maxAge = Number(maxAgeParam);
  }

  const resources = [...new Set(params.get('resource') ?? [])];
  if (resources.length > MAX_RESOURCES) return redirect('invalid_target', `At most ${MAX_RESOURCES} resources`);
  for (const resource of resources) {
    if (!policy.resources.has(resource)) return redirect('invalid_target', 'resource is not an API this application may get tokens for');
  }

  const hint = (name: string): string | null | AuthorizationCheck => {
    const value = single(params, name);
    if (value === undefined || value === null) return null;
    if (value.length === 0 || value.length > MAX_HINT) return redirect('invalid_request', `${name} must be 1 to ${MAX_HINT} characters`);
    return value;
  };
  const hints: Record<string, string | null> = {};
  for (const name of ['login_hint', 'organization_id', 'connection_id', 'domain_hint']) {
    const value = hint(name);
    if (value !== null && typeof value !== 'string') return value;
    hints[name] = value;
  }

  return {
    ok: true,
    request: {
      clientId,
      redirectUri,
      state,
      nonce,
      scopes,
      codeChallenge,
      prompt,
      maxAge,
      loginHint: hints.login_hint,
      organizationId: hints.organization_id,
      connectionId: hints.connection_id,
      domainHint: hints.domain_hint,
      resources,
    },
  };
}

/** The one value of a parameter; undefined when absent, null when repeated. */
function single(params: RawParameters, name: string): string | undefined | null {
  const values = params.get(name);
  if (!values || values.length === 0) return undefined;
  return values.length === 1 ? values[0] : null;
}

/**
 * The redirect URI carrying an error or a code back to the client: the registered URI with the
 * response parameters added to its query (keeping its own), and `iss` (RFC 9207).
 */
export function responseUri(redirectUri: string, parameters: Record<string, string | null>): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(parameters)) if (value !== null) url.searchParams.append(name, value);
  return url.toString();
}
