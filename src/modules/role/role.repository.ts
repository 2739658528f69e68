import type { EntityManager, FilterQuery, RequiredEntityData } from '@mikro-orm/core';
import { paginate, type PageArgs, type Sort } from '../../db/pagination.js';
import { Repository } from '../../db/repository.js';
import { entityCondition, groupByParent, rowMapper } from '../../db/rows.js';
import { sql, tableOf } from '../../db/sql.js';
import { MembershipRole } from '../membership/membership.entity.js';
import { Permission, Role, RolePermission } from './role.entity.js';

/** Roles of the EntityManager's tenant scope, and the permissions they grant. */
/** SQL of a scalar subquery: the environment's roles with `keys`, as a JSON array of `{ id, key }`, within the scope. */
export function rolesWithKeysSql(em: EntityManager, environmentId: string, keys: readonly string[]): { sql: string; params: unknown[] } {
  const scope = entityCondition(em, Role, 'o');
  return {
    sql: `(select coalesce(json_agg(json_build_object('id', o."id", 'key', o."key")), '[]'::json) from "${tableOf(em, Role)}" o where o."environment_id" = ? and o."key" = any(?::text[])${scope.sql})`,
    params: [environmentId, [...keys], ...scope.params],
  };
}

export class RoleRepository extends Repository<Role> {
  constructor(em: EntityManager) {
    super(em, Role, 'role');
  }

  findByKey(environmentId: string, key: string): Promise<Role | null> {
    return this.em.findOne(Role, { environmentId, key });
  }

  /** The roles of an environment with these keys (id and key only). */
  withKeys(environmentId: string, keys: readonly string[]): Promise<Pick<Role, 'id' | 'key'>[]> {
    return this.em.find(Role, { environmentId, key: { $in: [...keys] } }, { fields: ['id', 'key'] });
  }

  list(query: { environmentId: string; builtIn?: boolean | null }, sort: Sort, args: PageArgs, maxPageSize: number) {
    const where: FilterQuery<Role> = { environmentId: query.environmentId };
    if (query.builtIn != null) where.builtIn = query.builtIn;
    return paginate(this.em, Role, where, sort, args, maxPageSize);
  }

  /** A new role granting these permissions, persisted with the unit of work. */
  override create(values: RequiredEntityData<Role>, permissionIds: readonly string[] = []): Role {
    const role = super.create(values);
    this.grant(role.id, permissionIds);
    return role;
  }

  /** Replaces the permissions a role grants. */
  async setPermissions(roleId: string, permissionIds: readonly string[]): Promise<void> {
    await this.em.nativeDelete(RolePermission, { roleId });
    this.grant(roleId, permissionIds);
  }

  private grant(roleId: string, permissionIds: readonly string[]): void {
    for (const permissionId of permissionIds) this.em.persist(this.em.create(RolePermission, { roleId, permissionId }));
  }

  /** Keys of the permissions a role grants, sorted. */
  async permissionKeysOf(roleId: string): Promise<string[]> {
    const links = await this.em.find(RolePermission, { roleId });
    if (!links.length) return [];
    const permissions = await this.em.find(Permission, { id: { $in: links.map((l) => l.permissionId) } }, { orderBy: { key: 'ASC' } });
    return permissions.map((p) => p.key);
  }

  /** Ids of the memberships that hold a role (named in its deletion event). */
  async membershipsHolding(roleId: string): Promise<string[]> {
    const grants = await this.em.find(MembershipRole, { roleId });
    return grants.map((grant) => grant.membershipId);
  }

  /** The roles of many memberships in one statement, ordered by key, as plain read-only rows. */
  rowsByMembership(membershipIds: readonly string[]): Promise<Role[][]> {
    return this.rowsViaLink(MembershipRole, 'membershipId', membershipIds);
  }

