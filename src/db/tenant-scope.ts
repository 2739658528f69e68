import type { EntityManager, EventSubscriber, FlushEventArgs, MikroORM } from '@mikro-orm/core';
import type { Options } from '@mikro-orm/core';

type FilterDef = NonNullable<Options['filters']>[string];

/**
 * Tenant scoping by construction. Every EntityManager that reads or writes tenant data carries a
 * scope, set once where the EntityManager is made:
 *
 * - `scopedFork(orm, scope)` for a caller (an API key reaches its workspace's environments, or one);
 * - `systemFork(orm, reason)` for system work that spans tenants (retention, housekeeping, the
 *   webhook worker, authentication before a caller is known). Grep `systemFork(` to find them all.
 *
 * The scope is the `tenant` filter's parameters, a default MikroORM filter on every tenant
 * entity: a find, count, update or delete through an EntityManager without a scope throws
 * ("No arguments provided for filter 'tenant'"), and with one only sees its tenants' rows.
 * Flushes are checked too (`TenantWriteGuard`): a new or changed row of an environment outside
 * the scope is refused before it reaches the database. Raw SQL in repositories reads the same
 * scope through `tenantScopeOf(em)`, which throws without one.
 */
export const TENANT_FILTER = 'tenant';

export interface TenantScope {
  readonly kind: 'tenant';
  readonly workspaceId: string;
  /** The environments this scope reaches. */
  readonly environmentIds: readonly string[];
}

export interface SystemScope {
  readonly kind: 'system';
  /** Why this work crosses tenants: shows in errors and in a grep. */
  readonly reason: string;
}

export type Scope = TenantScope | SystemScope;

export const tenantScope = (workspaceId: string, environmentIds: readonly string[]): TenantScope => ({ kind: 'tenant', workspaceId, environmentIds });

/** Which column of a row names its tenant, and whether it holds an environment or a workspace id. */
export interface TenantColumn {
  readonly column: string;
  readonly tenant: 'environment' | 'workspace';
}

const ofEnvironment: TenantColumn = { column: 'environmentId', tenant: 'environment' };
const ofWorkspace: TenantColumn = { column: 'workspaceId', tenant: 'workspace' };

/**
 * How each tenant entity names its tenant, for reads (the filter) and writes (the flush guard).
 * Every entity with an `environmentId` or `workspaceId` column must be listed
 * (test/persistence/tenant-scope.test.ts fails otherwise), so a new table of tenant data cannot
 * be forgotten. An environment is read by its id (reach) but written within its workspace (a
 * workspace key creates environments it does not reach yet).
 */
export const TENANT_COLUMNS: Readonly<Record<string, { read: TenantColumn; write: TenantColumn }>> = {
  Workspace: { read: { column: 'id', tenant: 'workspace' }, write: { column: 'id', tenant: 'workspace' } },
  Environment: { read: { column: 'id', tenant: 'environment' }, write: ofWorkspace },
  ApiKey: { read: ofWorkspace, write: ofWorkspace },
  AuditEvent: { read: ofWorkspace, write: ofWorkspace },
  ...Object.fromEntries(
    [
      'Organization',
      'OrganizationDomain',
      'User',
      'CustomAttributeDefinition',
      'Role',
      'Permission',
      'Membership',
      'WebhookEndpoint',
      'WebhookDelivery',
      'OAuthClient',
      'ClientSecret',
      'SigningKey',
      'ResourceServer',
      'TrustedIssuer',
      'RevokedToken',
      'OutboxMessage',
      'SignInChallenge',
      'SignInFlow',
      'PushedAuthorizationRequest',
      'UserSession',
      'AuthorizationCode',
      'RefreshToken',
      'Consent',
      'LogoutNotice',
      'SsoConnection',
      'SamlRequest',
      'OidcRequest',
      'SsoTrace',
      'SpKey',
      'SsoIdentityLink',
      'SocialConnection',
      'SocialIdentityLink',
      'Directory',
      'DirectoryUser',
      'DirectoryGroup',
      'DirectoryRequestError',
    ].map((name) => [name, { read: ofEnvironment, write: ofEnvironment }]),
  ),
};

