import { Migration } from '@mikro-orm/migrations';
import { sqlFile } from './sql-file.js';

/**
 * Live audit: after each insert statement, NOTIFY `gatehouse_audit` once per chain touched.
 * PostgreSQL delivers notifications only when the transaction commits (and drops them on
 * rollback), so listeners in any process learn of committed events only. The payload is just
 * the chain key: listeners read the events themselves, after their own cursor.
 */
export class Migration20261127012000_audit_notify extends Migration {
  override async up(): Promise<void> {
    this.addSql(sqlFile('audit_event_notify'));
    this.addSql(`create trigger audit_event_notify after insert on audit_event referencing new table as inserted
  for each statement execute function audit_event_notify();`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger if exists audit_event_notify on audit_event;`);
    this.addSql(`drop function if exists audit_event_notify();`);
  }
}