  /**
   * The roles of many memberships and the permissions of each of those roles, in one statement:
   * each role's permissions come once (on its first row) as JSON, as `rowsByRole` would read them.
   */
  async rowsByMembershipWithPermissions(membershipIds: readonly string[]): Promise<{ roles: Role[][]; permissions: Map<string, Permission[]> }> {
    const permissions = new Map<string, Permission[]>();
    if (!membershipIds.length) return { roles: [], permissions };
    const meta = this.em.getMetadata().get(MembershipRole.name);
    const holderColumn = meta.properties.membershipId.fieldNames[0];
    const roleColumn = meta.properties.roleId.fieldNames[0];
    const roleScope = entityCondition(this.em, Role, 'r');
    const permissionScope = entityCondition(this.em, Permission, 'p');
    const rows = await sql(
      this.em,
      `select r.*, l."${holderColumn}" as "_parent", case when row_number() over (partition by r."id") = 1 then` +
        ` (select coalesce(json_agg(p order by p."key"), '[]'::json) from "${tableOf(this.em, Permission)}" p` +
        ` join "${tableOf(this.em, RolePermission)}" rp on rp."permission_id" = p."id" where rp."role_id" = r."id"${permissionScope.sql})` +
        ` end as "_permissions"` +
        ` from "${tableOf(this.em, Role)}" r join "${meta.tableName}" l on l."${roleColumn}" = r."id"` +
        ` where l."${holderColumn}" = any(?::text[])${roleScope.sql} order by r."key"`,
      [...permissionScope.params, [...membershipIds], ...roleScope.params],
    );
    const toPermission = rowMapper(this.em, Permission);
    for (const row of rows) {
      if (row._permissions) permissions.set(String(row.id), (row._permissions as Record<string, unknown>[]).map(toPermission));
    }
    return { roles: groupByParent(membershipIds, rows, rowMapper(this.em, Role)), permissions };
  }

  /**
   * The roles of many holders in one statement, through a link entity with a `roleId` and the
   * holder's `holderProperty`, ordered by key, as plain read-only rows. Also for the links of
   * other modules (an OAuth client's roles).
   */
  async rowsViaLink<L extends { roleId: string }>(
    link: new (...args: never[]) => L,
    holderProperty: keyof L & string,
    holderIds: readonly string[],
  ): Promise<Role[][]> {
    if (!holderIds.length) return [];
    const meta = this.em.getMetadata().get(link.name);
    const holderColumn = meta.properties[holderProperty].fieldNames[0];
    const roleColumn = meta.properties.roleId.fieldNames[0];
    const scope = entityCondition(this.em, Role, 'r');
    const rows = await sql(
      this.em,
      `select r.*, l."${holderColumn}" as "_parent" from "${tableOf(this.em, Role)}" r join "${meta.tableName}" l on l."${roleColumn}" = r."id"` +
        ` where l."${holderColumn}" = any(?::text[])${scope.sql} order by r."key"`,
      [[...holderIds], ...scope.params],
    );
    return groupByParent(holderIds, rows, rowMapper(this.em, Role));
  }
}

/** Permissions of the EntityManager's tenant scope. */
export class PermissionRepository extends Repository<Permission> {
  constructor(em: EntityManager) {
    super(em, Permission, 'permission');
  }

  /** The permissions of an environment with these keys. */
  withKeys(environmentId: string, keys: readonly string[]): Promise<Permission[]> {
    return this.em.find(Permission, { environmentId, key: { $in: [...keys] } });
  }

  list(query: { environmentId: string; keyPrefix?: string | null }, sort: Sort, args: PageArgs, maxPageSize: number) {
    const where: FilterQuery<Permission> = { environmentId: query.environmentId };
    // Keys are lower-case ASCII, so a case-sensitive LIKE on the (environment, key) index serves the prefix.
    if (query.keyPrefix) where.key = { $like: `${query.keyPrefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%` };
    return paginate(this.em, Permission, where, sort, args, maxPageSize);
  }

  /** Ids of the roles that grant a permission (named in its deletion event). */
  async rolesGranting(permissionId: string): Promise<string[]> {
    const grants = await this.em.find(RolePermission, { permissionId });
    return grants.map((grant) => grant.roleId);
  }

  /** The permissions of many roles in one statement, ordered by key, as plain read-only rows. */
  async rowsByRole(roleIds: readonly string[]): Promise<Permission[][]> {
    if (!roleIds.length) return [];
    const scope = entityCondition(this.em, Permission, 'p');
    const rows = await sql(
      this.em,
      `select p.*, rp."role_id" as "_parent" from "${tableOf(this.em, Permission)}" p` +
        ` join "${tableOf(this.em, RolePermission)}" rp on rp."permission_id" = p."id"` +
        ` where rp."role_id" = any(?::text[])${scope.sql} order by p."key"`,
      [[...roleIds], ...scope.params],
    );
    return groupByParent(roleIds, rows, rowMapper(this.em, Permission));
  }
}
