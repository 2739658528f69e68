import { Migration } from '@mikro-orm/migrations';
import { sqlFile } from './sql-file.js';

/**
 * One sequence number per audit event. The `seq` column's default (bigserial) draws a number,
 * then the chain trigger drew another under the chain's lock, so `sequence` advanced by 2 per
 * event. The trigger now keeps the default's number, and draws again (under the lock) only when
 * that number would break the rule the lock exists for, "within a chain, seq order is commit
 * order": when an event of the chain with a higher number (or the chain's checkpoint) committed
 * while this one waited for the lock, or when the number was never issued by the sequence (a
 * hand-written insert). Without concurrent appends to a chain its events are numbered
 * consecutively. The column keeps its default, so the schema stays what the entity declares.
 */
export class Migration20261201120000_audit_sequence_once extends Migration {
  override async up(): Promise<void> {
    this.addSql(sqlFile('audit_event_chain.3'));
  }

  override async down(): Promise<void> {
    // The previous version, as the audit_retention migration created it.
    this.addSql(sqlFile('audit_event_chain.2'));
  }
}
