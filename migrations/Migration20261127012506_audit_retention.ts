import { Migration } from '@mikro-orm/migrations';
import { sqlFile } from './sql-file.js';

/**
 * Audit retention. Environments may keep events for a number of days; pruning a chain's oldest
 * events records a checkpoint (the last pruned event's sequence and hash), and the append
 * trigger links a chain's next event to its checkpoint when no event remains before it.
 */
export class Migration20261127012506_audit_retention extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "audit_checkpoint" ("chain_key" text not null, "seq" bigint not null, "hash" text not null, "pruned_before" timestamptz not null, "events_pruned" bigint not null, "updated_at" timestamptz not null, constraint "audit_checkpoint_pkey" primary key ("chain_key"));`);
    this.addSql(`alter table "environment" add column "audit_retention_days" int null;`);

    this.addSql(sqlFile('audit_event_chain.2'));
  }

  override async down(): Promise<void> {
    // Version 1 of the chain trigger again (as this migration always wrote it, without its comment).
    this.addSql(sqlFile('audit_event_chain.1-restore'));
    this.addSql(`drop table if exists "audit_checkpoint" cascade;`);
    this.addSql(`alter table "environment" drop column "audit_retention_days";`);
  }
}
