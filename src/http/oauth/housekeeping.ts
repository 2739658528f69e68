import type { EntityManager, MikroORM } from '@mikro-orm/core';
import type { Logger } from 'pino';
import { systemFork } from '../../db/tenant-scope.js';
import { SignInChallengeRepository } from '../../modules/sign-in/challenge.repository.js';
import { pruneExpiredTokenState } from '../../modules/token-state/token-state.repository.js';

/**
 * Forgets revoked token ids and used assertion ids of every environment once what they guard
 * has expired (see pruneExpiredTokenState). A system job: it runs on a systemFork of its own.
 * Returns how many rows went.
 */
export function pruneTokenState(source: MikroORM | EntityManager, now = new Date()): Promise<number> {
  return pruneExpiredTokenState(systemFork(source, 'housekeeping: expired token state of every environment'), now);
}

/** How long an expired sign-in challenge is kept (its rows still count towards the per-address limits until then). */
export const EXPIRED_CHALLENGE_KEEP_MS = 24 * 60 * 60 * 1000;

/** Forgets sign-in challenges of every environment that expired over a day ago: they can only be refused. */
export function pruneSignInChallenges(source: MikroORM | EntityManager, now = new Date()): Promise<number> {
  const em = systemFork(source, 'housekeeping: expired sign-in challenges of every environment');
  return new SignInChallengeRepository(em).deleteExpired(new Date(now.getTime() - EXPIRED_CHALLENGE_KEEP_MS));
}

/** Runs `pruneTokenState` and `pruneSignInChallenges` every `intervalMs` (any process may; deletes are idempotent). */
export function startTokenStateJob(em: EntityManager, intervalMs: number, logger: Logger): () => Promise<void> {
  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = Promise.all([pruneTokenState(em), pruneSignInChallenges(em)])
      .then(([pruned, challenges]) => (pruned || challenges) && logger.info({ pruned, challenges }, 'pruned expired token state and sign-in challenges'))
      .catch((error: unknown) => logger.error({ err: error }, 'token state pruning failed'))
      .finally(() => (running = undefined));
  }, intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
