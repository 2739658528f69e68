import { isActionPattern, parseActionPatterns } from '../../audit/action-pattern.js';
import type { Principal } from '../../auth/principal.js';
import { scopeGrants, type ApiScope } from '../../auth/scopes.js';
import { forbidden } from '../../errors/app-error.js';

/**
 * The scope that reads every event: `auditEvents` (and the audit stream and export) already
 * serve any event of any family to it, so a webhook can deliver nothing it could not read.
 */
export const EVERY_EVENT_SCOPE: ApiScope = 'audit:read';

/**
 * The scope that reads the events of a family (the part of an action before its first dot) or
 * of one action, where that action shows more than its family's resource does. A webhook
 * delivers the whole audit event, snapshots included, so subscribing to events needs the
 * scope that reads them through the API. The single table of this mapping: a family missing
 * here (sign-in, connection, directory, …, until they are added) falls to `EVERY_EVENT_SCOPE`.
 */
export const EVENT_READ_SCOPES: Readonly<Record<string, ApiScope>> = {
  api_key: 'api_keys:read',
  // Failed authentications (caller's address, why it failed) exist only in the audit trail.
  'api_key.authentication_failed': 'audit:read',
  application: 'oauth:read',
  audit: 'audit:read',
  client_secret: 'oauth:read',
  // SSO connections of organizations, read through `ssoConnections`.
  connection: 'organizations:read',
  // Grants and withdrawals of consent, read through `consents` (users:read).
  consent: 'users:read',
  custom_attribute: 'users:read',
  // SCIM directories of organizations, read through `directories`.
  directory: 'organizations:read',
  environment: 'environments:read',
  membership: 'organizations:read',
  // Token issuance, exchange, revocation and failed client authentication: audit-only records.
  oauth: 'audit:read',
  organization: 'organizations:read',
  permission: 'roles:read',
  resource_server: 'oauth:read',
  role: 'roles:read',
  service_account: 'oauth:read',
  // Sessions ended (revoked, or by a suspension or removal), read through `sessions` (users:read).
  session: 'users:read',
  signing_key: 'oauth:read',
  // Refused social sign-ins (reason, caller's address): audit-only records.
  social: 'audit:read',
  // Social connections of environments, read through `socialConnections`.
  social_connection: 'environments:read',
  // Refused SSO sign-ins (reason, caller's address): audit-only records.
  sso: 'audit:read',
  trusted_issuer: 'oauth:read',
  user: 'users:read',
  // Refused sign-ins name the address someone typed, user or not: an audit-only record.
  'user.signin_failed': 'audit:read',
  webhook_delivery: 'webhooks:read',
  webhook_endpoint: 'webhooks:read',
  workspace: 'workspace:read',
};

/**
 * An exact action or a prefix (`user.*` → `user.`), read by the grammar every matcher shares
 * (audit/action-pattern.ts); null for `*` and for anything outside the grammar (a wildcard a
 * future syntax allows, like `u*`, may span families).
 */
function patternOf(eventType: string): { exact: string } | { prefix: string } | null {
  if (!isActionPattern(eventType)) return null;
  const set = parseActionPatterns([eventType]);
  if (set.all) return null;
  return set.prefixes.length ? { prefix: set.prefixes[0] } : { exact: set.exact[0] };
}

/** Whether a table key (a family or an action) names actions this pattern can match. */
function overlaps(key: string, pattern: { exact: string } | { prefix: string }): boolean {
  if ('exact' in pattern) return pattern.exact === key || pattern.exact.startsWith(`${key}.`);
  return key.startsWith(pattern.prefix) || `${key}.`.startsWith(pattern.prefix) || pattern.prefix.startsWith(`${key}.`);
}

/**
 * The scopes that read every event one subscription pattern can deliver: those of each table
 * entry it overlaps; `EVERY_EVENT_SCOPE` for `*` and for a family without an entry (fail closed).
 */
export function scopesForEventType(eventType: string): ApiScope[] {
  const pattern = patternOf(eventType);
  if (!pattern) return [EVERY_EVENT_SCOPE];
  const family = ('exact' in pattern ? pattern.exact : pattern.prefix).split('.')[0];
  // Own keys only: `constructor` or `__proto__` are valid family names but no table entries.
  if (!Object.hasOwn(EVENT_READ_SCOPES, family)) return [EVERY_EVENT_SCOPE];
  const scopes = Object.entries(EVENT_READ_SCOPES)
    .filter(([key]) => overlaps(key, pattern))
    .map(([, scope]) => scope);
  return scopes.length ? [...new Set(scopes)] : [EVERY_EVENT_SCOPE];
}

/**
 * Refuses a subscription whose events the caller could not read through the API. An empty list
 * delivers every event, as `*` does. `EVERY_EVENT_SCOPE` alone covers any subscription.
 */
export function requireEventReadScopes(principal: Principal, eventTypes: readonly string[]): void {
  if (scopeGrants(principal.scopes, EVERY_EVENT_SCOPE)) return;
  for (const eventType of eventTypes.length ? eventTypes : ['*']) {
    const missing = scopesForEventType(eventType).find((scope) => !scopeGrants(principal.scopes, scope));
    if (!missing) continue;
    const events = eventType === '*' ? 'every event' : `"${eventType}" events`;
    throw forbidden(
      'auth.missing_scope',
      `This API key lacks the "${missing}" scope, needed to receive ${events} (or "${EVERY_EVENT_SCOPE}", which reads every event)`,
    );
  }
}
