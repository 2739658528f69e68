import { isEmailAddress } from '../validation.js';
import { SocialProvider } from './social-connection.entity.js';
import { MICROSOFT_CONSUMER_TENANT } from './social-presets.js';

/** Who a social provider says signed in, normalised across providers. */
export interface SocialProfile {
  /** The provider's stable id for the account (`sub`, or GitHub's numeric id). */
  subject: string;
  /** Lower-cased; null when the provider named none. */
  email: string | null;
  /** Whether the provider vouches that the account holder controls the address. */
  emailVerified: boolean;
  givenName: string | null;
  familyName: string | null;
  /** What the provider sent, kept on the identity link (no token is ever in it). */
  raw: Record<string, unknown>;
}

const MAX_RAW_BYTES = 8 * 1024;

const text = (value: unknown, max = 200): string | null => (typeof value === 'string' && value.trim() && value.length <= max ? value.trim() : null);
const truthy = (value: unknown): boolean => value === true || value === 'true' || value === 1 || value === '1';
const address = (value: unknown): string | null => {
  const email = text(value, 320);
  return email && isEmailAddress(email.toLowerCase()) ? email.toLowerCase() : null;
};

/** The first word of a full name and the rest: what GitHub (a `name` only) gives for given and family names. */
function splitName(name: string | null): { givenName: string | null; familyName: string | null } {
  if (!name) return { givenName: null, familyName: null };
  const [first, ...rest] = name.split(/\s+/);
  return { givenName: first, familyName: rest.join(' ') || null };
}

/** Scalar fields only, within a size cap: enough to see what the provider said, never a blob. */
function keep(document: Record<string, unknown>): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  let size = 0;
  for (const [name, value] of Object.entries(document)) {
    if (!['string', 'number', 'boolean'].includes(typeof value) || /token|secret|nonce|hash/i.test(name)) continue;
    size += name.length + String(value).length;
    if (size > MAX_RAW_BYTES) break;
    kept[name] = value;
  }
  return kept;
}

/**
 * Whether an OpenID Provider vouches for the address. Microsoft's `email` claim is whatever a
 * tenant's admin typed: it counts only with `xms_edov` (the tenant owns the address's domain)
 * or for a personal account (Microsoft verified it). Anyone else must say `email_verified`.
 */
function oidcEmailVerified(provider: SocialProvider, claims: Record<string, unknown>): boolean {
  if (provider === SocialProvider.MICROSOFT) return truthy(claims.xms_edov) || claims.tid === MICROSOFT_CONSUMER_TENANT;
  return truthy(claims.email_verified);
}

/** The profile in an ID token's claims (completed from userinfo), or in a generic OAuth 2.0 server's userinfo answer. */
export function profileFromClaims(provider: SocialProvider, claims: Record<string, unknown>): SocialProfile | null {
  const id = claims.sub ?? (provider === SocialProvider.GENERIC_OAUTH2 ? claims.id : undefined);
  const subject = typeof id === 'number' && Number.isSafeInteger(id) ? String(id) : text(id, 255);
  if (!subject) return null;
  const named = text(claims.given_name) || text(claims.family_name) ? { givenName: text(claims.given_name), familyName: text(claims.family_name) } : splitName(text(claims.name));
  return { subject, email: address(claims.email), emailVerified: oidcEmailVerified(provider, claims), ...named, raw: keep(claims) };
}

/**
 * GitHub's `/user` and `/user/emails`: the numeric id is the subject, the address is the
 * primary one if GitHub verified it. A user's public `email` on `/user` is not proof of anything.
 */
export function profileFromGitHub(user: unknown, emails: unknown): SocialProfile | null {
  if (typeof user !== 'object' || user === null) return null;
  const fields = user as Record<string, unknown>;
  if (typeof fields.id !== 'number' || !Number.isSafeInteger(fields.id)) return null;
  const listed = Array.isArray(emails) ? (emails as Record<string, unknown>[]) : [];
  const primary = listed.find((entry) => entry && entry.primary === true);
  const email = primary ? address(primary.email) : null;
  return {
    subject: String(fields.id),
    email,
    emailVerified: email !== null && primary?.verified === true,
    ...splitName(text(fields.name)),
    raw: keep(fields),
  };
}
