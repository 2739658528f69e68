import type { EntityManager } from '@mikro-orm/core';
import type { EntityManager as SqlEntityManager } from '@mikro-orm/postgresql';

type Knexish = { raw(sql: string, bindings: readonly unknown[]): Promise<unknown> };

/**
 * The one way raw SQL runs, and only repositories and `db/` call it. Runs inside `em`'s
 * transaction when it has one (the ORM's `getConnection().execute` silently leaves it when its
 * last argument is forgotten), and sends parameters bound by the driver, never inlined into the
 * text: `?` placeholders; a JS array is one parameter (`= any(?::text[])`), so a batch of ids is
 * one short statement instead of kilobytes of quoted literals.
 *
 * Table and column names come from entity metadata (`tableOf`) or named constants, never from
 * input.
 */
export async function sql<T = Record<string, unknown>>(em: EntityManager, text: string, params: readonly unknown[] = []): Promise<T[]> {
  const knex = (em.getTransactionContext() as Knexish | undefined) ?? ((em as SqlEntityManager).getConnection().getKnex() as unknown as Knexish);
  // The ORM's onQuery hook sees every statement (the debug log; tests count statements with it).
  const onQuery = em.config.get('onQuery') as ((statement: string, params: readonly unknown[]) => string) | undefined;
  const result = (await knex.raw(onQuery ? onQuery(text, params) : text, params)) as { rows?: T[] } | T[];
  return Array.isArray(result) ? result : (result.rows ?? []);
}

/** Table name of an entity, from its metadata. */
export const tableOf = (em: EntityManager, entity: new (...args: never[]) => unknown): string => em.getMetadata().get(entity.name).tableName;

