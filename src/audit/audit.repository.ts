import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/postgresql';
import { paginate, type PageArgs, type SortDirection } from '../db/pagination.js';
import { Repository } from '../db/repository.js';
import { rowMapper } from '../db/rows.js';
import { sql, tableOf } from '../db/sql.js';
import { scopeOf, TenantScopeViolation } from '../db/tenant-scope.js';
import { WebhookDelivery } from '../modules/webhook/webhook.entity.js';
import { AuditCheckpoint } from './audit-checkpoint.entity.js';
import { AuditEvent } from './audit-event.entity.js';
import type { auditEventData } from './audit-recorder.js';
import { chainKeyOf } from './chain-key.js';

/** An event as the recorder makes it, before the database fills its chain columns. */
export type AuditRow = ReturnType<typeof auditEventData>;

/** The columns an appended event supplies; the chain trigger fills seq, chain_key, prev_hash and hash. */
const APPEND_COLUMNS: [string, (row: AuditRow) => unknown][] = [
  ['id', (row) => row.id],
  ['workspace_id', (row) => row.workspaceId],
  ['environment_id', (row) => row.environmentId],
  ['organization_id', (row) => row.organizationId],
  ['action', (row) => row.action],
  ['actor_type', (row) => row.actorType],
  ['actor_id', (row) => row.actorId],
  ['actor_name', (row) => row.actorName],
  ['targets', (row) => JSON.stringify(row.targets)],
  ['target_ids', (row) => row.targetIds],
  ['before', (row) => (row.before ? JSON.stringify(row.before) : null)],
  ['after', (row) => (row.after ? JSON.stringify(row.after) : null)],
  ['ip', (row) => row.ip],
  ['user_agent', (row) => row.userAgent],
  ['request_id', (row) => row.requestId],
  ['occurred_at', (row) => row.occurredAt],
];
// The append is an INSERT that is its whole transaction: it asks the chain trigger to link its
// rows at once (see migrations/sql/audit_event_chain.4.sql) instead of at commit, which would
// cost an UPDATE per row for no shorter hold of the chain's lock.
const APPEND_PLACEHOLDERS = `(${APPEND_COLUMNS.map(() => '?').join(', ')}, 'link-at-insert')`;

/** The advisory lock that serialises appends to a chain (the `audit_event_chain()` trigger takes the same). */
const chainLockKey = (chainKey: string) => `gatehouse.audit:${chainKey}`;

/** One event of a chain re-hashed by the database, for verification. */
export interface RehashedEvent {
  seq: string;
  id: string;
  hash: string | null;
  prev_hash: string | null;
  computed: string;
}

/**
 * The audit trail's persistence: reads for the API (list, stream, export, verification), the
 * shared live tail, and the hot-path append. Audit events are workspace data: through a tenant
 * EntityManager the ORM's filter keeps reads to the caller's workspace, raw reads of the whole
 * trail name the workspace, and reads of one chain refuse a chain outside the scope (a chain is
 * an environment the scope reaches, or the workspace's own `wks:` chain).
 */
export class AuditEventRepository extends Repository<AuditEvent> {
  constructor(em: EntityManager) {
    super(em, AuditEvent, 'audit_event');
  }

  private get table(): string {
    return tableOf(this.em, AuditEvent);
  }

  /** The workspace raw SQL must stay in, or null for system work. */
  private workspace(): string | null {
    const scope = scopeOf(this.em);
    return scope.kind === 'system' ? null : scope.workspaceId;
  }

  /** `chainKey`, once checked to be a chain the scope reaches. */
  private chain(chainKey: string): string {
    const scope = scopeOf(this.em);
    if (scope.kind === 'system') return chainKey;
    if (scope.environmentIds.includes(chainKey) || chainKey === chainKeyOf({ environmentId: null, workspaceId: scope.workspaceId })) return chainKey;
    throw new TenantScopeViolation(`Refused to read audit chain ${chainKey} outside the caller's tenant scope`);
  }

