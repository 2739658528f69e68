import { invalid } from '../../errors/app-error.js';
import { ApplicationType, type OAuthClient } from './oauth-client.entity.js';
import {
  CLIENT_GRANT_TYPES,
  checkGrantTypes,
  checkOutboundUrl,
  checkRedirectUris,
  LOOPBACK_HOSTS,
  LOOPBACK_IPS,
  parseClientUri,
  uniqueStringList,
} from './oauth-client.validation.js';

/**
 * The settings of applications people sign in to (WEB, SPA, NATIVE): where the authorization
 * server may send the browser back, which origins may call its endpoints from JavaScript, and
 * how long the tokens of a sign-in live. Pure checks: each takes the raw value, returns the
 * normalised one or throws BAD_USER_INPUT naming `field`.
 */

/** Applications a person signs in to (the authorization code flow). */
export const INTERACTIVE_TYPES: readonly ApplicationType[] = [ApplicationType.WEB, ApplicationType.SPA, ApplicationType.NATIVE];

export const isInteractive = (type: ApplicationType | null): boolean => type !== null && INTERACTIVE_TYPES.includes(type);

/** Public clients hold no secret (they run on the user's device): PKCE is what binds their codes. */
export const isPublicClient = (type: ApplicationType | null): boolean => type === ApplicationType.SPA || type === ApplicationType.NATIVE;

/** Grants of an interactive application, and the default. */
export const INTERACTIVE_GRANT_TYPES = ['authorization_code', 'refresh_token'] as const;

export const MAX_WEB_ORIGINS = 20;

/** Lifetimes in seconds: bounds and defaults. */
export const LIFETIMES = {
  idToken: { min: 60, max: 86_400, default: 3_600 },
  refreshIdle: { min: 300, max: 365 * 86_400, default: 14 * 86_400 },
  refreshAbsolute: { min: 300, max: 365 * 86_400, default: 90 * 86_400 },
} as const;

/** Where an application of `type` may be sent back to after sign-in or sign-out (see `checkRedirectUris`). */
export const checkAppRedirectUris = (type: ApplicationType, values: unknown, field: string[], what = 'Redirect URIs'): string[] =>
  checkRedirectUris(values, field, type === ApplicationType.NATIVE ? 'native' : 'web', what);

/**
 * Whether `presented` is one of `registered`: the exact string (no normalisation), except that
 * a NATIVE application's loopback redirect URI matches on any port (RFC 8252 §7.3), because the
 * app listens on whatever port the operating system gives it.
 */
export function redirectUriMatches(type: ApplicationType | null, registered: readonly string[], presented: string): boolean {
  if (registered.includes(presented)) return true;
  if (type !== ApplicationType.NATIVE || !presented.startsWith('http://')) return false;
  let url: URL;
  try {
    url = new URL(presented);
  } catch {
    return false;
  }
  if (!LOOPBACK_IPS.includes(url.hostname) || presented.includes('#')) return false;
  const portless = withoutPort(presented, url);
  return registered.some((uri) => {
    if (!uri.startsWith('http://')) return false;
    const candidate = new URL(uri);
    return LOOPBACK_IPS.includes(candidate.hostname) && withoutPort(uri, candidate) === portless;
  });
}

/** The URI as written, without its port: `http://127.0.0.1:51004/cb?x` → `http://127.0.0.1/cb?x`. */
function withoutPort(uri: string, url: URL): string {
  const authority = url.port ? `${url.hostname}:${url.port}` : url.hostname;
  const start = uri.indexOf(authority, 'http://'.length);
  return start === 'http://'.length ? `http://${url.hostname}${uri.slice(start + authority.length)}` : uri;
}

/**
 * Origins whose JavaScript may call the token, userinfo and revocation endpoints (CORS):
 * exactly `scheme://host[:port]`, `https` or `http` on a loopback host. At most 20.
 */
export function checkWebOrigins(values: unknown, field: string[]): string[] {
  const origins = uniqueStringList(values, 'oauth.invalid_web_origin', 'Web origins', field, MAX_WEB_ORIGINS);
  for (const value of origins) {
    const fail = (why: string) => invalid('oauth.invalid_web_origin', `"${value.slice(0, 200)}" ${why}`, field);
    const url = parseClientUri(value, fail);
    if (url.origin !== value) throw fail('must be an origin: scheme, host and port only, without path or trailing slash');
    if (url.protocol === 'https:') continue;
    if (url.protocol === 'http:' && LOOPBACK_HOSTS.includes(url.hostname)) continue;
    throw fail('must use https (http only on 127.0.0.1, [::1] or localhost)');
  }
  return origins;
}

