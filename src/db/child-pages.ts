import type { EntityManager } from '@mikro-orm/core';
import { decodeCursor, encodeCursor, pageWindow, type Page } from './pagination.js';
import { rowMapper } from './rows.js';

export interface ChildPageArgs {
  first?: number | null;
  after?: string | null;
}

/**
 * The first page of children for many parents in one statement (a window function per parent),
 * ordered by (created_at, id), as plain read-only rows. This is what lets `organizations { memberships { … } }` cost a
 * constant number of queries however many organizations are listed.
 */
export async function loadChildPages<T extends { id: string; createdAt: Date }>(
  em: EntityManager,
  entity: new (...args: never[]) => T,
  parentProperty: string,
  parentIds: readonly string[],
  args: ChildPageArgs,
  maxPageSize: number,
): Promise<Map<string, Omit<Page<T>, 'totalCount'>>> {
  const { size } = pageWindow({ first: args.first }, maxPageSize);
  const meta = em.getMetadata().get(entity.name);
  const parentColumn = meta.properties[parentProperty as keyof T & string].fieldNames[0];
  const params: unknown[] = [...parentIds];
  let keyset = '';
  if (args.after) {
    // Child cursors are those of a `createdAt` ordering, checked like any other.
    const { value, id } = decodeCursor(args.after, 'after', 'createdAt', 'date');
    keyset = ' and (t."created_at", t."id") > (?, ?)';
    params.push(value, id);
  }
  params.push(size + 1);
  const rows =
    parentIds.length === 0
      ? []
      : await em.getConnection().execute<Record<string, unknown>[]>(
          `select * from (select t.*, row_number() over (partition by t."${parentColumn}" order by t."created_at", t."id") as "_rn"` +
            ` from "${meta.tableName}" t where t."${parentColumn}" in (${parentIds.map(() => '?').join(', ')})${keyset}) s` +
            ` where s."_rn" <= ? order by s."_rn"`,
          params,
        );

  const toNode = rowMapper(em, entity);
  const pages = new Map<string, Omit<Page<T>, 'totalCount'>>();
  for (const parentId of parentIds) {
    pages.set(parentId, { nodes: [], cursors: [], hasNextPage: false, hasPreviousPage: Boolean(args.after) });
  }
  for (const row of rows) {
    const page = pages.get(String(row[parentColumn]))!;
    if (page.nodes.length === size) {
      page.hasNextPage = true;
      continue;
    }
    const node = toNode(row);
    page.nodes.push(node);
    page.cursors.push(encodeCursor('createdAt', node.createdAt.toISOString(), node.id));
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
  const rows = await em.getConnection().execute<{ parent: string; count: string | number }[]>(
    `select "${parentColumn}" as parent, count(*) as count from "${meta.tableName}"` +
      ` where "${parentColumn}" in (${parentIds.map(() => '?').join(', ')}) group by "${parentColumn}"`,
    [...parentIds],
  );
  return new Map(rows.map((row: { parent: string; count: string | number }) => [row.parent, Number(row.count)]));
}
