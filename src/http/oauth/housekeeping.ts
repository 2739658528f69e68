import type { EntityManager, MikroORM } from '@mikro-orm/core';
import type { Logger } from 'pino';
import { systemFork } from '../../db/tenant-scope.js';
import { pruneExpiredTokenState } from '../../modules/token-state/token-state.repository.js';

/**
 * Forgets revoked token ids and used assertion ids of every environment once what they guard
 * has expired (see pruneExpiredTokenState). A system job: it runs on a systemFork of its own.
 * Returns how many rows went.
 */
export function pruneTokenState(source: MikroORM | EntityManager, now = new Date()): Promise<number> {
  return pruneExpiredTokenState(systemFork(source, 'housekeeping: expired token state of every environment'), now);
}

/** Runs `pruneTokenState` every `intervalMs` (any process may; deletes are idempotent). */
export function startTokenStateJob(em: EntityManager, intervalMs: number, logger: Logger): () => Promise<void> {
  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = pruneTokenState(em)
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
