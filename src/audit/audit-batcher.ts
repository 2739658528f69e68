import type { MikroORM } from '@mikro-orm/core';
import type { Logger } from 'pino';
import { MicroBatcher, type MicroBatchOptions } from '../db/micro-batch.js';
import { rawQuery } from '../db/raw.js';
import { AnonymousFailureBudget } from './anonymous-failure-budget.js';
import { auditEventData, type AuditActor, type AuditInput } from './audit-recorder.js';

type AuditRow = ReturnType<typeof auditEventData>;

/** The columns an appended event supplies; the chain trigger fills seq, chain_key, prev_hash and hash. */
const COLUMNS: [string, (row: AuditRow) => unknown][] = [
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
const ROW_PLACEHOLDERS = `(${COLUMNS.map(() => '?').join(', ')})`;

/** The chain an event joins, as the audit_event_chain_key() SQL function computes it. */
const chainKeyOf = (row: AuditRow) => row.environmentId ?? (row.workspaceId ? `wks:${row.workspaceId}` : 'global');

async function insertEvents(orm: MikroORM, unordered: AuditRow[]): Promise<void> {
  // The trigger takes each chain's lock as it reaches its first row. Taking them in one global
  // order (sorted by chain, stable within a chain) means two concurrent batches, of this process
  // or another, can never wait on each other in a cycle.
  const rows = [...unordered].sort((a, b) => (chainKeyOf(a) < chainKeyOf(b) ? -1 : chainKeyOf(a) > chainKeyOf(b) ? 1 : 0));
  const sql = `insert into audit_event (${COLUMNS.map(([column]) => column).join(', ')}) values ${rows.map(() => ROW_PLACEHOLDERS).join(', ')}`;
  await rawQuery(orm.em, sql, rows.flatMap((row) => COLUMNS.map(([, value]) => value(row))));
}

export interface AuditBatcherOptions extends MicroBatchOptions {
  /** Anonymous failures audited one by one per environment per minute (see AnonymousFailureBudget). @default 120 */
  anonymousFailuresPerMinute?: number;
  /** Told when a summary of suppressed failures could not be written. */
  logger?: Pick<Logger, 'error'>;
}

/**
 * Group commit for audit events on hot paths (token issuance): callers enqueue an event and
 * wait; the batcher writes everything queued in one multi-row INSERT, which commits on its own,
 * then releases them. A request is answered only once its event is durable, yet a thousand
 * issuances cost a handful of statements. The chain trigger hashes the rows in order under each
 * chain's lock, so batches from several processes interleave without forking a chain.
 */
export class AuditBatcher {
  private readonly batcher: MicroBatcher<AuditRow, void>;
  private readonly anonymousFailures: AnonymousFailureBudget;

  constructor(orm: MikroORM, { anonymousFailuresPerMinute = 120, logger, ...options }: AuditBatcherOptions = {}) {
    this.batcher = new MicroBatcher<AuditRow, void>(
      async (rows) => {
        await insertEvents(orm, rows);
        return rows.map(() => undefined);
      },
      // One write at a time (the default): batches of one chain would only queue on its lock in
      // the database, and larger batches cost it less per event (measured with bench/token).
      options,
    );
    this.anonymousFailures = new AnonymousFailureBudget((actor, input) => this.append(actor, input), {
      perWindow: anonymousFailuresPerMinute,
      onError: (error) => logger?.error({ err: error }, 'could not audit the suppressed failures'),
    });
  }

  /** Resolves once the event is committed; rejects when it could not be written. */
  append(actor: AuditActor, input: AuditInput): Promise<void> {
    return this.batcher.add(auditEventData(actor, input));
  }

  /**
   * An unauthenticated caller's failed authentication in an environment: appended like any
   * event while the environment's budget lasts, then only counted into a summary event.
   */
  appendAnonymousFailure(actor: AuditActor, input: AuditInput): Promise<void> {
    return this.anonymousFailures.record(actor, input);
  }

  /** Writes what is pending, summaries of suppressed failures included, and stops. */
  async close(): Promise<void> {
    await this.anonymousFailures.close();
    await this.batcher.close();
  }
}
