import type { EntityManager } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/postgresql';

/** Hash a chain starts from (the trigger in the audit_hash_chain migration uses the same). */
export const GENESIS_HASH = '0'.repeat(64);
const BATCH = 1000;

export type ChainBreakReason = 'CONTENT_ALTERED' | 'LINK_BROKEN';

export interface ChainBreak {
  seq: string;
  id: string;
  reason: ChainBreakReason;
}

export interface ChainVerification {
  chainKey: string;
  eventsChecked: number;
  /** The first event whose content or link does not match; null when the range is intact. */
  firstBreak: ChainBreak | null;
  /** Hash and sequence of the last event checked: publish it elsewhere to anchor the chain. */
  headHash: string | null;
  headSeq: string | null;
  /** False when `maxEvents` stopped the check before the end of the range. */
  complete: boolean;
}

/** Chain of an environment's events, or of a workspace's workspace-level events. */
export const chainKeyOf = (scope: { environmentId: string | null; workspaceId: string }) =>
  scope.environmentId ?? `wks:${scope.workspaceId}`;

interface Row {
  seq: string;
  id: string;
  hash: string | null;
  prev_hash: string | null;
  computed: string;
}

function execute<T>(em: EntityManager, sql: string, params: unknown[]): Promise<T[]> {
  return (em as SqlEntityManager).execute<T[]>(sql, params);
}

/**
 * Recomputes every hash of a chain between two sequences (inclusive; open ends allowed) and
 * checks each link to its predecessor, including the link from the event just before the
 * range. Reads in batches, so a long chain costs constant memory.
 */
export async function verifyChain(
  em: EntityManager,
  chainKey: string,
  range: { fromSeq?: string | null; toSeq?: string | null } = {},
  maxEvents = Infinity,
): Promise<ChainVerification> {
  const result: ChainVerification = { chainKey, eventsChecked: 0, firstBreak: null, headHash: null, headSeq: null, complete: true };
  // The first event links to the event before the range, else to the retention checkpoint
  // (events pruned before it), else to the genesis hash.
  let expectedPrev: string = GENESIS_HASH;
  const [before] = range.fromSeq
    ? await execute<{ hash: string | null }>(
        em,
        'select "hash" from "audit_event" where "chain_key" = ? and "seq" < ? order by "seq" desc limit 1',
        [chainKey, range.fromSeq],
      )
    : [];
  if (before) {
    expectedPrev = before.hash ?? '';
  } else {
    const [checkpoint] = await execute<{ hash: string }>(em, 'select "hash" from "audit_checkpoint" where "chain_key" = ?', [chainKey]);
    if (checkpoint) expectedPrev = checkpoint.hash;
  }
  let after = range.fromSeq ? (BigInt(range.fromSeq) - 1n).toString() : '0';
  for (;;) {
    const rows = await execute<Row>(
      em,
      `select e."seq"::text as "seq", e."id", e."hash", e."prev_hash",
              encode(sha256(convert_to(audit_event_canonical(e), 'UTF8')), 'hex') as "computed"
         from "audit_event" e
        where e."chain_key" = ? and e."seq" > ?${range.toSeq ? ' and e."seq" <= ?' : ''}
        order by e."seq" limit ${Math.min(BATCH, maxEvents - result.eventsChecked)}`,
      range.toSeq ? [chainKey, after, range.toSeq] : [chainKey, after],
    );
    for (const row of rows) {
      result.eventsChecked += 1;
      if (row.prev_hash !== expectedPrev) {
        result.firstBreak = { seq: row.seq, id: row.id, reason: 'LINK_BROKEN' };
        return result;
      }
      if (row.hash !== row.computed) {
        result.firstBreak = { seq: row.seq, id: row.id, reason: 'CONTENT_ALTERED' };
        return result;
      }
      expectedPrev = row.hash;
      result.headHash = row.hash;
      result.headSeq = row.seq;
    }
    if (rows.length < BATCH && result.eventsChecked < maxEvents) return result;
    if (result.eventsChecked >= maxEvents) {
      // Stopped at the cap: complete only if nothing follows in the range.
      const [next] = await execute<{ seq: string }>(
        em,
        `select "seq"::text as "seq" from "audit_event" where "chain_key" = ? and "seq" > ?${range.toSeq ? ' and "seq" <= ?' : ''} limit 1`,
        range.toSeq ? [chainKey, result.headSeq, range.toSeq] : [chainKey, result.headSeq],
      );
      result.complete = !next;
      return result;
    }
    after = rows[rows.length - 1].seq;
  }
}

/** Every chain that has events, for the operator's full check. */
export async function listChains(em: EntityManager): Promise<string[]> {
  const rows = await execute<{ chain_key: string }>(
    em,
    'select distinct "chain_key" from "audit_event" where "chain_key" is not null order by "chain_key"',
    [],
  );
  return rows.map((row) => row.chain_key);
}

/** The sequence range of a chain's events that occurred in [from, to). */
export async function seqRangeOf(
  em: EntityManager,
  chainKey: string,
  from: Date | null | undefined,
  to: Date | null | undefined,
): Promise<{ fromSeq: string | null; toSeq: string | null; empty: boolean }> {
  const [row] = await execute<{ min: string | null; max: string | null }>(
    em,
    `select min("seq")::text as "min", max("seq")::text as "max" from "audit_event"
      where "chain_key" = ?${from ? ' and "occurred_at" >= ?' : ''}${to ? ' and "occurred_at" < ?' : ''}`,
    [chainKey, ...(from ? [from] : []), ...(to ? [to] : [])],
  );
  return { fromSeq: row?.min ?? null, toSeq: row?.max ?? null, empty: !row?.min };
}
