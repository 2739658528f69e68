import type { EntityManager } from '@mikro-orm/core';
import { AuditEventRepository } from './audit.repository.js';

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
export { chainKeyOf } from './chain-key.js';

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
  const events = new AuditEventRepository(em);
  const result: ChainVerification = { chainKey, eventsChecked: 0, firstBreak: null, headHash: null, headSeq: null, complete: true };
  // The first event links to the event before the range, else to the retention checkpoint
  // (events pruned before it), else to the genesis hash.
  let expectedPrev: string = GENESIS_HASH;
  const before = range.fromSeq ? await events.hashBefore(chainKey, range.fromSeq) : undefined;
  if (before) {
    expectedPrev = before.hash ?? '';
  } else {
    const checkpoint = await events.checkpointHash(chainKey);
    if (checkpoint !== undefined) expectedPrev = checkpoint;
  }
  const toSeq = range.toSeq || null;
  let after = range.fromSeq ? (BigInt(range.fromSeq) - 1n).toString() : '0';
  for (;;) {
    const rows = await events.rehash(chainKey, { after, toSeq }, Math.min(BATCH, maxEvents - result.eventsChecked));
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
      result.complete = !(await events.hasEventAfter(chainKey, result.headSeq!, toSeq));
      return result;
    }
    after = rows[rows.length - 1].seq;
  }
}

/** Every chain that has events, for the operator's full check. */
export function listChains(em: EntityManager): Promise<string[]> {
  return new AuditEventRepository(em).chains();
}

/** The sequence range of a chain's events that occurred in [from, to). */
export async function seqRangeOf(
  em: EntityManager,
  chainKey: string,
  from: Date | null | undefined,
  to: Date | null | undefined,
): Promise<{ fromSeq: string | null; toSeq: string | null; empty: boolean }> {
  const { min, max } = await new AuditEventRepository(em).seqRange(chainKey, from, to);
  return { fromSeq: min, toSeq: max, empty: !min };
}
