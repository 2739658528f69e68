import * as client from 'openid-client';

/** Stable codes of an OIDC sign-in that failed, for audit events, traces and the error page. */
export type OidcFailureReason = 'discovery_failed' | 'idp_error' | 'token_exchange' | 'id_token_invalid' | 'userinfo_failed' | 'idp_unreachable';

export type OidcFailure = { ok: false; reason: OidcFailureReason; detail: string };

/** What the OpenID Provider said about the person: ID token claims, completed by userinfo. */
export type OidcClaims = Record<string, unknown> & { sub: string };

/** The connection as the relying party needs it. */
export interface OidcClientSettings {
  id: string;
  updatedAt: Date;
  oidcIssuer: string;
  oidcClientId: string;
  oidcScopes: string[];
}

export interface RelyingPartyOptions {
  /** Every request to a provider goes through it: the outbound guard (no private target, size and time caps). */
  fetch: typeof fetch;
  /** How long a provider's discovery document (and with it its JWKS) is reused. @default 1 hour */
  cacheTtlMs?: number;
  /** Connections whose configuration is cached at most; the oldest goes first. @default 1000 */
  maxCached?: number;
}

export interface DiscoveryOptions {
  /**
   * Accept a multi-tenant issuer template (Entra ID's `https://login.microsoftonline.com/{tenantid}/v2.0`,
   * filled from each ID token's `tid`): ID tokens of any tenant validate. Never for an
   * organization's connection. @default false
   */
  multiTenantIssuer?: boolean;
}

/** Discovery that worked but names a provider Gatehouse must not use, with the reason for the builder. */
class DiscoveryRefused extends Error {}

const DEFAULT_CACHE_TTL_MS = 60 * 60_000;
const FAILED_DISCOVERY_TTL_MS = 60_000;
/** openid-client counts its timeout in seconds. */
const REQUEST_TIMEOUT_SECONDS = 10;
/** Clock difference tolerated between Gatehouse and a provider when comparing auth_time. */
const AUTH_TIME_SKEW_MS = 60_000;

/**
 * Gatehouse as the OpenID Connect relying party of organizations' providers (Okta, Entra ID,
 * Google Workspace, …), on `openid-client`: discovery (cached per connection and version),
 * authorization code with PKCE, state and nonce, ID token validation (issuer, audience, expiry,
 * nonce, auth_time, and its signature against the provider's JWKS), and userinfo when the ID
 * token names no email. Every request goes through the outbound guard and follows no redirect.
 */
export class OidcRelyingParty {
  /** By connection id: a newer version of the connection replaces its entry, so edits cannot pile entries up. */
  private readonly configurations = new Map<string, { version: number; config: Promise<client.Configuration>; until: number }>();
  private readonly cacheTtlMs: number;
  private readonly maxCached: number;

  constructor(private readonly options: RelyingPartyOptions) {
    this.cacheTtlMs = options.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS;
    this.maxCached = options.maxCached ?? 1000;
  }

  /**
   * The provider's configuration for this connection, discovered once per version of the
   * connection (a change of issuer, client or secret discovers anew) and cache period. A failed
   * discovery is remembered for a minute: sign-ins meanwhile fail at once instead of each
   * making the provider (or a tarpit posing as one) wait.
   */
  async configuration(connection: OidcClientSettings, clientSecret: string, options: DiscoveryOptions = {}): Promise<client.Configuration | OidcFailure> {
    const version = connection.updatedAt.getTime();
    const now = Date.now();
    let entry = this.configurations.get(connection.id);
    if (!entry || entry.version !== version || entry.until <= now) {
      this.configurations.delete(connection.id);
      if (this.configurations.size >= this.maxCached) this.configurations.delete(this.configurations.keys().next().value!);
      const fresh = { version, config: this.discover(connection, clientSecret, options), until: now + this.cacheTtlMs };
      fresh.config.catch(() => (fresh.until = Math.min(fresh.until, Date.now() + FAILED_DISCOVERY_TTL_MS)));
      this.configurations.set(connection.id, fresh);
      entry = fresh;
    }
    try {
      return await entry.config;
    } catch (error) {
      return failure('discovery_failed', `The provider's discovery document at ${connection.oidcIssuer} could not be used: ${discoveryProblem(error)}`);
    }
  }

