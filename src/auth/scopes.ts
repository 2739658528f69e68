/**
 * Scopes of management API keys. `<resource>:write` includes `<resource>:read`; `*` is
 * everything (owner keys).
 */
export const API_SCOPES = [
  'workspace:read',
  'workspace:write',
  'environments:read',
  'environments:write',
  'organizations:read',
  'organizations:write',
  'users:read',
  'users:write',
  'roles:read',
  'roles:write',
  'audit:read',
  /** Settings that can destroy audit events sooner: shortening an environment's retention. */
  'audit:write',
  'api_keys:read',
  'api_keys:write',
  'webhooks:read',
  'webhooks:write',
  'oauth:read',
  'oauth:write',
] as const;

export type ApiScope = (typeof API_SCOPES)[number];
export const ALL_SCOPES = '*';

export function isKnownScope(scope: string): boolean {
  return scope === ALL_SCOPES || (API_SCOPES as readonly string[]).includes(scope);
}

export function scopeGrants(granted: readonly string[], wanted: ApiScope): boolean {
  if (granted.includes(ALL_SCOPES) || granted.includes(wanted)) return true;
  if (wanted.endsWith(':read')) return granted.includes(wanted.replace(/:read$/, ':write'));
  return false;
}

/** Every scope in `wanted` is covered by `granted` (no privilege escalation when minting keys). */
export function scopesCovered(granted: readonly string[], wanted: readonly string[]): boolean {
  if (granted.includes(ALL_SCOPES)) return true;
  return wanted.every((scope) => scope !== ALL_SCOPES && scopeGrants(granted, scope as ApiScope));
}
