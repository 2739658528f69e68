import type { EntityManager } from '@mikro-orm/core';
import { entityCondition, managedRow, type SqlPart } from '../../db/rows.js';
import { sql, tableOf } from '../../db/sql.js';

/** A page of a SCIM list: the rows asked for, and how many match in all. */
export interface ScimPage<T> {
  total: number;
  rows: T[];
}

/**
 * A page of one directory's resources of `entity` (its table aliased `alias`) matching `filter`
 * (compiled SQL), in `order` (compiled SQL; else oldest first), and how many match in all: a
 * count, never rows loaded to be counted. Within the EntityManager's tenant scope.
 */
export async function pageOfDirectory<T extends object>(
  em: EntityManager,
  entity: new (...args: never[]) => T,
  alias: string,
  query: { directoryId: string; filter: SqlPart | null; order: string | null; offset: number; limit: number },
): Promise<ScimPage<T>> {
  const scope = entityCondition(em, entity, alias);
  const table = tableOf(em, entity);
  const where = `${alias}."directory_id" = ?${scope.sql}${query.filter ? ` and (${query.filter.sql})` : ''}`;
  const params = [query.directoryId, ...scope.params, ...(query.filter?.params ?? [])];
  const [{ total }] = await sql<{ total: string }>(em, `select count(*)::text as "total" from "${table}" ${alias} where ${where}`, params);
  if (query.limit <= 0 || Number(total) <= query.offset) return { total: Number(total), rows: [] };
  const order = `${query.order ? `${query.order}, ` : ''}${alias}."created_at", ${alias}."id"`;
  const rows = await sql<Record<string, unknown>>(em, `select ${alias}.* from "${table}" ${alias} where ${where} order by ${order} limit ? offset ?`, [...params, query.limit, query.offset]);
  return { total: Number(total), rows: rows.map((row) => managedRow(em, entity, row)!) };
}