/** A lifetime in whole seconds within `bounds`. */
export function checkLifetime(value: unknown, bounds: { min: number; max: number }, field: string[]): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < bounds.min || value > bounds.max) {
    throw invalid('oauth_client.invalid_lifetime', `Must be a whole number of seconds from ${bounds.min} to ${bounds.max}`, field);
  }
  return value;
}

/** What the management API may set on an application, beyond what every client takes. */
export interface ApplicationSettingsInput {
  grantTypes?: string[] | null;
  jwks?: unknown;
  jwksUri?: string | null;
  redirectUris?: string[] | null;
  postLogoutRedirectUris?: string[] | null;
  allowedWebOrigins?: string[] | null;
  firstParty?: boolean | null;
  idTokenTtl?: number | null;
  refreshTokenIdleTtl?: number | null;
  refreshTokenAbsoluteTtl?: number | null;
  backchannelLogoutUri?: string | null;
  initiateLoginUri?: string | null;
}

/** Checked application settings; undefined leaves a field as it is. */
export interface ApplicationSettings {
  grantTypes?: string[];
  redirectUris?: string[];
  postLogoutRedirectUris?: string[];
  allowedWebOrigins?: string[];
  firstParty?: boolean;
  idTokenTtl?: number;
  refreshTokenIdleTtl?: number;
  refreshTokenAbsoluteTtl?: number;
  backchannelLogoutUri?: string | null;
  initiateLoginUri?: string | null;
}

const SIGN_IN_FIELDS = [
  'redirectUris',
  'postLogoutRedirectUris',
  'allowedWebOrigins',
  'firstParty',
  'idTokenTtl',
  'refreshTokenIdleTtl',
  'refreshTokenAbsoluteTtl',
  'backchannelLogoutUri',
  'initiateLoginUri',
] as const;

/** Grants each interactive type may hold: a server-side app may also act for itself. */
const GRANTS_OF: Partial<Record<ApplicationType, readonly string[]>> = {
  [ApplicationType.WEB]: [...INTERACTIVE_GRANT_TYPES, ...CLIENT_GRANT_TYPES],
  [ApplicationType.SPA]: INTERACTIVE_GRANT_TYPES,
  [ApplicationType.NATIVE]: INTERACTIVE_GRANT_TYPES,
};

/**
 * Checks the settings of an application of `type` (`current` is the stored application on an
 * update, null on creation): sign-in settings only for WEB, SPA and NATIVE; web origins only
 * where a browser runs the code (WEB, SPA); a back-channel logout URL only for WEB (a server),
 * under the outbound policy of webhooks; no keys for public clients (SPA, NATIVE); grants
 * those the type may use; the absolute refresh lifetime at least the idle one.
 */
