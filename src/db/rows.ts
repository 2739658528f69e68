import type { EntityManager } from '@mikro-orm/core';
import { sql, tableOf } from './sql.js';
import { scopeOf, TENANT_COLUMNS, TenantScopeViolation } from './tenant-scope.js';

/**
 * Read-only rows as plain objects with the entity's property names. The GraphQL relation
 * loaders only read what they load, and skipping the ORM's hydration and identity map there
 * cut the cost of a nested 50-organization query by about a fifth (bench/graphql). Writes
 * always go through entities.
 */
const mappers = new WeakMap<object, (row: Record<string, unknown>) => unknown>();

export function rowMapper<T>(em: EntityManager, entity: new (...args: never[]) => T): (row: Record<string, unknown>) => T {
  const meta = em.getMetadata().get(entity.name);
  let mapper = mappers.get(meta);
  if (!mapper) {
    const columns = Object.values(meta.properties)
      .filter((prop) => prop.fieldNames?.length === 1 && prop.persist !== false)
      .map((prop) => [prop.fieldNames[0], prop.name, prop.runtimeType === 'Date'] as const);
    mapper = (row) => {
      const out: Record<string, unknown> = {};
      for (const [column, property, isDate] of columns) {
        const value = row[column];
        // The PostgreSQL driver hands timestamps over as text (MikroORM's choice); PGlite as Dates.
        out[property] = isDate && value != null && !(value instanceof Date) ? new Date(String(value)) : value;
      }
      return out;
    };
    mappers.set(meta, mapper);
  }
  return mapper as (row: Record<string, unknown>) => T;
}

type Row = Record<string, unknown>;

/**
 * The tenant condition of raw SQL over an entity's table aliased `alias`, by the column that
 * names its tenant (tenant-scope.ts): an environment or workspace condition for a caller's
 * EntityManager; nothing for system work or for tables that hold no tenant data.
 */
export function entityCondition(em: EntityManager, entity: new (...args: never[]) => unknown, alias: string): { sql: string; params: unknown[] } {
  const read = TENANT_COLUMNS[entity.name]?.read;
  const scope = scopeOf(em);
  if (!read || scope.kind === 'system') return { sql: '', params: [] };
  const column = `${alias}."${em.getMetadata().get(entity.name).properties[read.column].fieldNames[0]}"`;
  return read.tenant === 'workspace'
    ? { sql: ` and ${column} = ?`, params: [scope.workspaceId] }
    : { sql: ` and ${column} = any(?::text[])`, params: [[...scope.environmentIds]] };
}

/**
 * A scalar subquery giving, as JSON, the row of `entity` whose id is `idColumn` (an SQL
 * expression of the outer statement), within the EntityManager's scope; null when there is none.
 * `rowMapper` reads it like a row of its own (timestamps arrive as ISO text either way).
 */
export function embeddedRow(em: EntityManager, entity: new (...args: never[]) => unknown, idColumn: string): { sql: string; params: unknown[] } {
  const scope = entityCondition(em, entity, 'e');
  return { sql: `(select row_to_json(e) from "${tableOf(em, entity)}" e where e."id" = ${idColumn}${scope.sql})`, params: scope.params };
}

/** Rows found by id, as plain rows in the order of `ids` (null where none was found). */
export function alignById<T>(ids: readonly string[], rows: readonly Row[], toNode: (row: Row) => T): (T | null)[] {
  const found = new Map(rows.map((row) => [String(row.id), toNode(row)]));
  return ids.map((id) => found.get(id) ?? null);
}

/** Rows of many parents, each naming its parent in `_parent`, as one list per parent in the order of `parentIds`. */
export function groupByParent<T>(parentIds: readonly string[], rows: readonly Row[], toNode: (row: Row) => T): T[][] {
  const grouped = new Map<string, T[]>(parentIds.map((id) => [id, []]));
  for (const row of rows) grouped.get(String(row._parent))?.push(toNode(row));
  return parentIds.map((id) => grouped.get(id)!);
}

