import type { EntityManager, RequiredEntityData } from '@mikro-orm/core';
import { countChildren, loadChildPages, type ChildPageArgs, type ChildPageOf } from '../../db/child-pages.js';
import { Repository } from '../../db/repository.js';
import { entityCondition } from '../../db/rows.js';
import { preparedSql, sql, tableOf } from '../../db/sql.js';
import { Permission, Role, RolePermission } from '../role/role.entity.js';
import { User } from '../user/user.entity.js';
import { Organization } from '../organization/organization.entity.js';
import { Membership, MembershipRole, MembershipStatus } from './membership.entity.js';

export type MembershipParent = 'organizationId' | 'userId';

/** What a membership grants, as tokens carry it: role and permission keys, each sorted by code point. */
export interface MembershipGrants {
  roles: string[];
  permissions: string[];
}

/** An SQL expression and the parameters of its `?` placeholders. */
export interface SqlFragment {
  sql: string;
  params: unknown[];
}

/** SQL of a condition: `user` (an expression, as for `activeGrantsSql`) is an active member of `organization`. */
export function isActiveMemberSql(em: EntityManager, user: SqlFragment, organization: SqlFragment): SqlFragment {
  const scope = entityCondition(em, Membership, 'm');
  return {
    sql:
      `exists (select 1 from "${tableOf(em, Membership)}" m where m."user_id" = ${user.sql} and m."organization_id" = ${organization.sql}` +
      ` and m."status" = '${MembershipStatus.ACTIVE}'${scope.sql})`,
    params: [...user.params, ...organization.params, ...scope.params],
  };
}

/**
 * SQL of a scalar subquery: what the active membership of `user` in `organization` (expressions:
 * columns of the outer statement, or `?` with a parameter) grants, as JSON `MembershipGrants`,
 * or null when there is no such membership; within the EntityManager's scope. The one
 * definition of the roles and permissions in people's tokens: the code grant reads it alone
 * (`activeGrants`), refresh rotation inside its single statement.
 */
export function activeGrantsSql(em: EntityManager, user: SqlFragment, organization: SqlFragment): SqlFragment {
  const membershipScope = entityCondition(em, Membership, 'm');
  const roleScope = entityCondition(em, Role, 'r');
  const permissionScope = entityCondition(em, Permission, 'p');
  const heldRoles = `from "${tableOf(em, MembershipRole)}" mr join "${tableOf(em, Role)}" r on r."id" = mr."role_id"`;
  // "C": code point order, as JavaScript sorts, whatever the database's collation.
  const roles = `coalesce((select json_agg(r."key" collate "C" order by r."key" collate "C") ${heldRoles} where mr."membership_id" = m."id"${roleScope.sql}), '[]'::json)`;
  const permissions =
    `coalesce((select json_agg(distinct p."key" collate "C" order by p."key" collate "C") ${heldRoles}` +
    ` join "${tableOf(em, RolePermission)}" rp on rp."role_id" = r."id" join "${tableOf(em, Permission)}" p on p."id" = rp."permission_id"` +
    ` where mr."membership_id" = m."id"${roleScope.sql}${permissionScope.sql}), '[]'::json)`;
  return {
    sql:
      `(select json_build_object('roles', ${roles}, 'permissions', ${permissions}) from "${tableOf(em, Membership)}" m` +
      ` where m."user_id" = ${user.sql} and m."organization_id" = ${organization.sql} and m."status" = '${MembershipStatus.ACTIVE}'${membershipScope.sql})`,
    params: [...roleScope.params, ...roleScope.params, ...permissionScope.params, ...user.params, ...organization.params, ...membershipScope.params],
  };
}

/**
 * SQL of a scalar subquery: the memberships of `organizationId` of the users `userIds` (an SQL
 * array expression of the outer statement), as a JSON array of rows, within the scope. Probed by
 * the unique (organization, user) index, user by user.
 */
export function membershipsOfUsersSql(em: EntityManager, organizationId: string, userIds: string): SqlFragment {
  const scope = entityCondition(em, Membership, 'm');
  return {
    sql: `(select coalesce(json_agg(m), '[]'::json) from "${tableOf(em, Membership)}" m where m."organization_id" = ?${scope.sql} and m."user_id" = any(${userIds}))`,
    params: [organizationId, ...scope.params],
  };
}

export class MembershipRepository extends Repository<Membership> {
  constructor(em: EntityManager) {
    super(em, Membership, 'membership');
  }

  /** A new membership with its roles, persisted with the unit of work. */
  override create(values: RequiredEntityData<Membership>, roleIds: readonly string[] = []): Membership {
    const membership = super.create(values);
    for (const roleId of roleIds) this.em.persist(this.em.create(MembershipRole, { membershipId: membership.id, roleId }));
    return membership;
  }

  /** Memberships of an organization (named in its deletion event). */
  ofOrganization(organizationId: string): Promise<Pick<Membership, 'id' | 'userId'>[]> {
    return this.em.find(Membership, { organizationId }, { fields: ['id', 'userId'] });
  }

