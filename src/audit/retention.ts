import type { EntityManager } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { Environment } from '../modules/environment/environment.entity.js';
import { recordAudit } from './audit-recorder.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface PruneResult {
  chainKey: string;
  eventsPruned: number;
}

function sql<T>(em: EntityManager, statement: string, params: unknown[] = []): Promise<T[]> {
  return (em as SqlEntityManager).execute<T[]>(statement, params);
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
    const batch = await em.fork().transactional(async (tx) => {
      await sql(tx, 'select pg_advisory_xact_lock(hashtextextended(?, 0))', [`gatehouse.audit:${chainKey}`]);
      const eligible = `from "audit_event" where "chain_key" = ? and "occurred_at" < ?
          and "seq" < coalesce((select min(e."seq") from "audit_event" e join "webhook_delivery" d on d."event_id" = e."id"
                                 where d."environment_id" = ? and d."status" = 'PENDING' and e."chain_key" = ?), 9223372036854775807)`;
      const params = [chainKey, cutoff, scope.environmentId, chainKey];
      const [last] =
        (await sql<{ seq: string; hash: string }>(tx, `select "seq"::text as "seq", "hash" ${eligible} order by "seq" offset ${PRUNE_BATCH - 1} limit 1`, params))
          .concat(await sql<{ seq: string; hash: string }>(tx, `select "seq"::text as "seq", "hash" ${eligible} order by "seq" desc limit 1`, params));
      if (!last) return null;
      await sql(tx, `set local gatehouse.audit_maintenance = 'on'`);
      const [{ count }] = await sql<{ count: string | number }>(
        tx,
        'with removed as (delete from "audit_event" where "chain_key" = ? and "seq" <= ? returning 1) select count(*) as "count" from removed',
        [chainKey, last.seq],
      );
      await sql(
        tx,
        `insert into "audit_checkpoint" ("chain_key", "seq", "hash", "pruned_before", "events_pruned", "updated_at")
         values (?, ?, ?, ?, ?, now())
         on conflict ("chain_key") do update set "seq" = excluded."seq", "hash" = excluded."hash", "pruned_before" = excluded."pruned_before",
           "events_pruned" = "audit_checkpoint"."events_pruned" + excluded."events_pruned", "updated_at" = now()`,
        [chainKey, last.seq, last.hash, cutoff, Number(count)],
      );
      return { count: Number(count), last };
    });
    if (!batch) break;
    eventsPruned += batch.count;
    checkpoint = batch.last;
  }
  if (checkpoint) {
    const reached = checkpoint;
    await em.fork().transactional(async (tx) => {
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
  const environments = await em.fork().find(Environment, { auditRetentionDays: { $ne: null } });
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
