import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import { paginate, type PageArgs } from '../../db/pagination.js';
import { Repository } from '../../db/repository.js';
import { entityCondition, groupByParent, rowMapper } from '../../db/rows.js';
import { sql, tableOf } from '../../db/sql.js';
import { environmentsOf } from '../../db/tenant-scope.js';
import { Permission, Role, RolePermission } from '../role/role.entity.js';
import { ApplicationType, ClientSecret, OAuthClient, OAuthClientRole } from './oauth-client.entity.js';

/**
 * OAuth clients (service accounts and applications) of the scope's environments, with their
 * role links. `resource` is the name NOT_FOUND errors use: `service_account`, `application`, or
 * `oauth_client` when the kind is not known.
 */
export class OAuthClientRepository extends Repository<OAuthClient> {
  constructor(em: EntityManager, resource = 'oauth_client') {
    super(em, OAuthClient, resource);
  }

  page(where: FilterQuery<OAuthClient>, args: PageArgs, maxPageSize: number) {
    return paginate(this.em, OAuthClient, where, { field: 'createdAt', direction: 'ASC' }, args, maxPageSize);
  }

  /** A dynamically registered client (RFC 7591) of the environment, or null. */
  /** The client whose `client_id` is a metadata document's URL. */
  findByMetadataDocument(environmentId: string, url: string): Promise<OAuthClient | null> {
    return this.em.findOne(OAuthClient, { environmentId, metadataDocumentUrl: url });
  }

  /** Whether an enabled client of the environment lets JavaScript of `origin` call its endpoints (CORS preflight). */
  async anyAllowsOrigin(environmentId: string, origin: string): Promise<boolean> {
    return (await this.em.count(OAuthClient, { environmentId, enabled: true, allowedWebOrigins: { $contains: [origin] } })) > 0;
  }

  findDynamic(environmentId: string, id: string): Promise<OAuthClient | null> {
    return this.em.findOne(OAuthClient, { id, environmentId, applicationType: ApplicationType.DYNAMIC });
  }

  /**
   * Removes an audience from every client of the environment that allows it, in the caller's
   * transaction; returns the clients changed.
   */
  removeAudience(environmentId: string, identifier: string): Promise<{ id: string; kind: string; name: string }[]> {
    return sql(
      this.em,
      `update "${tableOf(this.em, OAuthClient)}" set "allowed_audiences" = array_remove("allowed_audiences", ?), "updated_at" = ?` +
        ` where "environment_id" = ? and ? = any("allowed_audiences") and "environment_id" = any(?::text[]) returning "id", "kind", "name"`,
      [identifier, new Date(), environmentId, identifier, this.scopeEnvironments(environmentId)],
    );
  }

  /** Keys of the client's roles, sorted. */
  async roleKeysOf(clientId: string): Promise<string[]> {
    const links = await this.em.find(OAuthClientRole, { clientId });
    if (!links.length) return [];
    const roles = await this.em.find(Role, { id: { $in: links.map((link) => link.roleId) } }, { fields: ['key'], orderBy: { key: 'ASC' } });
    return roles.map((role) => role.key);
  }

  /** Links the client to the roles, replacing its current links when `replace`. */
  async linkRoles(clientId: string, roleIds: readonly string[], replace: boolean): Promise<void> {
    if (replace) await this.em.nativeDelete(OAuthClientRole, { clientId });
    for (const roleId of roleIds) this.em.persist(this.em.create(OAuthClientRole, { clientId, roleId }));
  }

  /** The permission keys the client's roles grant: scopes it may request besides its own list. */
  async permissionKeysOf(clientId: string): Promise<string[]> {
    const environments = environmentsOf(this.em);
    const rows = await sql<{ key: string }>(
      this.em,
      `select distinct p."key" from "${tableOf(this.em, OAuthClientRole)}" ocr
         join "${tableOf(this.em, RolePermission)}" rp on rp."role_id" = ocr."role_id"
         join "${tableOf(this.em, Permission)}" p on p."id" = rp."permission_id"
        where ocr."client_id" = ?${environments ? ` and p."environment_id" = any(?::text[])` : ''}`,
      environments ? [clientId, [...environments]] : [clientId],
    );
    return rows.map((row) => row.key);
  }

  /** The environments a raw statement may touch: the scope's, or just `environmentId` for system work. */
  private scopeEnvironments(environmentId: string): string[] {
    return [...(environmentsOf(this.em) ?? [environmentId])];
  }
}

/** Client secrets of the scope's environments (only their SHA-256 is kept). */
export class ClientSecretRepository extends Repository<ClientSecret> {
  constructor(em: EntityManager) {
    super(em, ClientSecret, 'client_secret');
  }

  /** The client's unrevoked secrets (expired ones included). */
  unrevokedOf(clientId: string): Promise<ClientSecret[]> {
    return this.em.find(ClientSecret, { clientId, revokedAt: null });
  }

  /** Stamps `lastUsedAt`, outside any transaction: a usage hint, not a change anyone audits. */
  async stampLastUsed(id: string, at: Date): Promise<void> {
    const environments = environmentsOf(this.em);
    await sql(
      this.em,
      `update "${tableOf(this.em, ClientSecret)}" set "last_used_at" = ? where "id" = ?${environments ? ` and "environment_id" = any(?::text[])` : ''}`,
      environments ? [at, id, [...environments]] : [at, id],
    );
  }
}

/** The secrets of many clients in one statement, oldest first, as plain read-only rows (the GraphQL loaders). */
export async function secretRowsOfClients(em: EntityManager, clientIds: readonly string[]): Promise<ClientSecret[][]> {
  if (!clientIds.length) return [];
  const scope = entityCondition(em, ClientSecret, 's');
  const rows = await sql(
    em,
    `select s.*, s."client_id" as "_parent" from "${tableOf(em, ClientSecret)}" s` +
      ` where s."client_id" = any(?::text[])${scope.sql} order by s."created_at", s."id"`,
    [[...clientIds], ...scope.params],
  );
  return groupByParent(clientIds, rows, rowMapper(em, ClientSecret));
}
