import { LockMode, raw, type EntityManager, type FilterQuery } from '@mikro-orm/core';
import { paginate, type PageArgs } from '../../db/pagination.js';
import { DirectoryGroupMember } from './directory-group.entity.js';
import { Repository } from '../../db/repository.js';
import { entityCondition, managedRow, type SqlPart } from '../../db/rows.js';
import { preparedSql, sql, tableOf } from '../../db/sql.js';
import { Membership } from '../membership/membership.entity.js';
import { membershipsOfUsersSql } from '../membership/membership.repository.js';
import { DomainState, OrganizationDomain } from '../organization/organization.entity.js';
import { rolesWithKeysSql } from '../role/role.repository.js';
import { User } from '../user/user.entity.js';
import { DirectoryUser } from './directory-user.entity.js';
import { pageOfDirectory, type ScimPage } from './directory-pages.repository.js';
import type { FilterTarget } from './scim/scim-filter.js';
import { USER_SCHEMAS } from './scim/scim-schema.js';

/** Where a SCIM filter over Users finds each attribute: the indexed columns, else the stored resource. */
export const USER_FILTER_TARGET: FilterTarget = {
  schemas: USER_SCHEMAS,
  resource: 'u."resource"',
  columns: {
    id: { sql: 'u."id"', kind: 'text' },
    externalId: { sql: 'u."external_id"', kind: 'text' },
    userName: { sql: 'u."user_name"', kind: 'text' },
    active: { sql: 'u."active"', kind: 'boolean' },
    displayName: { sql: 'u."display_name"', kind: 'text' },
    'meta.created': { sql: 'u."created_at"', kind: 'timestamptz' },
    'meta.lastModified': { sql: 'u."updated_at"', kind: 'timestamptz' },
  },
};

/** The Users of a directory; every read names the directory, within the EntityManager's tenant scope. */
export class DirectoryUserRepository extends Repository<DirectoryUser> {
  constructor(em: EntityManager) {
    super(em, DirectoryUser, 'directory_user');
  }

  ofDirectory(directoryId: string, id: string): Promise<DirectoryUser | null> {
    return this.em.findOne(DirectoryUser, { id, directoryId });
  }

  /** The directory's User, locked until the transaction ends: a change reads what it changes after any other change committed. */
  lockedOfDirectory(directoryId: string, id: string): Promise<DirectoryUser | null> {
    return this.em.findOne(DirectoryUser, { id, directoryId }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
  }

  /** A page of the directory's Users matching `filter` (compiled over USER_FILTER_TARGET), in `order`, with how many match. */
  page(query: { directoryId: string; filter: SqlPart | null; order: string | null; offset: number; limit: number }): Promise<ScimPage<DirectoryUser>> {
    return pageOfDirectory(this.em, DirectoryUser, 'u', query);
  }

  /**
   * Takes a new version of those of `ids` that are Users of the directory (their `groups` are
   * about to change), locking them in id order so that concurrent changes of groups with common
   * members cannot deadlock; the ids found.
   */
  async bumpVersions(directoryId: string, ids: readonly string[]): Promise<Set<string>> {
    if (!ids.length) return new Set();
    const table = tableOf(this.em, DirectoryUser);
    const scope = entityCondition(this.em, DirectoryUser, 'l');
    const rows = await sql<{ id: string }>(
      this.em,
      `update "${table}" u set "version" = u."version" + 1, "updated_at" = now() where u."id" in` +
        ` (select l."id" from "${table}" l where l."directory_id" = ? and l."id" = any(?::text[])${scope.sql} order by l."id" for update) returning u."id"`,
      [directoryId, [...new Set(ids)], ...scope.params],
    );
    return new Set(rows.map((row) => row.id));
  }

  /** A directory's Users for the management API, oldest first: all, the active or inactive ones, or a group's members. */
  list(query: { directoryId: string; active?: boolean | null; groupId?: string | null }, args: PageArgs, maxPageSize: number) {
    const where: FilterQuery<DirectoryUser>[] = [{ directoryId: query.directoryId }];
    if (query.active != null) where.push({ active: query.active });
    const members = tableOf(this.em, DirectoryGroupMember);
    // A subquery, not a list of ids: a group may have any number of members; raw() is consumed per query.
    const conditions = (): FilterQuery<DirectoryUser> => ({
      $and: query.groupId != null ? [...where, { [raw((alias) => `${alias}.id in (select gm.user_id from "${members}" gm where gm.group_id = ?)`, [query.groupId])]: [] }] : where,
    });
    return paginate(this.em, DirectoryUser, conditions, { field: 'createdAt', direction: 'ASC' }, args, maxPageSize);
  }

  /** How many Users the directory has. */
  countOf(directoryId: string): Promise<number> {
    return this.em.count(DirectoryUser, { directoryId });
  }

  /**
   * Who a provisioned person may be, in one statement (rows managed by the EntityManager): the
   * user they are linked to, the environment's user with `email`, the organization's verified
   * domain names, the memberships of those users in the organization, and the environment's
   * roles with `roleKeys`.
   */
  async personOf(query: { environmentId: string; organizationId: string; linkedUserId: string | null; email: string | null; roleKeys: readonly string[] }): Promise<{
    linkedUser: User | null;
    emailUser: User | null;
    verifiedDomains: string[];
    memberships: Membership[];
    roles: { id: string; key: string }[];
  }> {
    const userScope = entityCondition(this.em, User, 'u');
    const linkedScope = entityCondition(this.em, User, 'lu');
    const domainScope = entityCondition(this.em, OrganizationDomain, 'd');
    const memberships = membershipsOfUsersSql(this.em, query.organizationId, `array[(select l."id" from "linked" l), (select u."id" from "by_email" u)]`);
    const roles = rolesWithKeysSql(this.em, query.environmentId, query.roleKeys);
    // Each part is an init plan run once; memberships are probed by the unique (organization, user) index.
    const rows = await preparedSql<Record<string, unknown>>(
      this.em,
      `with "linked" as materialized (select lu.* from "${tableOf(this.em, User)}" lu where lu."id" = ?${linkedScope.sql} limit 1),` +
        ` "by_email" as materialized (select u.* from "${tableOf(this.em, User)}" u where u."environment_id" = ? and u."email" = ?${userScope.sql} limit 1)` +
        ` select (select row_to_json(l) from "linked" l) as "_linked", (select row_to_json(u) from "by_email" u) as "_email",` +
        ` array(select d."domain" from "${tableOf(this.em, OrganizationDomain)}" d where d."organization_id" = ? and d."state" = '${DomainState.VERIFIED}'${domainScope.sql}) as "_domains",` +
        ` ${memberships.sql} as "_memberships", ${roles.sql} as "_roles"`,
      [
        query.linkedUserId ?? '',
        ...linkedScope.params,
        query.environmentId,
        query.email ?? '',
        ...userScope.params,
        query.organizationId,
        ...domainScope.params,
        ...memberships.params,
        ...roles.params,
      ],
    );
    const row = rows[0] ?? {};
    return {
      linkedUser: managedRow(this.em, User, row._linked as Record<string, unknown> | null),
      emailUser: query.email ? managedRow(this.em, User, row._email as Record<string, unknown> | null) : null,
      verifiedDomains: (row._domains as string[] | null) ?? [],
      memberships: ((row._memberships as Record<string, unknown>[] | null) ?? []).map((membership) => managedRow(this.em, Membership, membership)!),
      roles: (row._roles as { id: string; key: string }[] | null) ?? [],
    };
  }
}
