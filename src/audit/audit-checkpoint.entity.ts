import { Entity, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * Where a pruned audit chain continues: the sequence and hash of the last event removed by
 * retention. The next remaining event links to this hash, so verification still works.
 */
@Entity({ tableName: 'audit_checkpoint' })
export class AuditCheckpoint {
  @PrimaryKey({ type: 'text' })
  chainKey!: string;

  @Property({ type: 'bigint' })
  seq!: string;

  @Property({ type: 'text' })
  hash!: string;

  /** Events that occurred before this time were pruned. */
  @Property({ type: 'datetime' })
  prunedBefore!: Date;

  /** Events pruned from this chain so far. */
  @Property({ type: 'bigint' })
  eventsPruned!: string;

  @Property({ type: 'datetime' })
  updatedAt!: Date;
}
