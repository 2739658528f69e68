import { LockMode, raw, type EntityManager, type FilterQuery } from '@mikro-orm/core';
import { paginate, type PageArgs } from '../../db/pagination.js';
import { Repository } from '../../db/repository.js';
import { entityCondition, type SqlPart } from '../../db/rows.js';
import { sql, tableOf } from '../../db/sql.js';
import { DirectoryGroup, DirectoryGroupMember } from './directory-group.entity.js';
import { Membership, MembershipRole, MembershipStatus } from '../membership/membership.entity.js';
import { Role } from '../role/role.entity.js';
import { DirectoryUser } from './directory-user.entity.js';
import { pageOfDirectory, type ScimPage } from './directory-pages.repository.js';
import type { FilterTarget } from './scim/scim-filter.js';
import { GROUP_SCHEMAS } from './scim/scim-schema.js';

/** Where a SCIM filter over Groups finds each attribute: columns, and the member rows for `members[value eq "…"]`. */
export const GROUP_FILTER_TARGET: FilterTarget = {
  schemas: GROUP_SCHEMAS,
  // A Group keeps no attributes beyond its columns and members.
  resource: `'{}'::jsonb`,
  columns: {
    id: { sql: 'g."id"', kind: 'text' },
    externalId: { sql: 'g."external_id"', kind: 'text' },
    displayName: { sql: 'g."display_name"', kind: 'text' },
    'meta.created': { sql: 'g."created_at"', kind: 'timestamptz' },
    'meta.lastModified': { sql: 'g."updated_at"', kind: 'timestamptz' },
  },
  related: {
    members: {
      rows: (alias) => `from "directory_group_member" ${alias} where ${alias}."group_id" = g."id"`,
      columns: (alias) => ({ value: { sql: `${alias}."user_id"`, kind: 'text' } }),
    },
  },
};

/** A provisioned person whose roles the group mappings drive: their active membership, groups and roles now. */
export interface RoleSubject {
  directoryUserId: string;
  userId: string;
  membershipId: string;
  /** Display names of the directory's groups they are in. */
  groups: string[];
  /** Keys of the roles their membership holds. */
  roleKeys: string[];
}

/** A member as a Group shows it. */
export interface GroupMemberRow {
  id: string;
  display: string;
}

/** A group a User belongs to, as the User's `groups` shows it. */
export interface UserGroupRow {
  id: string;
  displayName: string;
}

/**
 * The Groups of a directory and their members. Member rows are written one by one (insert or
 * delete of the rows named), never by rewriting a group's list; every member write takes the
 * group entity read (and locked) within the caller's tenant scope.
 */
export class DirectoryGroupRepository extends Repository<DirectoryGroup> {
  constructor(em: EntityManager) {
    super(em, DirectoryGroup, 'directory_group');
  }

  ofDirectory(directoryId: string, id: string): Promise<DirectoryGroup | null> {
    return this.em.findOne(DirectoryGroup, { id, directoryId });
  }

