import type { EntityManager } from '@mikro-orm/core';
import type { EntityManager as SqlEntityManager } from '@mikro-orm/postgresql';

/**
 * A parameterised statement sent as is, with its parameters bound by the driver. For the hot
 * paths: the ORM's `execute` and `insertMany` inline every parameter into the SQL text first,
 * which for a batch of audit rows costs more CPU than the database spends storing them.
 */
export async function rawQuery<T = Record<string, unknown>>(em: EntityManager, sql: string, params: readonly unknown[]): Promise<T[]> {
  const result = (await (em as SqlEntityManager).getConnection().getKnex().raw(sql, params as never)) as { rows?: T[] } | T[];
  return Array.isArray(result) ? result : (result.rows ?? []);
}