  private mapper() {
    return rowMapper(this.em, AuditEvent);
  }

  /** A page of events matching `where`, by sequence (the `auditEvents` list). */
  list(where: FilterQuery<AuditEvent>, direction: SortDirection, args: PageArgs, maxPageSize: number) {
    return paginate(this.em, AuditEvent, where, { field: 'seq', direction }, args, maxPageSize);
  }

  /**
   * Events matching `where` with `after < seq <= upTo`, oldest first, at most `limit`, as plain
   * objects (no identity map): the batches of an export and of a stream's replay.
   */
  /** The events one request recorded in an environment since `since` (a provisioning simulation's step), oldest first; at most `limit`. */
  ofRequest(environmentId: string, requestId: string, since: Date, limit: number): Promise<AuditEvent[]> {
    return this.em.find(AuditEvent, { environmentId, requestId, occurredAt: { $gte: since } }, { orderBy: { seq: 'ASC' }, limit });
  }

  async scan(where: FilterQuery<AuditEvent>, range: { after: string; upTo: string }, limit: number): Promise<AuditEvent[]> {
    const qb = (this.em as SqlEntityManager)
      .createQueryBuilder(AuditEvent, 'e')
      .select('*')
      .where({ $and: [where, { seq: { $gt: range.after, $lte: range.upTo } }] })
      .orderBy({ seq: 'ASC' })
      .limit(limit);
    // A query builder skips the ORM's filters unless told: the tenant scope is applied here.
    await qb.applyFilters();
    const rows = await qb.execute<Record<string, unknown>[]>('all', false);
    const toEvent = this.mapper();
    return rows.map((row) => toEvent(row));
  }

  /** The newest sequence the scope reads ('0' when there is none): where an export stops. */
  async head(): Promise<string> {
    const workspace = this.workspace();
    const [row] = await sql<{ head: string | null }>(
      this.em,
      `select max("seq")::text as "head" from "${this.table}"${workspace ? ' where "workspace_id" = ?' : ''}`,
      workspace ? [workspace] : [],
    );
    return row?.head ?? '0';
  }

  /** One event as a plain object (no identity map), or undefined (never written, or pruned). */
  async read(id: string): Promise<AuditEvent | undefined> {
    const workspace = this.workspace();
    const [row] = await sql(this.em, `select * from "${this.table}" where "id" = ?${workspace ? ' and "workspace_id" = ?' : ''}`, workspace ? [id, workspace] : [id]);
    return row ? this.mapper()(row) : undefined;
  }

  /** The newest sequence of a chain, or null when it has no event. */
  async chainHead(chainKey: string): Promise<string | null> {
    const [row] = await sql<{ head: string | null }>(this.em, `select max("seq")::text as "head" from "${this.table}" where "chain_key" = ?`, [this.chain(chainKey)]);
    return row?.head ?? null;
  }

  /**
   * Events of one chain with `after < seq` (and `seq <= upTo` when given), oldest first, at
   * most `limit`, as plain objects: the live tail's reads, and a subscriber catching up to it.
   */
  async chainEvents(chainKey: string, range: { after: bigint | string; upTo?: bigint | string | null; limit: number }): Promise<AuditEvent[]> {
    const bounded = range.upTo != null;
    const rows = await sql(
      this.em,
      `select * from "${this.table}" where "chain_key" = ? and "seq" > ?${bounded ? ' and "seq" <= ?' : ''} order by "seq" limit ${Number(range.limit)}`,
      bounded ? [this.chain(chainKey), range.after.toString(), range.upTo!.toString()] : [this.chain(chainKey), range.after.toString()],
    );
    const toEvent = this.mapper();
    return rows.map((row) => toEvent(row));
  }

  /** The hash of the chain's last event before `seq`, if any (null when that event has none). */
  async hashBefore(chainKey: string, seq: string): Promise<{ hash: string | null } | undefined> {
    const [row] = await sql<{ hash: string | null }>(
      this.em,
      `select "hash" from "${this.table}" where "chain_key" = ? and "seq" < ? order by "seq" desc limit 1`,
      [this.chain(chainKey), seq],
    );
    return row;
  }

