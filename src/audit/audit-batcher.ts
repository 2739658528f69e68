import type { MikroORM } from '@mikro-orm/core';
import { MicroBatcher, type MicroBatchOptions } from '../db/micro-batch.js';
import { AuditEvent } from './audit-event.entity.js';
import { auditEventData, type AuditActor, type AuditInput } from './audit-recorder.js';

/**
 * Group commit for audit events on hot paths (token issuance): callers enqueue an event and
 * wait; the batcher writes everything queued in one multi-row INSERT, which commits on its own,
 * then releases them. A request is answered only once its event is durable, yet a thousand
 * issuances cost a handful of statements. The chain trigger hashes the rows in order under each
 * chain's lock, so batches from several processes interleave without forking a chain.
 */
export class AuditBatcher {
  private readonly batcher: MicroBatcher<ReturnType<typeof auditEventData>, void>;

  constructor(orm: MikroORM, options: MicroBatchOptions = {}) {
    this.batcher = new MicroBatcher<ReturnType<typeof auditEventData>, void>(async (rows) => {
      await orm.em.fork().insertMany(AuditEvent, rows);
      return rows.map(() => undefined);
    }, options);
  }

  /** Resolves once the event is committed; rejects when it could not be written. */
  append(actor: AuditActor, input: AuditInput): Promise<void> {
    return this.batcher.add(auditEventData(actor, input));
  }

  close(): Promise<void> {
    return this.batcher.close();
  }
}