  /** Memberships of a user (named in their deletion event). */
  ofUser(userId: string): Promise<Pick<Membership, 'id' | 'organizationId'>[]> {
    return this.em.find(Membership, { userId }, { fields: ['id', 'organizationId'] });
  }

  /** A user's active memberships with their organizations' names, by organization name (the chooser's order). */
  async activeOfUser(userId: string): Promise<{ membershipId: string; organizationId: string; organizationName: string }[]> {
    const membershipScope = entityCondition(this.em, Membership, 'm');
    const organizationScope = entityCondition(this.em, Organization, 'o');
    const rows = await preparedSql<{ id: string; organization_id: string; name: string }>(
      this.em,
      `select m."id", m."organization_id", o."name" from "${tableOf(this.em, Membership)}" m join "${tableOf(this.em, Organization)}" o on o."id" = m."organization_id"${organizationScope.sql}` +
        ` where m."user_id" = ? and m."status" = '${MembershipStatus.ACTIVE}'${membershipScope.sql}`,
      [...organizationScope.params, userId, ...membershipScope.params],
    );
    return rows
      .map((row) => ({ membershipId: row.id, organizationId: row.organization_id, organizationName: row.name }))
      .sort((a, b) => a.organizationName.localeCompare(b.organizationName) || a.organizationId.localeCompare(b.organizationId));
  }

  /** The membership of a user in an organization, whatever its status, or null. */
  ofUserIn(userId: string, organizationId: string): Promise<Membership | null> {
    return this.em.findOne(Membership, { userId, organizationId });
  }

  /** The active membership of a user in an organization, or null. */
  activeIn(userId: string, organizationId: string): Promise<Membership | null> {
    return this.em.findOne(Membership, { userId, organizationId, status: MembershipStatus.ACTIVE });
  }

  /** What the active membership of a user in an organization grants, in one statement; null without one. */
  async activeGrants(userId: string, organizationId: string): Promise<MembershipGrants | null> {
    const grants = activeGrantsSql(this.em, { sql: '?', params: [userId] }, { sql: '?', params: [organizationId] });
    const [row] = await sql<{ grants: MembershipGrants | null }>(this.em, `select ${grants.sql} as "grants"`, grants.params);
    return row?.grants ?? null;
  }

  /** Keys of the roles a membership grants, sorted. */
  async roleKeysOf(membershipId: string): Promise<string[]> {
    const links = await this.em.find(MembershipRole, { membershipId });
    if (!links.length) return [];
    const roles = await this.em.find(Role, { id: { $in: links.map((l) => l.roleId) } }, { orderBy: { key: 'ASC' } });
    return roles.map((role) => role.key);
  }

  async removeAllRoles(membershipId: string): Promise<void> {
    await this.em.nativeDelete(MembershipRole, { membershipId });
  }

  async removeRoles(membershipId: string, roleIds: readonly string[]): Promise<void> {
    await this.em.nativeDelete(MembershipRole, { membershipId, roleId: { $in: [...roleIds] } });
  }

  /** Sets the roles of many memberships at once (each to its list): two statements whatever their number. */
  async replaceRolesOfMany(roles: ReadonlyMap<string, readonly string[]>): Promise<void> {
    if (!roles.size) return;
    const table = tableOf(this.em, MembershipRole);
    await sql(this.em, `delete from "${table}" where "membership_id" = any(?::text[])`, [[...roles.keys()]]);
    const pairs = [...roles].flatMap(([membershipId, roleIds]) => [...new Set(roleIds)].map((roleId) => [membershipId, roleId] as const));
    if (!pairs.length) return;
    await sql(this.em, `insert into "${table}" ("membership_id", "role_id") select * from unnest(?::text[], ?::text[])`, [pairs.map((pair) => pair[0]), pairs.map((pair) => pair[1])]);
  }

  async addRoles(membershipId: string, roleIds: readonly string[]): Promise<void> {
    // Upsert so adding a role the membership already has is a no-op, not a conflict.
    for (const roleId of roleIds) await this.em.upsert(MembershipRole, { membershipId, roleId });
  }

  /** The first page of memberships of many organizations or users, in one statement, as plain rows (with their users' rows when asked). */
  pagesOf(
    parent: MembershipParent,
    parentIds: readonly string[],
    args: ChildPageArgs,
    maxPageSize: number,
    withUsers = false,
  ): Promise<Map<string, ChildPageOf<Membership>>> {
    return loadChildPages(this.em, Membership, parent, parentIds, args, maxPageSize, withUsers ? { property: 'userId', entity: User } : undefined);
  }

  /** Number of memberships of many organizations or users, in one statement. */
  countsOf(parent: MembershipParent, parentIds: readonly string[]): Promise<Map<string, number>> {
    return countChildren(this.em, Membership, parent, parentIds);
  }
}