export function checkApplicationSettings(
  type: ApplicationType,
  input: ApplicationSettingsInput,
  current: Pick<OAuthClient, 'refreshTokenIdleTtl' | 'refreshTokenAbsoluteTtl'> | null,
  allowPrivateTargets: boolean,
): ApplicationSettings {
  const field = (name: string) => ['input', name];
  const settings: ApplicationSettings = {};
  const allowed = GRANTS_OF[type];
  if (!allowed) {
    const given = SIGN_IN_FIELDS.find((name) => input[name] != null);
    if (given) throw invalid('oauth_client.not_interactive', `${given} applies only to WEB, SPA and NATIVE applications`, field(given));
    if (input.grantTypes != null) settings.grantTypes = checkGrantTypes(input.grantTypes, field('grantTypes'));
    return settings;
  }
  if (input.grantTypes != null) {
    const grants = uniqueStringList(input.grantTypes, 'oauth_client.invalid_grant_type', 'Grant types', field('grantTypes'), allowed.length);
    const bad = grants.find((grant) => !allowed.includes(grant));
    if (bad !== undefined) throw invalid('oauth_client.invalid_grant_type', `A ${type} application may use ${allowed.join(', ')}; not "${bad.slice(0, 100)}"`, field('grantTypes'));
    if (!grants.includes('authorization_code') && grants.includes('refresh_token')) {
      throw invalid('oauth_client.invalid_grant_type', 'refresh_token comes with authorization_code', field('grantTypes'));
    }
    settings.grantTypes = grants.sort();
  }
  if (isPublicClient(type) && (input.jwks != null || input.jwksUri != null)) {
    throw invalid('oauth_client.public_client', `A ${type} application is a public client: it holds no keys or secrets, PKCE binds its codes`, field(input.jwks != null ? 'jwks' : 'jwksUri'));
  }
  if (input.redirectUris != null) settings.redirectUris = checkAppRedirectUris(type, input.redirectUris, field('redirectUris'));
  if (input.postLogoutRedirectUris != null) {
    settings.postLogoutRedirectUris = checkAppRedirectUris(type, input.postLogoutRedirectUris, field('postLogoutRedirectUris'), 'Post-logout redirect URIs');
  }
  if (input.allowedWebOrigins != null) {
    const origins = checkWebOrigins(input.allowedWebOrigins, field('allowedWebOrigins'));
    if (type === ApplicationType.NATIVE && origins.length) {
      throw invalid('oauth_client.not_browser', 'A NATIVE application does not run in a browser: it has no web origins', field('allowedWebOrigins'));
    }
    settings.allowedWebOrigins = origins;
  }
  if (input.firstParty != null) settings.firstParty = input.firstParty;
  if (input.idTokenTtl != null) settings.idTokenTtl = checkLifetime(input.idTokenTtl, LIFETIMES.idToken, field('idTokenTtl'));
  if (input.refreshTokenIdleTtl != null) settings.refreshTokenIdleTtl = checkLifetime(input.refreshTokenIdleTtl, LIFETIMES.refreshIdle, field('refreshTokenIdleTtl'));
  if (input.refreshTokenAbsoluteTtl != null) {
    settings.refreshTokenAbsoluteTtl = checkLifetime(input.refreshTokenAbsoluteTtl, LIFETIMES.refreshAbsolute, field('refreshTokenAbsoluteTtl'));
  }
  const idle = settings.refreshTokenIdleTtl ?? current?.refreshTokenIdleTtl ?? LIFETIMES.refreshIdle.default;
  const absolute = settings.refreshTokenAbsoluteTtl ?? current?.refreshTokenAbsoluteTtl ?? LIFETIMES.refreshAbsolute.default;
  if (absolute < idle) {
    throw invalid('oauth_client.invalid_lifetime', 'The absolute refresh token lifetime must be at least the idle one', field(settings.refreshTokenAbsoluteTtl !== undefined ? 'refreshTokenAbsoluteTtl' : 'refreshTokenIdleTtl'));
  }
  if (input.backchannelLogoutUri !== undefined) {
    if (input.backchannelLogoutUri !== null && type !== ApplicationType.WEB) {
      throw invalid('oauth_client.not_web', 'Only a WEB application (a server) receives back-channel logout tokens', field('backchannelLogoutUri'));
    }
    const uri = input.backchannelLogoutUri;
    // OpenID Back-Channel Logout 1.0 §2.2: no fragment.
    if (uri?.includes('#')) throw invalid('oauth.invalid_backchannel_logout_uri', 'Back-channel logout URL must not have a fragment', field('backchannelLogoutUri'));
    settings.backchannelLogoutUri =
      uri === null ? null : checkOutboundUrl(uri, allowPrivateTargets, field('backchannelLogoutUri'), 'oauth.invalid_backchannel_logout_uri', 'Back-channel logout URL');
  }
  if (input.initiateLoginUri !== undefined) settings.initiateLoginUri = input.initiateLoginUri === null ? null : checkInitiateLoginUri(input.initiateLoginUri, field('initiateLoginUri'));
  return settings;
}

/** OpenID Connect Registration §2 `initiate_login_uri`: https (http only on loopback, for development), no fragment. */
function checkInitiateLoginUri(value: string, at: string[]): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    // reported below
  }
  const loopback = url !== undefined && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (!url || !(url.protocol === 'https:' || (url.protocol === 'http:' && loopback)) || url.hash || url.username || url.password || value.length > 2048) {
    throw invalid('oauth.invalid_initiate_login_uri', 'The sign-in start URL must be https (http only on localhost), without fragment or credentials, at most 2048 characters', at);
  }
  return url.toString();
}

/** Applies checked settings to an application. */
export function applyApplicationSettings(client: OAuthClient, settings: ApplicationSettings): void {
  if (settings.grantTypes !== undefined) client.grantTypes = settings.grantTypes;
  if (settings.redirectUris !== undefined) client.redirectUris = settings.redirectUris;
  if (settings.postLogoutRedirectUris !== undefined) client.postLogoutRedirectUris = settings.postLogoutRedirectUris;
  if (settings.allowedWebOrigins !== undefined) client.allowedWebOrigins = settings.allowedWebOrigins;
  if (settings.firstParty !== undefined) client.firstParty = settings.firstParty;
  if (settings.idTokenTtl !== undefined) client.idTokenTtl = settings.idTokenTtl;
  if (settings.refreshTokenIdleTtl !== undefined) client.refreshTokenIdleTtl = settings.refreshTokenIdleTtl;
  if (settings.refreshTokenAbsoluteTtl !== undefined) client.refreshTokenAbsoluteTtl = settings.refreshTokenAbsoluteTtl;
  if (settings.backchannelLogoutUri !== undefined) client.backchannelLogoutUri = settings.backchannelLogoutUri;
  if (settings.initiateLoginUri !== undefined) client.initiateLoginUri = settings.initiateLoginUri;
}
