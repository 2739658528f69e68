import { decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';
import { addressKey } from '../../auth/failed-auth-limiter.js';
import { hashSecret, secretMatchesHash } from '../../crypto/secrets.js';
import type { OAuthDeps, OAuthRequest } from './context.js';
import type { ClientState } from './oauth-cache.js';
import { invalidRequest, OAuthError } from './oauth-error.js';

export const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** Asymmetric algorithms only: `none` and HMAC (signed with a secret the server would have to hold) are refused. */
export const ASSERTION_ALGORITHMS = ['ES256', 'ES384', 'RS256', 'PS256', 'EdDSA'];
/** An assertion may not be valid for longer than this (RFC 7523 §3: short-lived). */
const MAX_ASSERTION_LIFETIME_S = 600;
const CLOCK_TOLERANCE_S = 30;
const MAX_CLIENT_ID_LENGTH = 128;
const MAX_DOCUMENT_CLIENT_ID_LENGTH = 2048;
const CLIENT_ID = /^(sva|app)_[0-9a-hjkmnp-tv-z]{26}$/;

type Method = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
/** A public client (SPA, native app) has no credentials: it names itself and proves possession by PKCE. */
type PublicMethod = 'none';

interface Presented {
  method: Method;
  clientId: string;
  secret?: string;
  assertion?: string;
}

/** Why a client failed to authenticate: for the audit trail, never for the caller. */
class AuthFailure extends Error {
  constructor(
    readonly reason: string,
    readonly clientId: string | null,
  ) {
    super(reason);
  }
}

/** Client ids, secrets and assertion identifiers are printable ASCII (RFC 6749 Appendix A: VSCHAR). */
const PRINTABLE = /^[\x20-\x7E]*$/;

/** Form-decoding of the Basic credentials (RFC 6749 §2.3.1). */
function formDecode(value: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(value.replace(/\+/g, '%20'));
  } catch {
    throw invalidRequest('Malformed client credentials in the Authorization header');
  }
  if (!PRINTABLE.test(decoded)) throw invalidRequest('Malformed client credentials in the Authorization header');
  return decoded;
}

/** The client id as the audit trail may keep it: ours verbatim, anything else (a pasted secret?) only as a fingerprint. */
function auditableClientId(clientId: string): string {
  return CLIENT_ID.test(clientId) ? clientId : `sha256:${hashSecret(clientId).slice(0, 16)}`;
}

/** Which credentials the request carries; more than one method is refused (RFC 6749 §2.3). */
function presented(request: OAuthRequest): Presented | null {
  const { params, authorization } = request;
  const methods: Presented[] = [];
  if (authorization && /^basic /i.test(authorization)) {
    const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw invalidRequest('Malformed client credentials in the Authorization header');
    methods.push({ method: 'client_secret_basic', clientId: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) });
  } else if (authorization) {
    throw invalidRequest('Unsupported Authorization scheme; use Basic client credentials');
  }
  if (params.has('client_secret')) methods.push({ method: 'client_secret_post', clientId: params.get('client_id') ?? '', secret: params.get('client_secret') });
  if (params.has('client_assertion') || params.has('client_assertion_type')) {
    if (params.get('client_assertion_type') !== ASSERTION_TYPE) throw invalidRequest(`client_assertion_type must be ${ASSERTION_TYPE}`);
    const assertion = params.require('client_assertion');
    // Who the assertion claims to be; verified below. One that names no client fails as an
    // unknown client (401, audited, counted against the budget).
    let subject = '';
    try {
      const [, payload] = assertion.split('.');
      const sub: unknown = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')).sub;
      if (typeof sub === 'string' && PRINTABLE.test(sub)) subject = sub;
    } catch {
      subject = '';
    }
    methods.push({ method: 'private_key_jwt', clientId: subject, assertion });
  }
  if (methods.length > 1) throw invalidRequest('Use exactly one client authentication method');
  if (methods.length === 0) return null;
  const [method] = methods;
  const bodyClientId = params.get('client_id');
  if (bodyClientId !== undefined && bodyClientId !== method.clientId) throw invalidRequest('client_id does not match the client credentials');
  if (!method.clientId && method.method !== 'private_key_jwt') throw invalidRequest('The client credentials name no client');
  return method;
}

