import type { FilterQuery } from '@mikro-orm/core';
import { requireScope } from '../auth/principal.js';
import type { PageArgs, SortDirection } from '../db/pagination.js';
import { AppError, invalid, notFound } from '../errors/app-error.js';
import { audit, environmentFor, inTransaction, type ServiceContext } from '../modules/service-context.js';
import { actionPatternCondition, compileActionPatterns } from './action-pattern.js';
import type { AuditBus } from './audit-bus.js';
import type { ChainTails } from './chain-tail.js';
import type { AuditEvent } from './audit-event.entity.js';
import { AuditEventRepository } from './audit.repository.js';
import { chainKeyOf, seqRangeOf, verifyChain, type ChainVerification } from './chain.js';

/** The grammar of action patterns lives in action-pattern.ts; re-exported for existing callers. */
export { checkActionPatterns } from './action-pattern.js';

export interface AuditEventFilter {
  /** Exact actions, or prefixes written `organization.*`. */
  actions?: string[] | null;
  actorId?: string | null;
  targetId?: string | null;
  organizationId?: string | null;
  occurredAfter?: Date | null;
  occurredBefore?: Date | null;
}

/**
 * Events the caller may read: of one environment, or for a workspace-wide key without an
 * environment argument, the whole workspace (including workspace-level events).
 */
function scopeOf(ctx: ServiceContext, environmentId: string | null | undefined): FilterQuery<AuditEvent> {
  if (environmentId || ctx.principal.environmentId) {
    return { workspaceId: ctx.principal.workspaceId, environmentId: environmentFor(ctx, environmentId) };
  }
  return { workspaceId: ctx.principal.workspaceId };
}

/** Conditions of an audit filter, shared by the list and the live stream. */
function filterConditions(filter: AuditEventFilter | null | undefined): FilterQuery<AuditEvent>[] {
  const where: FilterQuery<AuditEvent>[] = [];
  if (!filter) return where;
  if (filter.actions?.length) where.push(actionPatternCondition<AuditEvent>(filter.actions, ['filter', 'actions']));
  if (filter.actorId) where.push({ actorId: filter.actorId });
  if (filter.targetId) where.push({ targetIds: { $overlap: [filter.targetId] } });
  if (filter.organizationId) where.push({ organizationId: filter.organizationId });
  if (filter.occurredAfter) where.push({ occurredAt: { $gte: filter.occurredAfter } });
  if (filter.occurredBefore) where.push({ occurredAt: { $lt: filter.occurredBefore } });
  return where;
}

export async function listAuditEvents(
  ctx: ServiceContext,
  query: { environmentId?: string | null; filter?: AuditEventFilter | null; direction: SortDirection },
  args: PageArgs,
  maxPageSize: number,
) {
  requireScope(ctx.principal, 'audit:read');
  const where = [scopeOf(ctx, query.environmentId), ...filterConditions(query.filter)];
  return new AuditEventRepository(ctx.em).list({ $and: where }, query.direction, args, maxPageSize);
}

export async function getAuditEvent(ctx: ServiceContext, id: string): Promise<AuditEvent> {
  requireScope(ctx.principal, 'audit:read');
  const event = await new AuditEventRepository(ctx.em).find(id);
  const visible =
    event && (ctx.principal.environmentId === null || event.environmentId === ctx.principal.environmentId);
  if (!event || !visible) throw notFound('audit_event', id);
  return event;
}

/**
 * Verifies the hash chain of an environment's events (or, for a workspace-wide key without an
 * environment, of the workspace-level events), optionally only those that occurred in [from, to).
 */
/** How much re-hashing a caller may ask for: calls per key per minute, events per call. */
export interface ChainVerificationLimits {
  budget: { take(key: string): Promise<number> };
  maxEvents: number;
}