  private async discover(connection: OidcClientSettings, clientSecret: string, options: DiscoveryOptions): Promise<client.Configuration> {
    const issuer = new URL(connection.oidcIssuer);
    const insecure = issuer.protocol === 'http:';
    // The configuration openid-client discovers is kept as it is (it knows, for one, that Entra
    // ID's multi-tenant issuer is a template filled from the ID token's `tid`); the client
    // authentication follows what the discovered provider lists.
    const config = await client.discovery(issuer, connection.oidcClientId, undefined, secretAuthentication(clientSecret), {
      [client.customFetch]: this.options.fetch,
      execute: insecure ? [client.allowInsecureRequests] : [],
      timeout: REQUEST_TIMEOUT_SECONDS,
    });
    const server = config.serverMetadata();
    // Entra ID's `/common` and `/organizations` answer for every tenant: openid-client then
    // takes the ID token's issuer from the token's own `tid`. Only a connection that means any
    // tenant (the social Microsoft button) may have that; an organization's IdP is one tenant.
    if (server.issuer.includes('{tenantid}') && !options.multiTenantIssuer) {
      throw new DiscoveryRefused(`its issuer ${server.issuer} is a template any tenant answers for: use the tenant's own issuer (https://login.microsoftonline.com/<tenant id>/v2.0)`);
    }
    if (!authenticationMethod(server)) throw new DiscoveryRefused('the provider accepts neither client_secret_basic nor client_secret_post at its token endpoint');
    config[client.customFetch] = this.options.fetch;
    config.timeout = REQUEST_TIMEOUT_SECONDS;
    // ID tokens from the token endpoint are trusted by TLS alone under the spec; their signature
    // is checked against the provider's JWKS all the same (fetched through the guard, cached).
    client.enableNonRepudiationChecks(config);
    return config;
  }

  /**
   * A plain OAuth 2.0 server (GitHub, a generic one), by its endpoints: no discovery, no ID
   * token; the client authenticates with `client_secret_post`, which every such server takes.
   * The issuer openid-client compares an `iss` response parameter with is the authorization
   * endpoint's origin.
   */
  oauth2Configuration(endpoints: { authorizationUrl: string; tokenUrl: string; userinfoUrl: string }, clientId: string, clientSecret: string): client.Configuration {
    const authorization = new URL(endpoints.authorizationUrl);
    const config = new client.Configuration(
      { issuer: authorization.origin, authorization_endpoint: endpoints.authorizationUrl, token_endpoint: endpoints.tokenUrl, userinfo_endpoint: endpoints.userinfoUrl },
      clientId,
      undefined,
      client.ClientSecretPost(clientSecret),
    );
    config[client.customFetch] = this.options.fetch;
    config.timeout = REQUEST_TIMEOUT_SECONDS;
    if ([authorization, new URL(endpoints.tokenUrl), new URL(endpoints.userinfoUrl)].some((url) => url.protocol === 'http:')) client.allowInsecureRequests(config);
    return config;
  }

  /** Where the browser goes to authenticate at a plain OAuth 2.0 server: state and PKCE, no nonce (there is no ID token). */
  oauth2AuthorizationUrl(config: client.Configuration, request: { redirectUri: string; scopes: string[]; state: string; codeChallenge: string; loginHint: string | null }): URL {
    const parameters: Record<string, string> = {
      redirect_uri: request.redirectUri,
      response_type: 'code',
      state: request.state,
      code_challenge: request.codeChallenge,
      code_challenge_method: 'S256',
    };
    if (request.scopes.length) parameters.scope = request.scopes.join(' ');
    // GitHub's name for it (`login`); other servers ignore what they do not know.
    if (request.loginHint) parameters.login = request.loginHint;
    return client.buildAuthorizationUrl(config, parameters);
  }