function secretMatches(client: ClientState, secret: string): string | null {
  const now = Date.now();
  // Every stored secret is compared, in constant time each.
  const matching = client.secrets.filter((stored) => secretMatchesHash(stored.hash, secret) && (stored.expiresAt === null || stored.expiresAt > now));
  return matching[0]?.id ?? null;
}

async function verifyAssertion(deps: OAuthDeps, request: OAuthRequest, client: ClientState, assertion: string): Promise<void> {
  if (!client.getKey) throw new AuthFailure('no_registered_keys', client.id);
  let alg: string | undefined;
  try {
    alg = decodeProtectedHeader(assertion).alg;
  } catch {
    throw new AuthFailure('malformed_assertion', client.id);
  }
  if (!alg || !ASSERTION_ALGORITHMS.includes(alg)) throw new AuthFailure('assertion_alg_not_allowed', client.id);
  let payload;
  try {
    ({ payload } = await jwtVerify(assertion, client.getKey, {
      algorithms: ASSERTION_ALGORITHMS,
      issuer: client.id,
      subject: client.id,
      // The issuer and nothing else (RFC 7523bis): an assertion a client made for another server
      // that names our token endpoint (the 2025 audience-injection attack) is refused.
      audience: request.env.issuer,
      requiredClaims: ['exp', 'jti'],
      clockTolerance: CLOCK_TOLERANCE_S,
    }));
  } catch (error) {
    const reason = error instanceof joseErrors.JOSEError ? error.code.toLowerCase() : 'assertion_invalid';
    throw new AuthFailure(reason, client.id);
  }
  if (Array.isArray(payload.aud) && payload.aud.length !== 1) throw new AuthFailure('assertion_audience_not_single', client.id);
  const now = Math.floor(Date.now() / 1000);
  if (payload.exp! > now + MAX_ASSERTION_LIFETIME_S) throw new AuthFailure('assertion_lifetime_too_long', client.id);
  if (payload.iat !== undefined && payload.iat > now + CLOCK_TOLERANCE_S) throw new AuthFailure('assertion_issued_in_future', client.id);
  if (typeof payload.jti !== 'string' || payload.jti.length > 256 || !PRINTABLE.test(payload.jti)) throw new AuthFailure('assertion_jti_invalid', client.id);
  // First use wins, in any process: the primary key refuses the replay.
  const first = await deps.replayGuard.claim(client.id, payload.jti, new Date((payload.exp! + CLOCK_TOLERANCE_S) * 1000));
  if (!first) throw new AuthFailure('assertion_replayed', client.id);
}

async function verify(deps: OAuthDeps, request: OAuthRequest, credentials: Presented): Promise<{ client: ClientState; method: Method }> {
  if (!credentials.clientId || credentials.clientId.length > MAX_CLIENT_ID_LENGTH) throw new AuthFailure('unknown_client', null);
  const client = await deps.cache.client(request.env, credentials.clientId);
  if (!client) throw new AuthFailure('unknown_client', null);
  if (!client.enabled) throw new AuthFailure('client_disabled', client.id);
  if (client.authMethod && client.authMethod !== credentials.method) throw new AuthFailure(`method_not_registered_${credentials.method}`, client.id);
  if (credentials.method === 'private_key_jwt') {
    await verifyAssertion(deps, request, client, credentials.assertion!);
  } else {
    const secretId = secretMatches(client, credentials.secret ?? '');
    if (!secretId) throw new AuthFailure('wrong_or_expired_secret', client.id);
    deps.secretUsage.touch(request.env, secretId);
  }
  return { client, method: credentials.method };
}

