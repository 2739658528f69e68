import { forbidden } from '../errors/app-error.js';
import { scopeGrants, type ApiScope } from './scopes.js';
import { tenantScope, type TenantScope } from '../db/tenant-scope.js';

/** Who is calling: today always an API key of one workspace, optionally pinned to one environment. */
export interface Principal {
  readonly type: 'API_KEY';
  readonly apiKeyId: string;
  readonly name: string;
  readonly workspaceId: string;
  /** Null for workspace-wide keys. */
  readonly environmentId: string | null;
  readonly scopes: readonly string[];
  /** When the key stops working, if ever; keys it mints may not outlive it. */
  readonly expiresAt: Date | null;
  /** Every environment this principal reaches: its own, or all of its workspace's. */
  readonly environmentIds: readonly string[];
}

export function requireScope(principal: Principal, scope: ApiScope): void {
  if (!scopeGrants(principal.scopes, scope)) {
    throw forbidden('auth.missing_scope', `This API key lacks the "${scope}" scope`);
  }
}

/** Whether the principal may see data of this environment. */
export function reachesEnvironment(principal: Principal, environmentId: string): boolean {
  return principal.environmentIds.includes(environmentId);
}

/** The tenant scope of everything this principal's requests read and write (db/tenant-scope.ts). */
export const scopeOfPrincipal = (principal: Principal): TenantScope => tenantScope(principal.workspaceId, principal.environmentIds);
