import type { EntityManager } from '@mikro-orm/core';
import type { Logger } from 'pino';

const BATCH = 10_000;
const TABLES = ['revoked_token', 'used_assertion'] as const;

/**
 * Forgets revoked token ids and used assertion ids once what they guard has expired: the token
 * or assertion would be refused for its `exp` anyway. Deletes in batches so no statement holds
 * locks for long. Returns how many rows went.
 */
export async function pruneTokenState(em: EntityManager, now = new Date()): Promise<number> {
  let total = 0;
  for (const table of TABLES) {
    for (;;) {
      const deleted = (await em
        .getConnection()
        .execute(`delete from ${table} where ctid in (select ctid from ${table} where expires_at < ? limit ${BATCH}) returning 1`, [now])) as unknown[];
      total += deleted.length;
      if (deleted.length < BATCH) break;
    }
  }
  return total;
}

/** Runs `pruneTokenState` every `intervalMs` (any process may; deletes are idempotent). */
export function startTokenStateJob(em: EntityManager, intervalMs: number, logger: Logger): () => Promise<void> {
  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = pruneTokenState(em.fork())
      .then((pruned) => pruned && logger.info({ pruned }, 'pruned expired token state'))
      .catch((error: unknown) => logger.error({ err: error }, 'token state pruning failed'))
      .finally(() => (running = undefined));
  }, intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