  /** The hash of the chain's retention checkpoint (its last pruned event), if it was ever pruned. */
  async checkpointHash(chainKey: string): Promise<string | undefined> {
    const [row] = await sql<{ hash: string }>(this.em, `select "hash" from "${tableOf(this.em, AuditCheckpoint)}" where "chain_key" = ?`, [this.chain(chainKey)]);
    return row?.hash;
  }

  /**
   * The chain's events with `after < seq <= toSeq` (no upper bound when null), oldest first, at
   * most `limit`, each with the hash the database computes from its content now.
   */
  rehash(chainKey: string, range: { after: string; toSeq: string | null }, limit: number): Promise<RehashedEvent[]> {
    return sql<RehashedEvent>(
      this.em,
      `select e."seq"::text as "seq", e."id", e."hash", e."prev_hash",
              encode(sha256(convert_to(audit_event_canonical(e), 'UTF8')), 'hex') as "computed"
         from "${this.table}" e
        where e."chain_key" = ? and e."seq" > ?${range.toSeq ? ' and e."seq" <= ?' : ''}
        order by e."seq" limit ${Number(limit)}`,
      range.toSeq ? [this.chain(chainKey), range.after, range.toSeq] : [this.chain(chainKey), range.after],
    );
  }

  /** Whether the chain has an event with `after < seq <= toSeq` (no upper bound when null). */
  async hasEventAfter(chainKey: string, after: string, toSeq: string | null): Promise<boolean> {
    const rows = await sql(
      this.em,
      `select "seq"::text as "seq" from "${this.table}" where "chain_key" = ? and "seq" > ?${toSeq ? ' and "seq" <= ?' : ''} limit 1`,
      toSeq ? [this.chain(chainKey), after, toSeq] : [this.chain(chainKey), after],
    );
    return rows.length > 0;
  }

  /** Every chain with events the scope reads. */
  async chains(): Promise<string[]> {
    const workspace = this.workspace();
    const rows = await sql<{ chain_key: string }>(
      this.em,
      `select distinct "chain_key" from "${this.table}" where "chain_key" is not null${workspace ? ' and "workspace_id" = ?' : ''} order by "chain_key"`,
      workspace ? [workspace] : [],
    );
    return rows.map((row) => row.chain_key);
  }

  /** The sequence range of a chain's events that occurred in [from, to). */
  async seqRange(chainKey: string, from: Date | null | undefined, to: Date | null | undefined): Promise<{ min: string | null; max: string | null }> {
    const [row] = await sql<{ min: string | null; max: string | null }>(
      this.em,
      `select min("seq")::text as "min", max("seq")::text as "max" from "${this.table}"
      where "chain_key" = ?${from ? ' and "occurred_at" >= ?' : ''}${to ? ' and "occurred_at" < ?' : ''}`,
      [this.chain(chainKey), ...(from ? [from] : []), ...(to ? [to] : [])],
    );
    return { min: row?.min ?? null, max: row?.max ?? null };
  }

  /**
   * Appends events in one multi-row INSERT that commits on its own (the hot-path batcher): call it
   * outside a transaction, since its rows are linked to their chains at insert, under each chain's
   * lock until commit. The chain trigger takes each chain's lock as it reaches the chain's first row: rows are sorted
   * by chain (stably), so two concurrent appends, of this process or another, always take the
   * locks in one global order and never wait on each other in a cycle.
   */
  async append(unordered: readonly AuditRow[]): Promise<void> {
    if (!unordered.length) return;
    const workspace = this.workspace();
    const outside = workspace === null ? undefined : unordered.find((row) => row.workspaceId !== workspace);
    if (outside) throw new TenantScopeViolation(`Refused to append an audit event of workspace ${String(outside.workspaceId)} outside the caller's tenant scope`);
    const rows = [...unordered].sort((a, b) => (chainKeyOf(a) < chainKeyOf(b) ? -1 : chainKeyOf(a) > chainKeyOf(b) ? 1 : 0));
    await sql(
      this.em,
      `insert into "${this.table}" (${APPEND_COLUMNS.map(([column]) => column).join(', ')}, hash) values ${rows.map(() => APPEND_PLACEHOLDERS).join(', ')}`,
      rows.flatMap((row) => APPEND_COLUMNS.map(([, value]) => value(row))),
    );
  }
}

