import type { EntityManager } from '@mikro-orm/core';
import type { Logger } from 'pino';
import { Environment } from '../modules/environment/environment.entity.js';
import { recordAudit } from './audit-recorder.js';
import { AuditRetentionRepository } from './audit.repository.js';
import { systemFork } from '../db/tenant-scope.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface PruneResult {
  chainKey: string;
  eventsPruned: number;
}

/** Events removed per transaction, so appends to the chain wait for one batch at most. */
const PRUNE_BATCH = 5000;

/**
 * Removes a chain's events that occurred before `cutoff`, as a contiguous prefix of the chain,
 * in batches: each batch holds the chain's append lock, deletes, and moves the chain's
 * checkpoint to its last removed event, so the next event still links to a known hash. Events
 * with webhook deliveries still pending (and all after them) stay. Records the pruning as an
 * `audit.pruned` event at the head of the chain.
 */
export async function pruneChain(em: EntityManager, scope: { workspaceId: string; environmentId: string }, cutoff: Date): Promise<PruneResult> {
  const chainKey = scope.environmentId;
  let eventsPruned = 0;
  let checkpoint: { seq: string; hash: string } | undefined;
  for (;;) {
    const batch = await systemFork(em, 'audit retention').transactional(async (tx) => {
      const retention = new AuditRetentionRepository(tx);
      await retention.lockChain(chainKey);
      const last = await retention.lastPrunable(chainKey, scope.environmentId, cutoff, PRUNE_BATCH);
      if (!last) return null;
      const count = await retention.deleteThrough(chainKey, last.seq);
      await retention.moveCheckpoint({ chainKey, seq: last.seq, hash: last.hash, prunedBefore: cutoff, eventsPruned: count });
      return { count, last };
    });
    if (!batch) break;
    eventsPruned += batch.count;
    checkpoint = batch.last;
  }
  if (checkpoint) {
    const reached = checkpoint;
    await systemFork(em, 'audit retention').transactional(async (tx) => {
      recordAudit(tx, { principal: null, meta: { requestId: 'retention', ip: null, userAgent: 'gatehouse-retention' } }, {
        action: 'audit.pruned',
        workspaceId: scope.workspaceId,
        environmentId: scope.environmentId,
        targets: [{ type: 'environment', id: scope.environmentId }],
        after: { prunedBefore: cutoff.toISOString(), eventsPruned, checkpointSequence: reached.seq, checkpointDigest: reached.hash },
      });
    });
  }
  return { chainKey, eventsPruned };
}

/** Applies every environment's retention once. Safe to run in several processes at once. */
export async function applyRetention(em: EntityManager, now = new Date()): Promise<PruneResult[]> {
  const environments = await systemFork(em, 'audit retention: every environment with a retention period').find(Environment, { auditRetentionDays: { $ne: null } });
  const results: PruneResult[] = [];
  for (const environment of environments) {
    const cutoff = new Date(now.getTime() - environment.auditRetentionDays! * DAY_MS);
    results.push(await pruneChain(em, { workspaceId: environment.workspaceId, environmentId: environment.id }, cutoff));
  }
  return results;
}

/** Runs `applyRetention` every `intervalMs` (unref'd); returns the stop function. */
export function startRetentionJob(em: EntityManager, intervalMs: number, logger: Logger): () => Promise<void> {
  let running: Promise<unknown> | undefined;
  const tick = () => {
    if (running) return;
    running = applyRetention(em)
      .then((results) => {
        const pruned = results.filter((r) => r.eventsPruned > 0);
        if (pruned.length) logger.info({ pruned }, 'audit retention applied');
      })
      .catch((error: unknown) => logger.error({ err: error }, 'audit retention failed'))
      .finally(() => (running = undefined));
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  tick();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
