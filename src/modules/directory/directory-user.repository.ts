import { LockMode, type EntityManager } from '@mikro-orm/core';
import { Repository } from '../../db/repository.js';
import { entityCondition, managedRow, type SqlPart } from '../../db/rows.js';
import { sql, tableOf } from '../../db/sql.js';
import { DirectoryUser } from './directory-user.entity.js';
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

  /**
   * A page of the directory's Users matching `filter` (compiled SQL over USER_FILTER_TARGET),
   * oldest first, and how many match in all: a count, not rows loaded.
   */
  async page(directoryId: string, filter: SqlPart | null, offset: number, limit: number): Promise<{ total: number; users: DirectoryUser[] }> {
    const scope = entityCondition(this.em, DirectoryUser, 'u');
    const table = tableOf(this.em, DirectoryUser);
    const where = `u."directory_id" = ?${scope.sql}${filter ? ` and (${filter.sql})` : ''}`;
    const params = [directoryId, ...scope.params, ...(filter?.params ?? [])];
    const [{ total }] = await sql<{ total: string }>(this.em, `select count(*)::text as "total" from "${table}" u where ${where}`, params);
    const rows = limit > 0 && Number(total) > offset ? await sql<Record<string, unknown>>(this.em, `select u.* from "${table}" u where ${where} order by u."created_at", u."id" limit ? offset ?`, [...params, limit, offset]) : [];
    return { total: Number(total), users: rows.map((row) => managedRow(this.em, DirectoryUser, row)!) };
  }
}
