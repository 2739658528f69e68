import { Migration } from '@mikro-orm/migrations';

/**
 * Audit retention. Environments may keep events for a number of days; pruning a chain's oldest
 * events records a checkpoint (the last pruned event's sequence and hash), and the append
 * trigger links a chain's next event to its checkpoint when no event remains before it.
 */
export class Migration20261127012506_audit_retention extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "audit_checkpoint" ("chain_key" text not null, "seq" bigint not null, "hash" text not null, "pruned_before" timestamptz not null, "events_pruned" bigint not null, "updated_at" timestamptz not null, constraint "audit_checkpoint_pkey" primary key ("chain_key"));`);
    this.addSql(`alter table "environment" add column "audit_retention_days" int null;`);

    this.addSql(`create or replace function audit_event_chain() returns trigger language plpgsql as $$
declare
  previous text;
begin
  NEW.chain_key := audit_event_chain_key(NEW);
  perform pg_advisory_xact_lock(hashtextextended('gatehouse.audit:' || NEW.chain_key, 0));
  -- Numbered under the lock, so within a chain seq order is commit order.
  NEW.seq := nextval(pg_get_serial_sequence('audit_event', 'seq'));
  select e.hash into previous from audit_event e where e.chain_key = NEW.chain_key order by e.seq desc limit 1;
  if previous is null then
    select c.hash into previous from audit_checkpoint c where c.chain_key = NEW.chain_key;
  end if;
  NEW.prev_hash := coalesce(previous, repeat('0', 64));
  NEW.hash := encode(sha256(convert_to(audit_event_canonical(NEW), 'UTF8')), 'hex');
  return NEW;
end
$$;`);
  }

  override async down(): Promise<void> {
    this.addSql(`create or replace function audit_event_chain() returns trigger language plpgsql as $$
declare
  previous text;
begin
  NEW.chain_key := audit_event_chain_key(NEW);
  perform pg_advisory_xact_lock(hashtextextended('gatehouse.audit:' || NEW.chain_key, 0));
  NEW.seq := nextval(pg_get_serial_sequence('audit_event', 'seq'));
  select e.hash into previous from audit_event e where e.chain_key = NEW.chain_key order by e.seq desc limit 1;
  NEW.prev_hash := coalesce(previous, repeat('0', 64));
  NEW.hash := encode(sha256(convert_to(audit_event_canonical(NEW), 'UTF8')), 'hex');
  return NEW;
end
$$;`);
    this.addSql(`drop table if exists "audit_checkpoint" cascade;`);
    this.addSql(`alter table "environment" drop column "audit_retention_days";`);
  }
}
