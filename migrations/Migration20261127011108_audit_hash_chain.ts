import { Migration } from '@mikro-orm/migrations';
import { sqlFile } from './sql-file.js';

/**
 * Tamper evidence for the audit trail. Every event belongs to a chain (its environment,
 * `wks:<workspace id>` for workspace-level events, `global` for unattributed ones) and carries
 * `hash = sha256(canonical content including prev_hash)`. A trigger computes it on insert,
 * whatever inserts the row, after taking the chain's advisory lock until commit: appends to one
 * chain are serialised across processes, so the chain never forks and, within a chain, `seq`
 * order is commit order (a reader resuming after a `seq` never skips a later commit).
 * A second trigger refuses updates and deletes unless a maintenance job says otherwise.
 *
 * The canonical content is `audit_event_canonical(row)`: a JSON array of the fields, in
 * PostgreSQL's jsonb text form. Verification recomputes it the same way (src/audit/chain.ts).
 */
export class Migration20261127011108_audit_hash_chain extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "audit_event" add column "chain_key" text null, add column "prev_hash" text null, add column "hash" text null;`);
    this.addSql(`create index "audit_event_chain_key_seq_index" on "audit_event" ("chain_key", "seq");`);

    this.addSql(sqlFile('audit_event_canonical'));

    this.addSql(sqlFile('audit_event_chain_key'));

    // Events recorded before this migration join their chains in their original order.
    this.addSql(sqlFile('audit_event_chain_backfill'));

    this.addSql(sqlFile('audit_event_chain.1'));
    this.addSql(`create trigger audit_event_chain before insert on audit_event for each row execute function audit_event_chain();`);

    this.addSql(sqlFile('audit_event_append_only'));
    this.addSql(`create trigger audit_event_append_only before update or delete on audit_event for each row execute function audit_event_append_only();`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger if exists audit_event_append_only on audit_event;`);
    this.addSql(`drop trigger if exists audit_event_chain on audit_event;`);
    this.addSql(`drop function if exists audit_event_append_only();`);
    this.addSql(`drop function if exists audit_event_chain();`);
    this.addSql(`drop function if exists audit_event_chain_key(audit_event);`);
    this.addSql(`drop function if exists audit_event_canonical(audit_event);`);
    this.addSql(`drop index "audit_event_chain_key_seq_index";`);
    this.addSql(`alter table "audit_event" drop column "chain_key", drop column "prev_hash", drop column "hash";`);
  }
}