  /**
   * A plain OAuth 2.0 server's answer at the callback: the code exchanged (with the PKCE
   * verifier, the state checked), then the profile read from `profileUrl` (and GitHub's
   * `/user/emails` beside it) with the access token, which goes nowhere else.
   */
  async completeOAuth2(
    config: client.Configuration,
    callbackUrl: URL,
    checks: { state: string; codeVerifier: string },
    profileUrls: string[],
  ): Promise<{ ok: true; documents: unknown[] } | OidcFailure> {
    let accessToken: string;
    try {
      const tokens = await client.authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier: checks.codeVerifier, expectedState: checks.state });
      accessToken = tokens.access_token;
    } catch (error) {
      const failed = classify(error);
      // Without an ID token, an answer that does not validate is the token endpoint's.
      return failed.reason === 'id_token_invalid' ? { ...failed, reason: 'token_exchange' } : failed;
    }
    const documents: unknown[] = [];
    for (const url of profileUrls) {
      try {
        const headers = new Headers({ accept: 'application/json', 'user-agent': 'Gatehouse' });
        const response = await client.fetchProtectedResource(config, accessToken, new URL(url), 'GET', undefined, headers);
        if (!response.ok) return failure('userinfo_failed', `The provider's profile endpoint ${url} answered HTTP ${response.status}`);
        documents.push(await response.json());
      } catch (error) {
        return failure('userinfo_failed', `The provider's profile endpoint ${url} failed: ${messageOf(error)}`);
      }
    }
    return { ok: true, documents };
  }

  /** Where the browser goes to authenticate at the provider. */
  authorizationUrl(
    config: client.Configuration,
    connection: Pick<OidcClientSettings, 'oidcScopes'>,
    request: { redirectUri: string; state: string; nonce: string; codeChallenge: string; forceAuthn: boolean; maxAge: number | null; loginHint: string | null },
  ): URL {
    const parameters: Record<string, string> = {
      redirect_uri: request.redirectUri,
      response_type: 'code',
      scope: connection.oidcScopes.join(' '),
      state: request.state,
      nonce: request.nonce,
      code_challenge: request.codeChallenge,
      code_challenge_method: 'S256',
    };
    if (request.forceAuthn) parameters.prompt = 'login';
    if (request.maxAge !== null) parameters.max_age = String(request.maxAge);
    if (request.loginHint) parameters.login_hint = request.loginHint;
    return client.buildAuthorizationUrl(config, parameters);
  }

  /**
   * The provider's answer at the callback: the code exchanged (with the PKCE verifier), the ID
   * token validated (signature by the provider's JWKS, issuer, audience, expiry, nonce), and
   * the claims completed from userinfo (same `sub`) when the ID token names no email.
   */
  async complete(
    config: client.Configuration,
    callbackUrl: URL,
    checks: { state: string; nonce: string; codeVerifier: string; maxAge: number | null; freshSince: Date | null },
  ): Promise<{ ok: true; claims: OidcClaims; fromUserinfo: boolean } | OidcFailure> {
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: checks.codeVerifier,
        expectedState: checks.state,
        expectedNonce: checks.nonce,
        idTokenExpected: true,
        // The application's max_age, passed on: the ID token's auth_time must honour it.
        ...(checks.maxAge !== null ? { maxAge: checks.maxAge } : {}),
      });
    } catch (error) {
      return classify(error);
    }
    const idToken = tokens.claims()!;
    // prompt=login: a provider that says when the person authenticated must say it was now.
    if (checks.freshSince && typeof idToken.auth_time === 'number' && idToken.auth_time * 1000 < checks.freshSince.getTime() - AUTH_TIME_SKEW_MS) {
      return failure('id_token_invalid', 'The provider reused an earlier sign-in where a fresh one was asked for (auth_time)');
    }
    const claims: OidcClaims = { ...idToken };
    const fromUserinfo = typeof claims.email !== 'string' && config.serverMetadata().userinfo_endpoint !== undefined;
    if (fromUserinfo) {
      try {
        const userinfo = await client.fetchUserInfo(config, tokens.access_token, idToken.sub);
        // The ID token's own claims win over userinfo's.
        for (const [name, value] of Object.entries(userinfo)) if (!(name in claims)) claims[name] = value;
      } catch (error) {
        return failure('userinfo_failed', `The provider's userinfo endpoint failed: ${messageOf(error)}`);
      }
    }
    return { ok: true, claims, fromUserinfo };
  }
}

/** `client_secret_basic` when the provider lists it (RFC 8414: the default when it lists nothing), else `client_secret_post`. */
function authenticationMethod(server: client.ServerMetadata): 'client_secret_basic' | 'client_secret_post' | null {
  const methods = server.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
  return methods.includes('client_secret_basic') ? 'client_secret_basic' : methods.includes('client_secret_post') ? 'client_secret_post' : null;
}

/** Client authentication chosen when a request is made, from the provider's discovered metadata. */
function secretAuthentication(clientSecret: string): client.ClientAuth {
  const basic = client.ClientSecretBasic(clientSecret);
  const post = client.ClientSecretPost(clientSecret);
  return (server, metadata, body, headers) => (authenticationMethod(server) === 'client_secret_post' ? post : basic)(server, metadata, body, headers);
}

function failure(reason: OidcFailureReason, detail: string): OidcFailure {
  return { ok: false, reason, detail: detail.slice(0, 500) };
}

/**
 * Why discovery failed, for the tenant's audit trail and traces: the provider's protocol errors
 * as openid-client words them, but one phrase for every network or outbound-policy failure, so
 * an issuer pointed at internal names maps nothing (resolved to a private address vs not found).
 */
function discoveryProblem(error: unknown): string {
  if (error instanceof DiscoveryRefused) return error.message;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('OAUTH_')) return messageOf(error);
  return 'it could not be fetched (unreachable, refused by the outbound policy, too large or too slow)';
}

function messageOf(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error instanceof Error ? error.message : String(error)}${cause}`;
}

/** What went wrong, in the provider's words where it gave them (OAuth error codes are not secrets). */
function classify(error: unknown): OidcFailure {
  if (error instanceof client.AuthorizationResponseError) {
    return failure('idp_error', `The provider refused the sign-in: ${error.error}${error.error_description ? ` (${error.error_description})` : ''}`);
  }
  if (error instanceof client.ResponseBodyError) {
    return failure('token_exchange', `The provider's token endpoint refused the code: ${error.error}${error.error_description ? ` (${error.error_description})` : ''}`);
  }
  if (error instanceof client.WWWAuthenticateChallengeError) {
    // A 401 with a challenge: the client's own credentials were refused.
    return failure('token_exchange', `The provider's token endpoint refused the client (HTTP ${error.status}): check the client id and secret`);
  }
  if (error instanceof client.ClientError) {
    const code = error.code ?? '';
    if (/REQUEST_PROTOCOL_FORBIDDEN|RESPONSE_BODY_ERROR|HTTP_REQUEST_FORBIDDEN/.test(code)) return failure('token_exchange', messageOf(error));
    return failure('id_token_invalid', `The provider's answer did not validate: ${messageOf(error)}`);
  }
  return failure('idp_unreachable', `The provider could not be reached: ${messageOf(error)}`);
}
