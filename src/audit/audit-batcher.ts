import type { MikroORM } from '@mikro-orm/core';
import type { Logger } from 'pino';
import { MicroBatcher, type MicroBatchOptions } from '../db/micro-batch.js';
import { systemFork } from '../db/tenant-scope.js';
import { AnonymousFailureBudget } from './anonymous-failure-budget.js';
import { auditEventData, type AuditActor, type AuditInput } from './audit-recorder.js';
import { AuditEventRepository, type AuditRow } from './audit.repository.js';

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
    // Raw SQL only, outside any transaction: the fork's identity map stays empty.
    const events = new AuditEventRepository(systemFork(orm, 'hot-path audit: one insert carries events of every environment'));
    this.batcher = new MicroBatcher<AuditRow, void>(
      async (rows) => {
        await events.append(rows);
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
