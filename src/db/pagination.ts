import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import { invalid } from '../errors/app-error.js';

/** Relay-style page request. */
export interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

export type SortDirection = 'ASC' | 'DESC';

export interface Sort {
  /** Entity property to order by; ties are broken by id. */
  field: string;
  direction: SortDirection;
}

export interface Page<T> {
  nodes: T[];
  cursors: string[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  /** Counted only when asked for. */
  totalCount: () => Promise<number>;
}

export const DEFAULT_PAGE_SIZE = 20;

type CursorValue = string | number | null;

export function encodeCursor(value: CursorValue, id: string): string {
  return Buffer.from(JSON.stringify([value, id]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string, argument: string): [CursorValue, string] {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(parsed) &&
      parsed.length === 2 &&
      typeof parsed[1] === 'string' &&
      (parsed[0] === null || typeof parsed[0] === 'string' || typeof parsed[0] === 'number')
    ) {
      return parsed as [CursorValue, string];
    }
  } catch {
    // fall through to the error below
  }
  throw invalid('pagination.invalid_cursor', `"${argument}" is not a cursor returned by this API`, [argument]);
}

function cursorValueOf(node: object, field: string): CursorValue {
  const value = (node as Record<string, unknown>)[field];
  if (value instanceof Date) return value.toISOString();
  if (value === null || value === undefined) return null;
  return typeof value === 'number' ? value : String(value);
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
  return { size: (backward ? args.last : args.first) ?? DEFAULT_PAGE_SIZE, backward };
}

/**
 * Keyset pagination over (sort field, id): stable under inserts, index-friendly, and the cost
 * of page N does not grow with N.
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
  const keyset = (cursor: string, argument: string, forwardOfCursor: boolean) => {
    const [value, id] = decodeCursor(cursor, argument);
    const ascending = (sort.direction === 'ASC') === forwardOfCursor;
    const op = ascending ? '$gt' : '$lt';
    const typed = sort.field.endsWith('At') && typeof value === 'string' ? new Date(value) : value;
    conditions.push({ $or: [{ [sort.field]: { [op]: typed } }, { [sort.field]: typed, id: { [op]: id } }] });
  };
  if (args.after) keyset(args.after, 'after', true);
  if (args.before) keyset(args.before, 'before', false);

  const flip = (direction: SortDirection): SortDirection => (direction === 'ASC' ? 'DESC' : 'ASC');
  const direction = backward ? flip(sort.direction) : sort.direction;
  // One row more than asked tells whether another page follows (also for `first: 0`).
  const rows = await em.find(entity, { $and: conditions } as FilterQuery<T>, {
    orderBy: [{ [sort.field]: direction }, { id: direction }] as never,
    limit: size + 1,
  });
  const more = rows.length > size;
  const nodes = rows.slice(0, size);
  if (backward) nodes.reverse();
  return {
    nodes,
    cursors: nodes.map((node) => encodeCursor(cursorValueOf(node, sort.field), node.id)),
    hasNextPage: backward ? Boolean(args.before) : more,
    hasPreviousPage: backward ? more : Boolean(args.after),
    totalCount: () => em.count(entity, condition()),
  };
}