  /** The directory's Group, locked until the transaction ends: changes of one group, members included, run one after the other. */
  lockedOfDirectory(directoryId: string, id: string): Promise<DirectoryGroup | null> {
    return this.em.findOne(DirectoryGroup, { id, directoryId }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
  }

  page(query: { directoryId: string; filter: SqlPart | null; order: string | null; offset: number; limit: number }): Promise<ScimPage<DirectoryGroup>> {
    return pageOfDirectory(this.em, DirectoryGroup, 'g', query);
  }

  /** The members of each group, oldest first, with the name to display; null when there are more than `limit` in all. */
  async membersOf(groupIds: readonly string[], limit: number): Promise<Map<string, GroupMemberRow[]> | null> {
    const out = new Map<string, GroupMemberRow[]>(groupIds.map((id) => [id, []]));
    if (!groupIds.length) return out;
    const scope = entityCondition(this.em, DirectoryUser, 'u');
    const rows = await sql<{ group_id: string; id: string; display: string }>(
      this.em,
      `select m."group_id", u."id", coalesce(u."display_name", u."user_name") as "display" from "${tableOf(this.em, DirectoryGroupMember)}" m` +
        ` join "${tableOf(this.em, DirectoryUser)}" u on u."id" = m."user_id"${scope.sql} where m."group_id" = any(?::text[]) order by m."created_at", m."user_id" limit ?`,
      [...scope.params, [...groupIds], limit + 1],
    );
    if (rows.length > limit) return null;
    for (const row of rows) out.get(row.group_id)!.push({ id: row.id, display: row.display });
    return out;
  }

  /** The groups of each User, by name. */
  async groupsOf(userIds: readonly string[]): Promise<Map<string, UserGroupRow[]>> {
    const out = new Map<string, UserGroupRow[]>(userIds.map((id) => [id, []]));
    if (!userIds.length) return out;
    const scope = entityCondition(this.em, DirectoryGroup, 'g');
    const rows = await sql<{ user_id: string; id: string; display_name: string }>(
      this.em,
      `select m."user_id", g."id", g."display_name" from "${tableOf(this.em, DirectoryGroupMember)}" m join "${tableOf(this.em, DirectoryGroup)}" g on g."id" = m."group_id"${scope.sql}` +
        ` where m."user_id" = any(?::text[]) order by g."display_name", g."id"`,
      [...scope.params, [...userIds]],
    );
    for (const row of rows) out.get(row.user_id)!.push({ id: row.id, displayName: row.display_name });
    return out;
  }

  /** Adds the Users as members (those already members stay as they are); the ids actually added. */
  async addMembers(group: DirectoryGroup, userIds: readonly string[]): Promise<string[]> {
    if (!userIds.length) return [];
    const rows = await sql<{ user_id: string }>(
      this.em,
      `insert into "${tableOf(this.em, DirectoryGroupMember)}" ("group_id", "user_id", "created_at") select ?, unnest(?::text[]), now() on conflict do nothing returning "user_id"`,
      [group.id, [...new Set(userIds)]],
    );
    return rows.map((row) => row.user_id);
  }

  /** Removes the Users from the members (those not members are ignored); the ids actually removed. */
  async removeMembers(group: DirectoryGroup, userIds: readonly string[]): Promise<string[]> {
    if (!userIds.length) return [];
    const rows = await sql<{ user_id: string }>(
      this.em,
      `delete from "${tableOf(this.em, DirectoryGroupMember)}" where "group_id" = ? and "user_id" = any(?::text[]) returning "user_id"`,
      [group.id, [...new Set(userIds)]],
    );
    return rows.map((row) => row.user_id);
  }

  /** Removes every member but `keep`; the ids removed. */
  async removeMembersExcept(group: DirectoryGroup, keep: readonly string[]): Promise<string[]> {
    const rows = await sql<{ user_id: string }>(
      this.em,
      `delete from "${tableOf(this.em, DirectoryGroupMember)}" where "group_id" = ? and not ("user_id" = any(?::text[])) returning "user_id"`,
      [group.id, [...keep]],
    );
    return rows.map((row) => row.user_id);
  }

  /** The ids of the group's members. */
  async memberIds(group: DirectoryGroup): Promise<string[]> {
    const rows = await sql<{ user_id: string }>(this.em, `select "user_id" from "${tableOf(this.em, DirectoryGroupMember)}" where "group_id" = ?`, [group.id]);
    return rows.map((row) => row.user_id);
  }

  /**
   * Takes a new version of the groups a User of the directory is a member of (it is about to
   * leave them), locking them in id order, as a change of a group locks it before its members.
   */
  async bumpGroupsOf(directoryId: string, userId: string): Promise<void> {
    const table = tableOf(this.em, DirectoryGroup);
    const scope = entityCondition(this.em, DirectoryGroup, 'l');
    await sql(
      this.em,
      `update "${table}" g set "version" = g."version" + 1, "updated_at" = now() where g."id" in` +
        ` (select l."id" from "${table}" l where l."directory_id" = ? and l."id" in (select m."group_id" from "${tableOf(this.em, DirectoryGroupMember)}" m where m."user_id" = ?)${scope.sql} order by l."id" for update)`,
      [directoryId, userId, ...scope.params],
    );
  }

  /** How many members the group has. */
  async memberCount(group: DirectoryGroup): Promise<number> {
    const [row] = await sql<{ count: string }>(this.em, `select count(*)::text as "count" from "${tableOf(this.em, DirectoryGroupMember)}" where "group_id" = ?`, [group.id]);
    return Number(row?.count ?? 0);
  }

  /**
   * The directory's active Users among `userIds` (all of them with `afterId` paging when null)
   * that are linked to an environment user with an active membership of the organization: their
   * groups in this directory and the roles their membership holds, in one statement.
   */
  async roleSubjects(directory: { id: string; organizationId: string }, userIds: readonly string[] | null, page?: { afterId: string; limit: number }): Promise<RoleSubject[]> {
    const userScope = entityCondition(this.em, DirectoryUser, 'du');
    const membershipScope = entityCondition(this.em, Membership, 'm');
    const groupScope = entityCondition(this.em, DirectoryGroup, 'g');
    const roleScope = entityCondition(this.em, Role, 'r');
    const which = userIds ? ` and du."id" = any(?::text[])` : ` and du."id" > ?`;
    const rows = await sql<{ id: string; user_id: string; membership_id: string; groups: string[]; roles: string[] }>(
      this.em,
      `select du."id", du."user_id", m."id" as "membership_id",` +
        ` array(select g."display_name" from "${tableOf(this.em, DirectoryGroupMember)}" gm join "${tableOf(this.em, DirectoryGroup)}" g on g."id" = gm."group_id"${groupScope.sql} where gm."user_id" = du."id") as "groups",` +
        ` array(select r."key" from "${tableOf(this.em, MembershipRole)}" mr join "${tableOf(this.em, Role)}" r on r."id" = mr."role_id"${roleScope.sql} where mr."membership_id" = m."id") as "roles"` +
        ` from "${tableOf(this.em, DirectoryUser)}" du join "${tableOf(this.em, Membership)}" m on m."user_id" = du."user_id" and m."organization_id" = ? and m."status" = '${MembershipStatus.ACTIVE}'${membershipScope.sql}` +
        ` where du."directory_id" = ? and du."active"${which}${userScope.sql} order by du."id"${page ? ' limit ?' : ''}`,
      [...groupScope.params, ...roleScope.params, directory.organizationId, ...membershipScope.params, directory.id, userIds ? [...userIds] : page?.afterId ?? '', ...userScope.params, ...(page ? [page.limit] : [])],
    );
    return rows.map((row) => ({ directoryUserId: row.id, userId: row.user_id, membershipId: row.membership_id, groups: row.groups, roleKeys: row.roles }));
  }

  /** A directory's Groups for the management API, oldest first: all, or those a User is a member of. */
  list(query: { directoryId: string; memberId?: string | null }, args: PageArgs, maxPageSize: number) {
    const where: FilterQuery<DirectoryGroup>[] = [{ directoryId: query.directoryId }];
    const members = tableOf(this.em, DirectoryGroupMember);
    const conditions = (): FilterQuery<DirectoryGroup> => ({
      $and: query.memberId != null ? [...where, { [raw((alias) => `${alias}.id in (select gm.group_id from "${members}" gm where gm.user_id = ?)`, [query.memberId])]: [] }] : where,
    });
    return paginate(this.em, DirectoryGroup, conditions, { field: 'createdAt', direction: 'ASC' }, args, maxPageSize);
  }

  /** How many Groups the directory has. */
  countOf(directoryId: string): Promise<number> {
    return this.em.count(DirectoryGroup, { directoryId });
  }
}