export async function verifyAuditChain(
  ctx: ServiceContext,
  query: { environmentId?: string | null; from?: Date | null; to?: Date | null; afterSequence?: string | null },
  limits: ChainVerificationLimits,
): Promise<ChainVerification> {
  requireScope(ctx.principal, 'audit:read');
  if (query.afterSequence != null && !SEQUENCE.test(query.afterSequence)) {
    throw invalid('audit.invalid_sequence', 'afterSequence must be an event sequence number', ['afterSequence']);
  }
  const chainKey = chainOf(ctx, query.environmentId);
  // Re-hashing is real work for the database: a key gets a few checks a minute, not a loop.
  const retryAfter = await limits.budget.take(ctx.principal.apiKeyId);
  if (retryAfter > 0) {
    throw new AppError('RATE_LIMITED', 'audit.verification_rate_limited', 'Too many chain verifications; try again later', {
      detail: { retryAfter },
    });
  }
  const range = query.from || query.to ? await seqRangeOf(ctx.em, chainKey, query.from, query.to) : { fromSeq: null, toSeq: null, empty: false };
  const empty = { chainKey, eventsChecked: 0, firstBreak: null, headHash: null, headSeq: null, complete: true };
  if (range.empty) return empty;
  let fromSeq = range.fromSeq;
  if (query.afterSequence != null) {
    const next = (BigInt(query.afterSequence) + 1n).toString();
    if (!fromSeq || BigInt(next) > BigInt(fromSeq)) fromSeq = next;
    if (range.toSeq && BigInt(fromSeq) > BigInt(range.toSeq)) return empty;
  }
  return verifyChain(ctx.em, chainKey, { fromSeq, toSeq: range.toSeq }, limits.maxEvents);
}

/** The chain a stream or verification reads: the environment asked for or pinned, else the workspace's own. */
function chainOf(ctx: ServiceContext, environmentId: string | null | undefined): string {
  const environment = environmentId || ctx.principal.environmentId ? environmentFor(ctx, environmentId) : null;
  return chainKeyOf({ environmentId: environment, workspaceId: ctx.principal.workspaceId });
}

const STREAM_BATCH = 100;
const SEQUENCE = /^\d{1,19}$/;

export interface AuditStreamOptions {
  environmentId?: string | null;
  filter?: AuditEventFilter | null;
  /** Resume after this event sequence; without it the stream starts at the present. */
  after?: string | null;
  /** Ends the stream at once, even while it waits for the next commit. */
  signal?: AbortSignal;
}

/**
 * Every committed event of one chain after a cursor, matching a filter, in sequence order,
 * then live ones as they commit. Within a chain sequence order is commit order (the append
 * lock), so reading "after the last sequence seen" can neither skip nor repeat an event, during
 * the replay, at its end, or across reconnects. Live events come from the chain's shared
 * in-memory tail (one read per commit for all subscribers of the process); a replay, or a
 * consumer that fell behind the tail, reads the table in batches. A slow consumer holds one
 * event and falls behind instead of growing a buffer.
 */
export function openAuditStream(
  ctx: ServiceContext,
  streams: { bus: AuditBus; tails: ChainTails },
  options: AuditStreamOptions,
): AsyncGenerator<AuditEvent> {
  // Checked before the stream exists, so a refusal is an error response, not a broken stream.
  requireScope(ctx.principal, 'audit:read');
  if (options.after != null && !SEQUENCE.test(options.after)) {
    throw invalid('audit.invalid_cursor', '"after" must be the sequence of an audit event', ['after']);
  }
  const filter = options.filter ?? null;
  return streamChain(
    ctx,
    streams,
    chainOf(ctx, options.environmentId),
    filterConditions(filter),
    auditEventMatcher(filter),
    options.after ?? null,
    options.signal,
  );
}

/** Whether an event matches a filter: the in-memory twin of `filterConditions`, for events served from memory. */
export function auditEventMatcher(filter: AuditEventFilter | null): (event: AuditEvent) => boolean {
  if (!filter) return () => true;
  const matchesAction = compileActionPatterns(filter.actions ?? []);
  const after = filter.occurredAfter ? new Date(filter.occurredAfter).getTime() : null;
  const before = filter.occurredBefore ? new Date(filter.occurredBefore).getTime() : null;
  return (event) =>
    matchesAction(event.action) &&
    (!filter.actorId || event.actorId === filter.actorId) &&
    (!filter.targetId || (event.targetIds ?? []).includes(filter.targetId)) &&
    (!filter.organizationId || event.organizationId === filter.organizationId) &&
    (after === null || new Date(event.occurredAt).getTime() >= after) &&
    (before === null || new Date(event.occurredAt).getTime() < before);
}

