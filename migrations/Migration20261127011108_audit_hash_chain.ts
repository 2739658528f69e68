import { Migration } from '@mikro-orm/migrations';

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

    this.addSql(`create function audit_event_canonical(e audit_event) returns text language sql stable as $$
  select jsonb_build_array(
    e.prev_hash, e.chain_key, e.seq::text, e.id, e.workspace_id, e.environment_id, e.organization_id,
    e.action, e.actor_type, e.actor_id, e.actor_name, e.targets, e.target_ids, e.before, e.after,
    e.ip, e.user_agent, e.request_id,
    to_char(e.occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
  )::text
$$;`);

    this.addSql(`create function audit_event_chain_key(e audit_event) returns text language sql immutable as $$
  select coalesce(e.environment_id, 'wks:' || e.workspace_id, 'global')
$$;`);

    // Events recorded before this migration join their chains in their original order.
    this.addSql(`do $$
declare
  r audit_event;
  previous text;
begin
  for r in select * from audit_event order by seq loop
    r.chain_key := audit_event_chain_key(r);
    select e.hash into previous from audit_event e where e.chain_key = r.chain_key and e.seq < r.seq order by e.seq desc limit 1;
    r.prev_hash := coalesce(previous, repeat('0', 64));
    update audit_event set chain_key = r.chain_key, prev_hash = r.prev_hash,
      hash = encode(sha256(convert_to(audit_event_canonical(r), 'UTF8')), 'hex')
    where seq = r.seq;
  end loop;
end
$$;`);

    this.addSql(`create function audit_event_chain() returns trigger language plpgsql as $$
declare
  previous text;
begin
  NEW.chain_key := audit_event_chain_key(NEW);
  perform pg_advisory_xact_lock(hashtextextended('gatehouse.audit:' || NEW.chain_key, 0));
  -- Numbered under the lock, so within a chain seq order is commit order.
  NEW.seq := nextval(pg_get_serial_sequence('audit_event', 'seq'));
  select e.hash into previous from audit_event e where e.chain_key = NEW.chain_key order by e.seq desc limit 1;
  NEW.prev_hash := coalesce(previous, repeat('0', 64));
  NEW.hash := encode(sha256(convert_to(audit_event_canonical(NEW), 'UTF8')), 'hex');
  return NEW;
end
$$;`);
    this.addSql(`create trigger audit_event_chain before insert on audit_event for each row execute function audit_event_chain();`);

    this.addSql(`create function audit_event_append_only() returns trigger language plpgsql as $$
begin
  if coalesce(current_setting('gatehouse.audit_maintenance', true), '') <> 'on' then
    raise exception 'audit events are append-only' using errcode = 'insufficient_privilege';
  end if;
  return case when TG_OP = 'DELETE' then OLD else NEW end;
end
$$;`);
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