function inScope(scope: TenantScope, tenant: TenantColumn['tenant'], value: unknown): boolean {
  return tenant === 'workspace' ? value === scope.workspaceId : scope.environmentIds.includes(String(value));
}

function condition(scope: Scope, entityName: string): Record<string, unknown> {
  if (scope.kind === 'system') return {};
  const read = TENANT_COLUMNS[entityName]?.read;
  if (!read) return {};
  return { [read.column]: read.tenant === 'workspace' ? scope.workspaceId : { $in: [...scope.environmentIds] } };
}

/** The filter, registered once for the whole ORM (database.ts). */
export const tenantFilter: FilterDef = {
  name: TENANT_FILTER,
  default: true,
  entity: Object.keys(TENANT_COLUMNS),
  // Declared with its parameter so MikroORM refuses to run it without one.
  cond: (scope: Scope, _type: unknown, _em: unknown, _options: unknown, entityName?: string) => condition(scope, entityName ?? ''),
};

function isScope(value: unknown): value is Scope {
  return typeof value === 'object' && value !== null && ((value as Scope).kind === 'tenant' || (value as Scope).kind === 'system');
}

/** The scope of an EntityManager; throws when it has none, so no unscoped query can run. */
export function scopeOf(em: EntityManager): Scope {
  const scope = em.getFilterParams(TENANT_FILTER) as unknown;
  if (!isScope(scope)) throw new Error('This EntityManager has no tenant scope: make it with scopedFork() or systemFork()');
  return scope;
}

/**
 * The environments raw SQL of a repository may touch, or null for system work (every
 * environment). Throws without a scope.
 */
export function environmentsOf(em: EntityManager): readonly string[] | null {
  const scope = scopeOf(em);
  return scope.kind === 'system' ? null : scope.environmentIds;
}

type Forkable = MikroORM | EntityManager;
const forkOf = (source: Forkable): EntityManager => ('em' in source ? source.em : source).fork();

/** An EntityManager that reads and writes only the scope's tenants. */
export function scopedFork(source: Forkable, scope: TenantScope): EntityManager {
  const em = forkOf(source);
  em.setFilterParams(TENANT_FILTER, scope);
  return em;
}

/** An EntityManager for system work across every tenant; `reason` says why. */
export function systemFork(source: Forkable, reason: string): EntityManager {
  const em = forkOf(source);
  em.setFilterParams(TENANT_FILTER, { kind: 'system', reason } satisfies SystemScope);
  return em;
}

/** Widens a tenant EntityManager to an environment it has just created (same workspace only). */
export function includeEnvironment(em: EntityManager, environmentId: string): void {
  const scope = scopeOf(em);
  if (scope.kind === 'tenant' && !scope.environmentIds.includes(environmentId)) {
    em.setFilterParams(TENANT_FILTER, tenantScope(scope.workspaceId, [...scope.environmentIds, environmentId]));
  }
}

export class TenantScopeViolation extends Error {}

/**
 * Refuses a flush that would write a tenant row outside the EntityManager's scope, or any tenant
 * row from an EntityManager without one. Filters only cover reads, updates and deletes by query;
 * this covers the unit of work.
 */
export class TenantWriteGuard implements EventSubscriber {
  onFlush({ em, uow }: FlushEventArgs): void {
    const changes = uow.getChangeSets();
    if (changes.length === 0) return;
    let scope: Scope | undefined;
    for (const change of changes) {
      const columns = TENANT_COLUMNS[change.meta.className];
      if (!columns) continue;
      scope ??= (() => {
        try {
          return scopeOf(em);
        } catch {
          throw new TenantScopeViolation(`Refused to write ${change.meta.className} without a tenant scope`);
        }
      })();
      if (scope.kind === 'system') return;
      const { column, tenant } = columns.write;
      const values = [(change.entity as Record<string, unknown>)[column], change.originalEntity?.[column]].filter((value) => value !== undefined);
      const tenantScope = scope;
      if (values.length === 0 || !values.every((value) => inScope(tenantScope, tenant, value))) {
        throw new TenantScopeViolation(`Refused to write ${change.meta.className} ${String(change.entity.id ?? '')} outside the caller's tenant scope`);
      }
    }
  }
}