async function* streamChain(
  ctx: ServiceContext,
  streams: { bus: AuditBus; tails: ChainTails },
  chainKey: string,
  conditions: FilterQuery<AuditEvent>[],
  matches: (event: AuditEvent) => boolean,
  after: string | null,
  signal?: AbortSignal,
): AsyncGenerator<AuditEvent> {
  const aborted = signal ? new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true })) : null;
  const tail = streams.tails.acquire(chainKey);
  const events = new AuditEventRepository(ctx.em);
  try {
    await tail.refresh();
    let cursor = after === null ? tail.head : BigInt(after);
    while (!streams.bus.isClosed && !signal?.aborted) {
      const armed = streams.bus.arm(chainKey);
      try {
        try {
          await tail.refresh();
        } catch {
          // The database is briefly unavailable: wait and retry instead of ending every stream.
          await new Promise((resolve) => setTimeout(resolve, 1000));
          continue;
        }
        if (cursor > tail.head) {
          throw invalid('audit.invalid_cursor', '"after" is past the newest event of this stream', ['after']);
        }
        if (cursor < tail.floor) {
          // Behind what memory holds (a replay, or a consumer that fell behind): read the table
          // up to the start of the in-memory run, in batches. The bound is taken before the read:
          // the tail may move on meanwhile, and the next pass starts from what was read.
          const floor = tail.floor;
          const batch = await events.scan({ $and: [{ chainKey }, ...conditions] }, { after: cursor.toString(), upTo: floor.toString() }, STREAM_BATCH);
          for (const event of batch) {
            yield event;
            cursor = BigInt(String(event.seq));
          }
          if (batch.length < STREAM_BATCH) cursor = floor;
          continue;
        }
        const fresh = tail.after(cursor);
        if (fresh.length === 0) {
          await (aborted ? Promise.race([armed.fired, aborted]) : armed.fired);
          continue;
        }
        for (const event of fresh) {
          if (matches(event)) yield event;
          cursor = BigInt(String(event.seq));
        }
      } finally {
        armed.dispose();
      }
    }
  } finally {
    streams.tails.release(tail);
  }
}

const EXPORT_BATCH = 1000;

/** The public shape of an event, as GraphQL returns it; one NDJSON line of an export. */
export function publicAuditEvent(event: AuditEvent) {
  return {
    id: event.id,
    sequence: String(event.seq),
    action: event.action,
    actor: { type: event.actorType, id: event.actorId, name: event.actorName },
    targets: event.targets,
    environmentId: event.environmentId,
    organizationId: event.organizationId,
    before: event.before,
    after: event.after,
    ip: event.ip,
    userAgent: event.userAgent,
    requestId: event.requestId,
    occurredAt: new Date(event.occurredAt).toISOString(),
    hash: event.hash ?? null,
    previousHash: event.prevHash ?? null,
  };
}

/**
 * Opens an export of the events the caller may read (same scope and filters as `auditEvents`),
 * oldest first. Checks run now; the returned generator then reads in keyset batches, so an
 * export of any size holds one batch in memory. The export itself is audited.
 */
export async function openAuditExport(
  ctx: ServiceContext,
  query: { environmentId?: string | null; filter?: AuditEventFilter | null },
): Promise<AsyncGenerator<AuditEvent>> {
  requireScope(ctx.principal, 'audit:read');
  const scope = scopeOf(ctx, query.environmentId);
  const conditions = filterConditions(query.filter);
  await inTransaction(ctx, async (em) => {
    audit(ctx, em, {
      action: 'audit.exported',
      environmentId: (scope as { environmentId?: string }).environmentId ?? null,
      targets: [{ type: 'audit_trail', id: (scope as { environmentId?: string }).environmentId ?? ctx.principal.workspaceId }],
      after: { filter: query.filter ?? null },
    });
  });
  const events = new AuditEventRepository(ctx.em);
  // Bounded by what exists now, so an export ends even while events keep being written.
  const upTo = await events.head();
  return (async function* () {
    let cursor = '0';
    for (;;) {
      const batch = await events.scan({ $and: [scope, ...conditions] }, { after: cursor, upTo }, EXPORT_BATCH);
      for (const event of batch) yield event;
      if (batch.length < EXPORT_BATCH) return;
      cursor = String(batch[batch.length - 1].seq);
    }
  })();
}