/**
 * Authenticates the calling client (RFC 6749 §2.3, RFC 7523). Credentials are verified first and
 * only failures are counted, per client IP and per client id, as the management API does: one
 * party's failures behind a shared address (NAT, egress proxy) never lock out another client
 * that authenticates. Failures answer `invalid_client` alike, whatever the reason, and are
 * audited with the reason; past either budget they answer 429 and are no longer audited, so a
 * flood cannot flood the audit log, and a party that keeps failing stays throttled.
 */
export async function authenticateClient(deps: OAuthDeps, request: OAuthRequest): Promise<{ client: ClientState; method: Method }> {
  return (await clientOf(deps, request, false)) as { client: ClientState; method: Method };
}

/**
 * Who the caller is where public clients are allowed too (the authorization code and refresh
 * token grants, PAR, revocation): a confidential client must authenticate as above; a request
 * without credentials is a public client's only when `client_id` names an enabled SPA or
 * native application. Anything else fails, counted and audited, as a failed authentication.
 */
export async function identifyClient(deps: OAuthDeps, request: OAuthRequest): Promise<{ client: ClientState; method: Method | PublicMethod }> {
  return clientOf(deps, request, true);
}

async function publicClient(deps: OAuthDeps, request: OAuthRequest, clientId: string): Promise<{ client: ClientState; method: PublicMethod }> {
  // A public client may be known by its metadata document's URL (longer than our ids).
  if (clientId.length > MAX_DOCUMENT_CLIENT_ID_LENGTH) throw new AuthFailure('unknown_client', null);
  const client = await deps.cache.client(request.env, clientId);
  if (!client) throw new AuthFailure('unknown_client', null);
  if (!client.enabled) throw new AuthFailure('client_disabled', client.id);
  // A confidential client that omits its credentials is refused: PKCE alone does not stand in for them.
  if (!client.isPublic) throw new AuthFailure('credentials_missing', client.id);
  return { client, method: 'none' };
}

async function clientOf(deps: OAuthDeps, request: OAuthRequest, allowPublic: boolean): Promise<{ client: ClientState; method: Method | PublicMethod }> {
  const found = presented(request);
  const publicId = !found && allowPublic ? request.params.get('client_id') : undefined;
  if (!found && publicId === undefined) throw new OAuthError('invalid_client', 'Client authentication is required');
  const credentials: Pick<Presented, 'clientId' | 'method'> | { clientId: string; method: PublicMethod } = found ?? { clientId: publicId!, method: 'none' };
  try {
    return found ? await verify(deps, request, found) : await publicClient(deps, request, publicId!);
  } catch (error) {
    if (!(error instanceof AuthFailure)) throw error;
    const ip = addressKey(request.meta.ip);
    const retryAfter = Math.max(await deps.ipFailures.recordFailure(ip), credentials.clientId ? await deps.clientFailures.recordFailure(credentials.clientId.slice(0, MAX_CLIENT_ID_LENGTH)) : 0);
    if (retryAfter) throw tooMany(retryAfter);
    // Within the environment's budget of anonymous failures; beyond it counted into a summary event.
    await deps.audit.appendAnonymousFailure(
      { principal: null, anonymous: true, meta: request.meta },
      {
        action: 'oauth.client_authentication_failed',
        workspaceId: request.env.workspaceId,
        environmentId: request.env.id,
        targets: error.clientId ? [{ type: 'oauth_client', id: error.clientId }] : [],
        after: { reason: error.reason, method: credentials.method, clientId: auditableClientId(credentials.clientId) },
      },
    );
    throw new OAuthError('invalid_client', 'Client authentication failed', {
      headers: credentials.method === 'client_secret_basic' ? { 'www-authenticate': 'Basic realm="gatehouse"' } : {},
    });
  }
}

function tooMany(retryAfter: number): OAuthError {
  return new OAuthError('invalid_client', 'Too many failed client authentications; try again later', {
    status: 429,
    headers: { 'retry-after': String(retryAfter) },
  });
}
