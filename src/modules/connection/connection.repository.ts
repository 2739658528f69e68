import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import { paginate, type PageArgs } from '../../db/pagination.js';
import { Repository } from '../../db/repository.js';
import { LockMode } from '@mikro-orm/core';
import { sql, tableOf } from '../../db/sql.js';
import { scopeOf, TenantScopeViolation } from '../../db/tenant-scope.js';
import { Environment } from '../environment/environment.entity.js';
import { SsoConnection, SsoConnectionStatus, SsoConnectionType } from './connection.entity.js';
import { OidcRequest } from './oidc-request.entity.js';
import { SamlRequest } from './saml-request.entity.js';
import { SsoIdentityLink } from './sso-identity.entity.js';
import { SsoTrace } from './sso-trace.entity.js';

/** SSO connections of the scope's environments. */
export class SsoConnectionRepository extends Repository<SsoConnection> {
  constructor(em: EntityManager) {
    super(em, SsoConnection, 'sso_connection');
  }

  page(where: FilterQuery<SsoConnection>, args: PageArgs, maxPageSize: number) {
    return paginate(this.em, SsoConnection, where, { field: 'createdAt', direction: 'ASC' }, args, maxPageSize);
  }

  /**
   * SAML (and SIMULATOR) connections (of every environment: a system job) with a certificate
   * that expires before `before`, with their workspace.
   */
  async withCertificatesExpiringBefore(before: Date): Promise<{ connectionId: string; workspaceId: string }[]> {
    if (scopeOf(this.em).kind !== 'system') throw new TenantScopeViolation('certificate expiry spans tenants: use a systemFork');
    const rows = await sql<{ id: string; workspace_id: string }>(
      this.em,
      `select c."id", e."workspace_id" from "${tableOf(this.em, SsoConnection)}" c join "${tableOf(this.em, Environment)}" e on e."id" = c."environment_id"` +
        ` where c."type" in ('SAML', 'SIMULATOR') and exists (select 1 from jsonb_array_elements(c."idp_certificates") x where (x->>'notAfter')::timestamptz < ?) order by c."id"`,
      [before],
    );
    return rows.map((row) => ({ connectionId: row.id, workspaceId: row.workspace_id }));
  }

  /** SAML connections (of every environment: a system job) whose metadata URL was last read before `before`, oldest first. */
  async withMetadataDueBefore(before: Date, limit: number): Promise<{ connectionId: string; workspaceId: string; url: string }[]> {
    if (scopeOf(this.em).kind !== 'system') throw new TenantScopeViolation('metadata refresh spans tenants: use a systemFork');
    const rows = await sql<{ id: string; workspace_id: string; idp_metadata_url: string }>(
      this.em,
      `select c."id", e."workspace_id", c."idp_metadata_url" from "${tableOf(this.em, SsoConnection)}" c join "${tableOf(this.em, Environment)}" e on e."id" = c."environment_id"` +
        ` where c."type" = 'SAML' and c."idp_metadata_url" is not null and (c."idp_metadata_fetched_at" is null or c."idp_metadata_fetched_at" < ?) order by c."idp_metadata_fetched_at" nulls first, c."id" limit ?`,
      [before, limit],
    );
    return rows.map((row) => ({ connectionId: row.id, workspaceId: row.workspace_id, url: row.idp_metadata_url }));
  }

  /** The organization's first ACTIVE connection (SAML, SIMULATOR or OIDC), or null. */
  activeOf(organizationId: string): Promise<SsoConnection | null> {
    return this.em.findOne(
      SsoConnection,
      { organizationId, type: { $in: [SsoConnectionType.SAML, SsoConnectionType.SIMULATOR, SsoConnectionType.OIDC] }, status: SsoConnectionStatus.ACTIVE },
      { orderBy: { createdAt: 'asc', id: 'asc' } },
    );
  }

  /** The environment's first SIMULATOR connection (any status), or null. */
  simulatorOf(environmentId: string): Promise<SsoConnection | null> {
    return this.em.findOne(SsoConnection, { environmentId, type: SsoConnectionType.SIMULATOR }, { orderBy: { createdAt: 'asc', id: 'asc' } });
  }
}

/** SAML requests sent, awaiting or holding the IdP's answer. */
export class SamlRequestRepository extends Repository<SamlRequest> {
  constructor(em: EntityManager) {
    super(em, SamlRequest, 'saml_request');
  }

  /** The request, locked so that the browser's return uses its answer once; null when unknown. */
  lockById(id: string): Promise<SamlRequest | null> {
    return this.em.findOne(SamlRequest, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
  }

  /** The request an answer names (InResponseTo), locked so that it is answered once. */
  lockByRequestId(requestId: string): Promise<SamlRequest | null> {
    return this.em.findOne(SamlRequest, { requestId }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
  }

  /** Requests of a flow still pending at `now`. */
  pendingOfFlow(flowId: string, now: Date): Promise<number> {
    return this.em.count(SamlRequest, { flowId, expiresAt: { $gt: now } });
  }

  async deleteExpired(before: Date): Promise<number> {
    return this.em.nativeDelete(SamlRequest, { expiresAt: { $lt: before } });
  }
}

/** Authorization requests sent to OpenID Providers, awaiting the callback. */
export class OidcRequestRepository extends Repository<OidcRequest> {
  constructor(em: EntityManager) {
    super(em, OidcRequest, 'oidc_request');
  }

  byStateHash(stateHash: string): Promise<OidcRequest | null> {
    return this.em.findOne(OidcRequest, { stateHash });
  }

  /** The request, locked so that the callback uses it once. */
  lockByStateHash(stateHash: string): Promise<OidcRequest | null> {
    return this.em.findOne(OidcRequest, { stateHash }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
  }

  pendingOfFlow(flowId: string, now: Date): Promise<number> {
    return this.em.count(OidcRequest, { flowId, expiresAt: { $gt: now } });
  }

  deleteExpired(before: Date): Promise<number> {
    return this.em.nativeDelete(OidcRequest, { expiresAt: { $lt: before } });
  }
}

/** Sign-in traces of connections. */
export class SsoTraceRepository extends Repository<SsoTrace> {
  constructor(em: EntityManager) {
    super(em, SsoTrace, 'sso_trace');
  }

  /** Newest first. */
  page(where: FilterQuery<SsoTrace>, args: PageArgs, maxPageSize: number) {
    return paginate(this.em, SsoTrace, where, { field: 'createdAt', direction: 'DESC' }, args, maxPageSize);
  }

  /** Traces past their retention (a system job). */
  deleteExpired(before: Date): Promise<number> {
    return this.em.nativeDelete(SsoTrace, { expiresAt: { $lt: before } });
  }
}

/** Links of SSO connections' NameIDs to users. */
export class SsoIdentityLinkRepository extends Repository<SsoIdentityLink> {
  constructor(em: EntityManager) {
    super(em, SsoIdentityLink, 'sso_identity');
  }

  of(connectionId: string, subject: string): Promise<SsoIdentityLink | null> {
    return this.em.findOne(SsoIdentityLink, { connectionId, subject });
  }

  deleteOfConnection(connectionId: string): Promise<number> {
    return this.em.nativeDelete(SsoIdentityLink, { connectionId });
  }
}
