import { LockMode, raw, type EntityManager, type FilterQuery } from '@mikro-orm/core';
import { paginate, type PageArgs } from '../../db/pagination.js';
import { DirectoryGroupMember } from './directory-group.entity.js';
import { Repository } from '../../db/repository.js';
import { entityCondition, managedRow, type SqlPart } from '../../db/rows.js';
import { sql, tableOf } from '../../db/sql.js';
import { DirectoryUser } from './directory-user.entity.js';
import { pageOfDirectory, type ScimPage } from './directory-pages.js';
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

  /** The directory's User with `userName`, compared case-insensitively (the unique index's rule). */
  async byUserName(directoryId: string, userName: string): Promise<DirectoryUser | null> {
    const scope = entityCondition(this.em, DirectoryUser, 'u');
    const [row] = await sql<Record<string, unknown>>(
      this.em,
      `select u.* from "${tableOf(this.em, DirectoryUser)}" u where u."directory_id" = ? and lower(u."user_name") = lower(?)${scope.sql} limit 1`,
      [directoryId, userName, ...scope.params],
    );
    return managedRow(this.em, DirectoryUser, row);
  }

  /** A page of the directory's Users matching `filter` (compiled over USER_FILTER_TARGET), in `order`, with how many match. */
  page(query: { directoryId: string; filter: SqlPart | null; order: string | null; offset: number; limit: number }): Promise<ScimPage<DirectoryUser>> {
    return pageOfDirectory(this.em, DirectoryUser, 'u', query);
  }

  /** Which of `ids` are Users of the directory (a Group's members must be). */
  async existing(directoryId: string, ids: readonly string[]): Promise<Set<string>> {
    if (!ids.length) return new Set();
    const scope = entityCondition(this.em, DirectoryUser, 'u');
    const rows = await sql<{ id: string }>(this.em, `select u."id" from "${tableOf(this.em, DirectoryUser)}" u where u."directory_id" = ? and u."id" = any(?::text[])${scope.sql}`, [directoryId, [...ids], ...scope.params]);
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
}