/**
 * Retention's persistence: pruning a chain's oldest events and moving its checkpoint. It spans
 * tenants and bypasses the trail's append-only guard, so it is for system work only (a
 * `systemFork`), inside the transaction of one batch.
 */
export class AuditRetentionRepository {
  constructor(private readonly em: EntityManager) {
    if (scopeOf(em).kind !== 'system') throw new TenantScopeViolation('audit retention spans tenants: use a systemFork');
  }

  /** Holds the chain's append lock until the transaction ends: no event joins the chain meanwhile. */
  async lockChain(chainKey: string): Promise<void> {
    await sql(this.em, 'select pg_advisory_xact_lock(hashtextextended(?, 0))', [chainLockKey(chainKey)]);
  }

  /**
   * The last event of the next batch to prune (at most `batch` events): a contiguous prefix of
   * the chain that occurred before `cutoff` and stops before the first event with a webhook
   * delivery still pending. Undefined when nothing is prunable.
   */
  async lastPrunable(chainKey: string, environmentId: string, cutoff: Date, batch: number): Promise<{ seq: string; hash: string } | undefined> {
    const events = tableOf(this.em, AuditEvent);
    const eligible = `from "${events}" where "chain_key" = ? and "occurred_at" < ?
          and "seq" < coalesce((select min(e."seq") from "${events}" e join "${tableOf(this.em, WebhookDelivery)}" d on d."event_id" = e."id"
                                 where d."environment_id" = ? and d."status" = 'PENDING' and e."chain_key" = ?), 9223372036854775807)`;
    const params = [chainKey, cutoff, environmentId, chainKey];
    const [full] = await sql<{ seq: string; hash: string }>(this.em, `select "seq"::text as "seq", "hash" ${eligible} order by "seq" offset ${Number(batch) - 1} limit 1`, params);
    if (full) return full;
    const [last] = await sql<{ seq: string; hash: string }>(this.em, `select "seq"::text as "seq", "hash" ${eligible} order by "seq" desc limit 1`, params);
    return last;
  }

  /**
   * Deletes the chain's events up to `seq` (inclusive); returns how many went. Lifts the
   * append-only guard for the rest of the transaction.
   */
  async deleteThrough(chainKey: string, seq: string): Promise<number> {
    await sql(this.em, `set local gatehouse.audit_maintenance = 'on'`);
    const [{ count }] = await sql<{ count: string | number }>(
      this.em,
      `with removed as (delete from "${tableOf(this.em, AuditEvent)}" where "chain_key" = ? and "seq" <= ? returning 1) select count(*) as "count" from removed`,
      [chainKey, seq],
    );
    return Number(count);
  }

  /** Moves the chain's checkpoint to its last pruned event, adding to the count pruned so far. */
  async moveCheckpoint(input: { chainKey: string; seq: string; hash: string; prunedBefore: Date; eventsPruned: number }): Promise<void> {
    const table = tableOf(this.em, AuditCheckpoint);
    await sql(
      this.em,
      `insert into "${table}" ("chain_key", "seq", "hash", "pruned_before", "events_pruned", "updated_at")
         values (?, ?, ?, ?, ?, now())
         on conflict ("chain_key") do update set "seq" = excluded."seq", "hash" = excluded."hash", "pruned_before" = excluded."pruned_before",
           "events_pruned" = "${table}"."events_pruned" + excluded."events_pruned", "updated_at" = now()`,
      [input.chainKey, input.seq, input.hash, input.prunedBefore, input.eventsPruned],
    );
  }
}
