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

/**
 * Removes a chain's events that occurred before `cutoff`, as one contiguous prefix of the
 * chain, and moves its checkpoint to the last removed event, so the next event still links to
 * a known hash. Holds the chain's append lock, so no event is written meanwhile; records the
 * pruning itself as an `audit.pruned` event at the head of the chain.
 */
export async function pruneChain(em: EntityManager, scope: { workspaceId: string; environmentId: string }, cutoff: Date): Promise<PruneResult> {
  const chainKey = scope.environmentId;
  return em.fork().transactional(async (tx) => {
    await sql(tx, 'select pg_advisory_xact_lock(hashtextextended(?, 0))', [`gatehouse.audit:${chainKey}`]);
    // Events with deliveries still pending stay (and so does everything after them): their
    // webhooks may be retried for about a day and need the event.
    const [last] = await sql<{ seq: string; hash: string }>(
      tx,
      `select "seq"::text as "seq", "hash" from "audit_event"
        where "chain_key" = ? and "occurred_at" < ?
          and "seq" < coalesce((select min(e."seq") from "audit_event" e join "webhook_delivery" d on d."event_id" = e."id"
                                 where d."environment_id" = ? and d."status" = 'PENDING' and e."chain_key" = ?), 9223372036854775807)
        order by "seq" desc limit 1`,
      [chainKey, cutoff, scope.environmentId, chainKey],
    );
    if (!last) return { chainKey, eventsPruned: 0 };
    await sql(tx, `set local gatehouse.audit_maintenance = 'on'`);
    const [{ count }] = await sql<{ count: string | number }>(
      tx,
      'with removed as (delete from "audit_event" where "chain_key" = ? and "seq" <= ? returning 1) select count(*) as "count" from removed',
      [chainKey, last.seq],
    );
    const eventsPruned = Number(count);
    await sql(
      tx,
      `insert into "audit_checkpoint" ("chain_key", "seq", "hash", "pruned_before", "events_pruned", "updated_at")
       values (?, ?, ?, ?, ?, now())
       on conflict ("chain_key") do update set "seq" = excluded."seq", "hash" = excluded."hash", "pruned_before" = excluded."pruned_before",
         "events_pruned" = "audit_checkpoint"."events_pruned" + excluded."events_pruned", "updated_at" = now()`,
      [chainKey, last.seq, last.hash, cutoff, eventsPruned],
    );
    recordAudit(tx, { principal: null, meta: { requestId: 'retention', ip: null, userAgent: 'gatehouse-retention' } }, {
      action: 'audit.pruned',
      workspaceId: scope.workspaceId,
      environmentId: scope.environmentId,
      targets: [{ type: 'environment', id: scope.environmentId }],
      after: { prunedBefore: cutoff.toISOString(), eventsPruned, checkpointSequence: last.seq, checkpointDigest: last.hash },
    });
    return { chainKey, eventsPruned };
  });
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
