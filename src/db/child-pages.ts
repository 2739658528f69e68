import type { EntityManager } from '@mikro-orm/core';
import { decodeCursor, encodeCursor, lazyCursors, pageWindow, type Page } from './pagination.js';
import { embeddedRow, entityCondition, rowMapper } from './rows.js';
import { sql } from './sql.js';

export interface ChildPageArgs {
  first?: number | null;
  after?: string | null;
}

/**
 * A first page of one parent's children. `total` is the number of all its children in scope
 * when the page starts at the beginning (no `after`): the same statement counts them with a
 * window function, so `{ totalCount nodes { … } }` costs one statement, not two.
 */
export type ChildPageOf<T> = Omit<Page<T>, 'totalCount'> & {
  total?: number;
  /** With `embed`: the row each node refers to, in the order of `nodes` (null when out of scope or gone). */
  embedded?: unknown[];
};

/**
 * A row each child refers to (a membership's user), read in the same statement: `property` is
 * the child's property holding the referred row's id. The caller hands the rows to the loader
 * of that entity, so `memberships { nodes { user { … } } }` needs no statement for the users.
 */
export interface ChildEmbed<T> {
  property: keyof T & string;
  entity: new (...args: never[]) => unknown;
}

/**
 * The first page of children for many parents in one statement (a window function per parent),
 * ordered by (created_at, id), as plain read-only rows of the EntityManager's tenant scope. This is what lets `organizations { memberships { … } }` cost a
 * constant number of queries however many organizations are listed.
 */
export async function loadChildPages<T extends { id: string; createdAt: Date }>(
  em: EntityManager,
  entity: new (...args: never[]) => T,
  parentProperty: string,
  parentIds: readonly string[],
  args: ChildPageArgs,
  maxPageSize: number,
  embed?: ChildEmbed<T>,
): Promise<Map<string, ChildPageOf<T>>> {
  const { size } = pageWindow({ first: args.first }, maxPageSize);
  const meta = em.getMetadata().get(entity.name);
  const parentColumn = meta.properties[parentProperty as keyof T & string].fieldNames[0];
  const scope = entityCondition(em, entity, 't');
  const embedded = embed ? embeddedRow(em, embed.entity, `s."${meta.properties[embed.property].fieldNames[0]}"`) : undefined;
  const params: unknown[] = [...(embedded?.params ?? []), [...parentIds], ...scope.params];
  let keyset = '';
  if (args.after) {
    // Child cursors are those of a `createdAt` ordering, checked like any other.
    const { value, id } = decodeCursor(args.after, 'after', 'createdAt', 'date');
    keyset = ' and (t."created_at", t."id") > (?, ?)';
    params.push(value, id);
  }
  params.push(size + 1);
  // Without a cursor the partition is all of a parent's children: its size is the total.
  const total = args.after ? '' : `, count(*) over (partition by t."${parentColumn}") as "_total"`;
  const rows =
    parentIds.length === 0
      ? []
      : await sql(
          em,
          `select s.*${embedded ? `, ${embedded.sql} as "_embedded"` : ''} from (select t.*, row_number() over (partition by t."${parentColumn}" order by t."created_at", t."id") as "_rn"${total}` +
            ` from "${meta.tableName}" t where t."${parentColumn}" = any(?::text[])${scope.sql}${keyset}) s` +
            ` where s."_rn" <= ? order by s."_rn"`,
          params,
        );

  const toNode = rowMapper(em, entity);
  const toEmbedded = embed && rowMapper(em, embed.entity);
  // Cursors are made on first read (lazyCursors): a read through `nodes` needs none.
  const cursorOf = (node: T) => encodeCursor('createdAt', node.createdAt.toISOString(), node.id);
  const pages = new Map<string, ChildPageOf<T>>();
  for (const parentId of parentIds) {
    // A parent without rows has no children at all (when counting from the start).
    const page: Omit<ChildPageOf<T>, 'cursors'> = { nodes: [], hasNextPage: false, hasPreviousPage: Boolean(args.after), total: args.after ? undefined : 0 };
    pages.set(parentId, lazyCursors(page, cursorOf));
  }
  for (const row of rows) {
    const page = pages.get(String(row[parentColumn]))!;
    if (!args.after) page.total = Number(row._total);
    if (page.nodes.length === size) {
      page.hasNextPage = true;
      continue;
    }
    page.nodes.push(toNode(row));
    if (toEmbedded) {
      const embeddedRow = row._embedded as Record<string, unknown> | null;
      (page.embedded ??= []).push(embeddedRow ? toEmbedded(embeddedRow) : null);
    }
  }
  return pages;
}

/** Number of children per parent, in one grouped statement. */
export async function countChildren(
  em: EntityManager,
  entity: new (...args: never[]) => object,
  parentProperty: string,
  parentIds: readonly string[],
): Promise<Map<string, number>> {
  const meta = em.getMetadata().get(entity.name);
  const parentColumn = meta.properties[parentProperty as never].fieldNames[0];
  if (parentIds.length === 0) return new Map();
  const scope = entityCondition(em, entity, 't');
  const rows = await sql<{ parent: string; count: string | number }>(
    em,
    `select t."${parentColumn}" as parent, count(*) as count from "${meta.tableName}" t` +
      ` where t."${parentColumn}" = any(?::text[])${scope.sql} group by t."${parentColumn}"`,
    [[...parentIds], ...scope.params],
  );
  return new Map(rows.map((row) => [row.parent, Number(row.count)]));
}