/**
 * Rows of a tenant table by id in one statement, as plain read-only rows in the order of
 * `ids` (null where the id does not exist or is outside the EntityManager's scope).
 */
export async function rowsById<T extends { id: string }>(
  em: EntityManager,
  entity: new (...args: never[]) => T,
  ids: readonly string[],
): Promise<(T | null)[]> {
  if (!ids.length) return [];
  const scope = entityCondition(em, entity, 't');
  const rows = await sql(em, `select t.* from "${tableOf(em, entity)}" t where t."id" = any(?::text[])${scope.sql}`, [[...ids], ...scope.params]);
  return alignById(ids, rows, rowMapper(em, entity));
}

/**
 * A row of `entity` read by raw SQL (a plain row, or the JSON of `row_to_json`), made a managed
 * entity of `em`: merged into its identity map, so that what is changed on it is flushed like
 * anything the ORM loaded, and a later `find` of its id is answered without a query. For hot
 * paths that read several related rows in one statement. As with the ORM's reads, an entity
 * the EntityManager already holds is returned as it is (with its unflushed changes) unless
 * `refresh` (a locking read) asks for the row's values. Null stays null.
 */
export function managedRow<T extends object>(em: EntityManager, entity: new (...args: never[]) => T, row: Record<string, unknown> | null | undefined, refresh = false): T | null {
  return row ? (em.map(entity.name, row as never, { refresh } as never) as T) : null;
}

/**
 * A scalar subquery giving, as JSON, the row of `entity` (aliased `alias`) that `where` (SQL of
 * the outer statement) picks, within the EntityManager's scope; null when there is none.
 */
export function embeddedRowWhere(em: EntityManager, entity: new (...args: never[]) => unknown, alias: string, where: SqlPart): SqlPart {
  const scope = entityCondition(em, entity, alias);
  return { sql: `(select row_to_json(${alias}) from "${tableOf(em, entity)}" ${alias} where ${where.sql}${scope.sql} limit 1)`, params: [...where.params, ...scope.params] };
}

/** SQL text and the parameters of its `?` placeholders. */
export interface SqlPart {
  sql: string;
  params: unknown[];
}

/**
 * An INSERT of an entity made with `em.create(…, { persist: false })`, for raw SQL that writes
 * several rows in one statement (a CTE per extra row): every persisted column, its value
 * converted as a flush converts it (JSON, arrays). Refused, like a flush (TenantWriteGuard), for
 * a row outside the EntityManager's tenant scope.
 */
export function insertRowSql(em: EntityManager, entity: object): SqlPart {
  const meta = em.getMetadata().get(entity.constructor.name);
  const tenant = TENANT_COLUMNS[meta.className]?.write;
  const scope = scopeOf(em);
  if (tenant && scope.kind === 'tenant') {
    const value = (entity as Record<string, unknown>)[tenant.column];
    const allowed = tenant.tenant === 'workspace' ? value === scope.workspaceId : scope.environmentIds.includes(String(value));
    if (!allowed) throw new TenantScopeViolation(`Refused to write ${meta.className} outside the caller's tenant scope`);
  }
  const platform = em.getPlatform();
  const columns: string[] = [];
  const params: unknown[] = [];
  for (const prop of meta.props) {
    if (prop.persist === false || prop.fieldNames?.length !== 1) continue;
    const value = (entity as Record<string, unknown>)[prop.name];
    if (value === undefined) continue;
    columns.push(`"${prop.fieldNames[0]}"`);
    params.push(value === null || !prop.customType ? value : prop.customType.convertToDatabaseValue(value, platform, { mode: 'query' }));
  }
  return { sql: `insert into "${meta.tableName}" (${columns.join(', ')}) values (${columns.map(() => '?').join(', ')})`, params };
}
