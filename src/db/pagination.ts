import { raw, type EntityManager, type FilterQuery } from '@mikro-orm/core';
import type { EntityManager as SqlEntityManager } from '@mikro-orm/postgresql';
import { invalid } from '../errors/app-error.js';
import { rowMapper } from './rows.js';

/** Relay-style page request. */
export interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
  /**
   * The caller will read `totalCount`: a first page then counts all matching rows in its own
   * statement. Only then: a window count reads every matching row, where a bare page stops
   * after `first + 1`.
   */
  countWithPage?: boolean;
}

export type SortDirection = 'ASC' | 'DESC';

export interface Sort {
  /** Entity property to order by; ties are broken by id. */
  field: string;
  direction: SortDirection;
}

export interface Page<T> {
  nodes: T[];
  /** The cursor of each node; `paginate` makes them on first read (see `lazyCursors`). */
  cursors: string[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  /** Known from the page's own statement when asked for with it (`countWithPage`) from the beginning; otherwise counted when read. */
  totalCount: () => Promise<number>;
}

export const DEFAULT_PAGE_SIZE = 20;

/** Page size when neither `first` nor `last` is given: 20, or a configured cap below that. */
export const defaultPageSize = (maxPageSize: number): number => Math.min(DEFAULT_PAGE_SIZE, maxPageSize);

/** How a sort value is written in a cursor and checked when it comes back. */
export type CursorValueKind = 'date' | 'integer' | 'text';

/**
 * A cursor is base64url JSON `[sort field, sort value, id]`. The field ties it to the ordering
 * it came from; the value is always a string (ISO date-time, digits or text).
 */
export function encodeCursor(field: string, value: string, id: string): string {
  return Buffer.from(JSON.stringify([field, value, id]), 'utf8').toString('base64url');
}

// Bounds well above anything this API hands out (ids are 30 characters, names and emails
// at most a few hundred), so a forged cursor cannot smuggle in an arbitrarily large value.
const MAX_CURSOR_LENGTH = 4096;
const ID = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_TEXT_VALUE = 1024;
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const MAX_BIGINT = 2n ** 63n - 1n;

/** The value as the query needs it, or undefined when it is not a valid value of that kind. */
function parseValue(value: unknown, kind: CursorValueKind): Date | string | undefined {
  if (typeof value !== 'string') return undefined;
  switch (kind) {
    case 'date': {
      // Exactly what Date#toISOString writes, and a real date (no 2024-02-30 or year "123"),
      // from year 1 on (PostgreSQL has no year 0).
      if (!ISO_DATE_TIME.test(value) || value.startsWith('0000')) return undefined;
      const date = new Date(value);
      return !Number.isNaN(date.getTime()) && date.toISOString() === value ? date : undefined;
    }
    case 'integer':
      return /^\d{1,19}$/.test(value) && BigInt(value) <= MAX_BIGINT ? value : undefined;
    case 'text':
      // PostgreSQL text cannot hold NUL.
      return value.length <= MAX_TEXT_VALUE && !value.includes('\u0000') ? value : undefined;
  }
}

/**
 * Reads a cursor made by `encodeCursor` for the sort `field` whose values are of `kind`.
 * Anything else (another ordering's cursor, a value of the wrong type, a forged id) is the
 * caller's mistake: BAD_USER_INPUT `pagination.invalid_cursor`, never a failing query.
 */
export function decodeCursor(
  cursor: string,
  argument: string,
  field: string,
  kind: CursorValueKind,
): { value: Date | string; id: string } {
  let parsed: unknown;
  try {
    if (cursor.length <= MAX_CURSOR_LENGTH) parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    // not JSON: rejected below
  }
  if (Array.isArray(parsed) && parsed.length === 3 && parsed[0] === field && typeof parsed[2] === 'string' && ID.test(parsed[2])) {
    const value = parseValue(parsed[1], kind);
    if (value !== undefined) return { value, id: parsed[2] };
  }
  throw invalid('pagination.invalid_cursor', `"${argument}" is not a cursor returned by this API for this ordering`, [argument]);
}

/** The cursor value kind of an entity property, from the ORM's metadata. */
function valueKindOf(em: EntityManager, entity: new (...args: never[]) => unknown, field: string): CursorValueKind {
  const prop = em.getMetadata().get(entity.name).properties[field as never] as { runtimeType?: string; columnTypes?: string[] };
  if (prop.runtimeType === 'Date') return 'date';
  if (prop.runtimeType === 'number' || /int|serial/i.test(prop.columnTypes?.[0] ?? '')) return 'integer';
  return 'text';
}

function cursorValueOf(node: object, field: string): string {
  const value = (node as Record<string, unknown>)[field];
  return value instanceof Date ? value.toISOString() : String(value);
}

/**
 * Defines `page.cursors` as made on first read: most reads select `nodes` and never a cursor,
 * and a cursor costs a JSON string and its base64 copy per node.
 */
export function lazyCursors<P extends { nodes: N[] }, N>(page: P, cursorOf: (node: N) => string): P & { cursors: string[] } {
  let cursors: string[] | undefined;
  return Object.defineProperty(page, 'cursors', {
    enumerable: true,
    get: () => (cursors ??= page.nodes.map(cursorOf)),
  }) as P & { cursors: string[] };
}

/** Validates page arguments; returns the size and direction to fetch. */
export function pageWindow(args: PageArgs, maxPageSize: number): { size: number; backward: boolean } {
  if (args.first != null && args.last != null) {
    throw invalid('pagination.first_and_last', 'Pass either "first" or "last", not both', ['first']);
  }
  for (const name of ['first', 'last'] as const) {
    const value = args[name];
    if (value != null && (value < 0 || value > maxPageSize)) {
      throw invalid('pagination.page_too_large', `"${name}" must be between 0 and ${maxPageSize}`, [name]);
    }
  }
  const backward = args.last != null || (args.before != null && args.first == null);
  return { size: (backward ? args.last : args.first) ?? defaultPageSize(maxPageSize), backward };
}

/**
 * Keyset pagination over (sort field, id): stable under inserts, index-friendly, and the cost
 * of page N does not grow with N. Nodes are plain read-only rows (db/rows.ts), not managed
 * entities: pages are read, and changes go through a repository's `lock`.
 *
 * `where` may be a function that builds the condition: pass one when it holds `raw()`
 * fragments, which MikroORM consumes on first use, so the page query and the count query each
 * get their own.
 */
export async function paginate<T extends { id: string }>(
  em: EntityManager,
  entity: new (...args: never[]) => T,
  where: FilterQuery<T> | (() => FilterQuery<T>),
  sort: Sort,
  args: PageArgs,
  maxPageSize: number,
): Promise<Page<T>> {
  const { size, backward } = pageWindow(args, maxPageSize);
  const condition = (): FilterQuery<T> => (typeof where === 'function' ? (where as () => FilterQuery<T>)() : where);
  const conditions: object[] = [condition() as object];
  const kind = valueKindOf(em, entity, sort.field);
  const keyset = (cursor: string, argument: string, forwardOfCursor: boolean) => {
    const { value, id } = decodeCursor(cursor, argument, sort.field, kind);
    const ascending = (sort.direction === 'ASC') === forwardOfCursor;
    const op = ascending ? '$gt' : '$lt';
    conditions.push({ $or: [{ [sort.field]: { [op]: value } }, { [sort.field]: value, id: { [op]: id } }] });
  };
  if (args.after) keyset(args.after, 'after', true);
  if (args.before) keyset(args.before, 'before', false);

  const flip = (direction: SortDirection): SortDirection => (direction === 'ASC' ? 'DESC' : 'ASC');
  const direction = backward ? flip(sort.direction) : sort.direction;
  // Without a cursor the rows before LIMIT are all that match: a window count over them is the
  // total, and `{ totalCount nodes { … } }` costs one statement.
  const counted = args.countWithPage === true && !args.after && !args.before;
  // One row more than asked tells whether another page follows (also for `first: 0`).
  const query = (em as SqlEntityManager)
    .createQueryBuilder(entity, 't')
    .select('*')
    .where({ $and: conditions } as never)
    .orderBy([{ [sort.field]: direction }, { id: direction }] as never)
    .limit(size + 1);
  if (counted) query.addSelect(raw('count(*) over () as "_total"'));
  // The tenant filter, as em.find would apply it (it throws for an EntityManager without scope).
  await query.applyFilters();
  // Plain read-only rows (db/rows.ts): a page is read, never changed through the ORM.
  const rows = await query.execute<Record<string, unknown>[]>('all', false);
  const total = counted ? Number(rows[0]?._total ?? 0) : undefined;
  const more = rows.length > size;
  const toNode = rowMapper(em, entity);
  const nodes = rows.slice(0, size).map(toNode);
  if (backward) nodes.reverse();
  const page = {
    nodes,
    hasNextPage: backward ? Boolean(args.before) : more,
    hasPreviousPage: backward ? more : Boolean(args.after),
    totalCount: () => (total !== undefined ? Promise.resolve(total) : em.count(entity, condition())),
  };
  return lazyCursors(page, (node: T) => encodeCursor(sort.field, cursorValueOf(node, sort.field), node.id));
}
