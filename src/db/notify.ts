import type { EntityManager } from '@mikro-orm/core';
import type { EntityManager as SqlEntityManager } from '@mikro-orm/postgresql';

/**
 * NOTIFY `channel` with `payload` when the caller's transaction commits (never if it rolls
 * back): every process LISTENing on the database hears it, on PGlite this process. `em` must be
 * the transaction's entity manager.
 */
export async function notifyOnCommit(em: EntityManager, channel: string, payload: string): Promise<void> {
  await (em as SqlEntityManager).execute('select pg_notify(?, ?)', [channel, payload]);
}
