import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import { paginate, type PageArgs } from '../../db/pagination.js';
import { Repository } from '../../db/repository.js';
import { LockMode, QueryOrder } from '@mikro-orm/core';
import { preparedSql, sql, tableOf } from '../../db/sql.js';
import { embeddedRowWhere, entityCondition, insertRowSql, managedRow, rowMapper } from '../../db/rows.js';
import { Membership } from '../membership/membership.entity.js';
import { membershipsOfUsersSql } from '../membership/membership.repository.js';
import { DomainState, OrganizationDomain } from '../organization/organization.entity.js';
import { rolesWithKeysSql } from '../role/role.repository.js';
import { User } from '../user/user.entity.js';
import { scopeOf, TenantScopeViolation } from '../../db/tenant-scope.js';
import { Environment } from '../environment/environment.entity.js';
import { SsoConnection, SsoConnectionStatus, SsoConnectionType } from './connection.entity.js';
import { OidcRequest } from './oidc-request.entity.js';
import { SamlRequest, type SsoIdentity } from './saml-request.entity.js';
import { SsoIdentityLink } from './sso-identity.entity.js';
import { SsoTrace } from './sso-trace.entity.js';
import { SpKey } from './sp-key.entity.js';

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

  /**
   * The connection with its SP keys (newest first) and, for `pendingOf`, the number of the flow's
   * requests still pending at its `now`, and the verified domain names of its organization, in
   * one statement, as read-only rows (a sign-in reads them, never changes them); null when unknown.
   */
  async withSpKeys(id: string, pendingOf?: { flowId: string; now: Date }): Promise<{ connection: SsoConnection; spKeys: SpKey[]; pendingRequests: number; verifiedDomains: string[] } | null> {
    const scope = entityCondition(this.em, SsoConnection, 'c');
    const keyScope = entityCondition(this.em, SpKey, 'k');
    const requestScope = entityCondition(this.em, SamlRequest, 'r');
    const domains = verifiedDomainsSql(this.em, 'c."id"');
    // Not prepared: a plan kept from when saml_request was small could scan the whole table
    // where the statement's own plan uses the flow_id index.
    const rows = await sql<Record<string, unknown>>(
      this.em,
      `select c.*, coalesce((select json_agg(k order by k."created_at" desc, k."id" desc) from "${tableOf(this.em, SpKey)}" k where k."connection_id" = c."id"${keyScope.sql}), '[]'::json) as "_sp_keys",` +
        ` (select count(*) from "${tableOf(this.em, SamlRequest)}" r where r."flow_id" = ? and r."expires_at" > ?${requestScope.sql})::int as "_pending",` +
        ` ${domains.sql} as "_domains"` +
        ` from "${tableOf(this.em, SsoConnection)}" c where c."id" = ?${scope.sql}`,
      [...keyScope.params, pendingOf?.flowId ?? null, pendingOf?.now ?? new Date(), ...requestScope.params, ...domains.params, id, ...scope.params],
    );
    const [row] = rows;
    if (!row) return null;
    const { _sp_keys, _pending, _domains, ...connection } = row;
    return {
      connection: rowMapper(this.em, SsoConnection)(connection),
      spKeys: (_sp_keys as Record<string, unknown>[]).map(rowMapper(this.em, SpKey)),
      pendingRequests: Number(_pending ?? 0),
      verifiedDomains: (_domains as string[] | null) ?? [],
    };
  }

  /**
   * The first ACTIVE connection (as `activeOf`) of the organization that verified `domain` in
   * the environment, in one statement, as a read-only row (home-realm discovery only reads it);
   * null when none.
   */
  async activeOfVerifiedDomain(environmentId: string, domain: string): Promise<SsoConnection | null> {
    const scope = entityCondition(this.em, SsoConnection, 'c');
    const domainScope = entityCondition(this.em, OrganizationDomain, 'd');
    const [row] = await preparedSql<Record<string, unknown>>(
      this.em,
      `select c.* from "${tableOf(this.em, SsoConnection)}" c where c."organization_id" = (select d."organization_id" from "${tableOf(this.em, OrganizationDomain)}" d` +
        ` where d."environment_id" = ? and d."domain" = ? and d."state" = '${DomainState.VERIFIED}'${domainScope.sql} limit 1)` +
        ` and c."type" in ('${SsoConnectionType.SAML}', '${SsoConnectionType.SIMULATOR}', '${SsoConnectionType.OIDC}') and c."status" = '${SsoConnectionStatus.ACTIVE}'${scope.sql}` +
        ` order by c."created_at" asc, c."id" asc limit 1`,
      [environmentId, domain, ...domainScope.params, ...scope.params],
    );
    return row ? rowMapper(this.em, SsoConnection)(row) : null;
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

  /**
   * The request, locked for the browser's return (as `lockById`), with what the return checks, in
   * one statement: its connection (a read-only row), the verified domain names of the
   * connection's organization, and its trace (the request and trace managed by the
   * EntityManager, to be changed). Null when the request is unknown.
   */
  lockForReturn(id: string): Promise<LockedSamlRequest | null> {
    return this.lockWith('id', id);
  }

  /** The request an answer names (InResponseTo), locked as `lockByRequestId`, with the same as `lockForReturn`. */
  lockForAnswer(requestId: string): Promise<LockedSamlRequest | null> {
    return this.lockWith('request_id', requestId);
  }

  private async lockWith(column: 'id' | 'request_id', value: string): Promise<LockedSamlRequest | null> {
    const scope = entityCondition(this.em, SamlRequest, 'r');
    const connection = embeddedRowWhere(this.em, SsoConnection, 'c', { sql: 'c."id" = r."connection_id"', params: [] });
    const trace = embeddedRowWhere(this.em, SsoTrace, 't', { sql: 't."id" = r."trace_id"', params: [] });
    const domains = verifiedDomainsSql(this.em, 'r."connection_id"');
    const rows = await preparedSql<Record<string, unknown>>(
      this.em,
      `select r.*, ${connection.sql} as "_connection", ${trace.sql} as "_trace", ${domains.sql} as "_domains"` +
        ` from "${tableOf(this.em, SamlRequest)}" r where r."${column}" = ?${scope.sql} for update`,
      [...connection.params, ...trace.params, ...domains.params, value, ...scope.params],
    );
    const [row] = rows;
    if (!row) return null;
    const { _connection, _trace, _domains, ...request } = row;
    return {
      request: managedRow(this.em, SamlRequest, request, true)!,
      connection: _connection ? rowMapper(this.em, SsoConnection)(_connection as Record<string, unknown>) : null,
      verifiedDomains: (_domains as string[] | null) ?? [],
      trace: managedRow(this.em, SsoTrace, _trace as Record<string, unknown> | null),
    };
  }

  /**
   * A new request and its new trace (both made with `persist: false`), written in one statement
   * outside any transaction: both rows or neither.
   */
  async insertWithTrace(request: SamlRequest, trace: SsoTrace): Promise<void> {
    const traceInsert = insertRowSql(this.em, trace);
    const requestInsert = insertRowSql(this.em, request);
    await sql(this.em, `with "trace" as (${traceInsert.sql}) ${requestInsert.sql}`, [...traceInsert.params, ...requestInsert.params]);
  }

  /**
   * The common case of answering a request, in one statement without a transaction: the request
   * of `connectionId` that `requestId` names (InResponseTo), unanswered and unexpired at `now`,
   * with its trace, is answered with `identity` and `answerTokenHash`; its trace gets the
   * response, the profile, the HTTP request id and `steps` (up to `maxSteps` in all). The
   * request's id and flow come back; null when anything is amiss, with nothing changed: the
   * caller then answers in a transaction under the request's lock, which finds out why. A
   * concurrent answer of the same request waits for this one's row lock and then finds it answered.
   */
  async answerWithTrace(answer: {
    requestId: string;
    connectionId: string;
    now: Date;
    identity: SsoIdentity;
    answerTokenHash: string;
    trace: { requestId: string; samlResponse: string | null; profile: Record<string, unknown>; steps: object[]; maxSteps: number };
  }): Promise<{ id: string; flowId: string } | null> {
    const requests = tableOf(this.em, SamlRequest);
    const traces = tableOf(this.em, SsoTrace);
    const requestScope = entityCondition(this.em, SamlRequest, 'r');
    const traceScope = entityCondition(this.em, SsoTrace, 't');
    const { now, trace } = answer;
    const rows = await preparedSql<{ id: string; flow_id: string }>(
      this.em,
      `with "answered" as (update "${requests}" r set "answered_at" = ?, "identity" = ?::jsonb, "answer_token_hash" = ?, "updated_at" = ?` +
        ` where r."request_id" = ? and r."connection_id" = ? and r."answered_at" is null and r."expires_at" > ?${requestScope.sql}` +
        ` and exists (select 1 from "${traces}" t where t."id" = r."trace_id"${traceScope.sql})` +
        ` returning r."id", r."flow_id", r."trace_id"),` +
        ` "traced" as (update "${traces}" t set "saml_response" = ?, "profile" = ?::jsonb, "updated_at" = ?,` +
        ` "request_ids" = case when ?::text = any(t."request_ids") then t."request_ids" else array_append(t."request_ids", ?::text) end,` +
        ` "steps" = t."steps" || coalesce((select jsonb_agg(x.e order by x.n) from jsonb_array_elements(?::jsonb) with ordinality x(e, n)` +
        ` where x.n <= ? - jsonb_array_length(t."steps")), '[]'::jsonb)` +
        ` where t."id" = (select a."trace_id" from "answered" a)${traceScope.sql} returning t."id")` +
        ` select a."id", a."flow_id" from "answered" a where exists (select 1 from "traced")`,
      [
        now,
        JSON.stringify(answer.identity),
        answer.answerTokenHash,
        now,
        answer.requestId,
        answer.connectionId,
        now,
        ...requestScope.params,
        ...traceScope.params,
        trace.samlResponse,
        JSON.stringify(trace.profile),
        now,
        trace.requestId,
        trace.requestId,
        JSON.stringify(trace.steps),
        trace.maxSteps,
        ...traceScope.params,
      ],
    );
    const [row] = rows;
    return row ? { id: row.id, flowId: row.flow_id } : null;
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

  /** The links of these users, most recently used first. */
  ofUsers(userIds: readonly string[]): Promise<SsoIdentityLink[]> {
    return this.em.find(SsoIdentityLink, { userId: { $in: [...userIds] } }, { orderBy: { lastSignedInAt: QueryOrder.DESC_NULLS_LAST, id: QueryOrder.ASC } });
  }

  /**
   * Who a connection's NameID may be, in one statement (all managed by the EntityManager): its
   * link and the linked user, the environment's user with `email`, the memberships of those
   * users in `organizationId`, and the environment's roles with `roleKeys`.
   */
  async personOf(query: { environmentId: string; connectionId: string; subject: string; email: string; organizationId: string; roleKeys: readonly string[] }): Promise<{
    link: SsoIdentityLink | null;
    linkedUser: User | null;
    emailUser: User | null;
    memberships: Membership[];
    roles: { id: string; key: string }[];
  }> {
    const linkScope = entityCondition(this.em, SsoIdentityLink, 'l');
    const userScope = entityCondition(this.em, User, 'u');
    const linked = embeddedRowWhere(this.em, User, 'lu', { sql: 'lu."id" = (select l."user_id" from "link" l)', params: [] });
    const memberships = membershipsOfUsersSql(this.em, query.organizationId, `array[(select l."user_id" from "link" l), (select u."id" from "by_email" u)]`);
    const roles = rolesWithKeysSql(this.em, query.environmentId, query.roleKeys);
    // Each lookup is its own init plan, run once: memberships are probed by the unique
    // (organization, user) index for at most two users. A semi-join of the organization's
    // memberships against the user lookups was O(memberships × users) under a generic plan.
    const rows = await preparedSql<Record<string, unknown>>(
      this.em,
      `with "link" as materialized (select l.* from "${tableOf(this.em, SsoIdentityLink)}" l where l."connection_id" = ? and l."subject" = ?${linkScope.sql} limit 1),` +
        ` "by_email" as materialized (select u.* from "${tableOf(this.em, User)}" u where u."environment_id" = ? and u."email" = ?${userScope.sql} limit 1)` +
        ` select (select row_to_json(l) from "link" l) as "_link", ${linked.sql} as "_linked", (select row_to_json(u) from "by_email" u) as "_email",` +
        ` ${memberships.sql} as "_memberships", ${roles.sql} as "_roles"`,
      [
        query.connectionId,
        query.subject,
        ...linkScope.params,
        query.environmentId,
        query.email,
        ...userScope.params,
        ...linked.params,
        ...memberships.params,
        ...roles.params,
      ],
    );
    const row = rows[0] ?? {};
    return {
      link: managedRow(this.em, SsoIdentityLink, row._link as Record<string, unknown> | null),
      linkedUser: managedRow(this.em, User, row._linked as Record<string, unknown> | null),
      emailUser: managedRow(this.em, User, row._email as Record<string, unknown> | null),
      memberships: ((row._memberships as Record<string, unknown>[] | null) ?? []).map((membership) => managedRow(this.em, Membership, membership)!),
      roles: (row._roles as { id: string; key: string }[] | null) ?? [],
    };
  }

  of(connectionId: string, subject: string): Promise<SsoIdentityLink | null> {
    return this.em.findOne(SsoIdentityLink, { connectionId, subject });
  }

  deleteOfConnection(connectionId: string): Promise<number> {
    return this.em.nativeDelete(SsoIdentityLink, { connectionId });
  }
}

/** SQL of an array of the verified domain names of the organization of the connection `connectionId` (an SQL expression). */
function verifiedDomainsSql(em: EntityManager, connectionId: string): { sql: string; params: unknown[] } {
  const domainScope = entityCondition(em, OrganizationDomain, 'd');
  const connectionScope = entityCondition(em, SsoConnection, 'dc');
  return {
    sql:
      `array(select d."domain" from "${tableOf(em, OrganizationDomain)}" d join "${tableOf(em, SsoConnection)}" dc on dc."organization_id" = d."organization_id"` +
      ` where dc."id" = ${connectionId} and d."state" = '${DomainState.VERIFIED}'${domainScope.sql}${connectionScope.sql})`,
    params: [...domainScope.params, ...connectionScope.params],
  };
}

/** A SAML request locked for its answer or the browser's return, with what those check. */
export interface LockedSamlRequest {
  request: SamlRequest;
  connection: SsoConnection | null;
  /** The verified domain names of the connection's organization. */
  verifiedDomains: string[];
  trace: SsoTrace | null;
}
