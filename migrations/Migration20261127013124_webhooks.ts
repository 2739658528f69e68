import { Migration } from '@mikro-orm/migrations';

/**
 * Webhooks. Endpoints belong to an environment; the outbox (`webhook_delivery`) is filled by a
 * trigger on `audit_event`, in the same transaction as the event, for every enabled endpoint
 * of its environment whose event types match (exact, `x.*` prefix, `*`, or none = all). Workers
 * of any process claim due rows with FOR UPDATE SKIP LOCKED.
 */
export class Migration20261127013124_webhooks extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create type "webhook_delivery_status" as enum ('PENDING', 'SUCCEEDED', 'FAILED');`);
    this.addSql(`create table "webhook_endpoint" ("id" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "environment_id" text not null, "url" text not null, "description" text null, "event_types" text[] not null, "enabled" boolean not null default true, "disabled_reason" text null, "secret_sealed" text not null, "secret_prefix" text not null, "failing_since" timestamptz null, constraint "webhook_endpoint_pkey" primary key ("id"));`);
    this.addSql(`create index "webhook_endpoint_environment_id_created_at_index" on "webhook_endpoint" ("environment_id", "created_at");`);

    this.addSql(`create table "webhook_delivery" ("id" text not null, "endpoint_id" text not null, "environment_id" text not null, "event_id" text not null, "event_type" text not null, "status" "webhook_delivery_status" not null, "attempts" int not null, "next_attempt_at" timestamptz not null, "locked_until" timestamptz null, "last_attempt_at" timestamptz null, "last_status_code" int null, "last_error" text null, "created_at" timestamptz not null, constraint "webhook_delivery_pkey" primary key ("id"));`);
    this.addSql(`create index "webhook_delivery_endpoint_id_created_at_index" on "webhook_delivery" ("endpoint_id", "created_at");`);
    this.addSql(`create index "webhook_delivery_status_next_attempt_at_index" on "webhook_delivery" ("status", "next_attempt_at");`);

    this.addSql(`create table "webhook_attempt" ("id" bigserial primary key, "delivery_id" text not null, "attempted_at" timestamptz not null, "duration_ms" int not null, "status_code" int null, "error" text null);`);
    this.addSql(`create index "webhook_attempt_delivery_id_attempted_at_index" on "webhook_attempt" ("delivery_id", "attempted_at");`);

    this.addSql(`alter table "webhook_endpoint" add constraint "webhook_endpoint_environment_id_foreign" foreign key ("environment_id") references "environment" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "webhook_delivery" add constraint "webhook_delivery_endpoint_id_foreign" foreign key ("endpoint_id") references "webhook_endpoint" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "webhook_attempt" add constraint "webhook_attempt_delivery_id_foreign" foreign key ("delivery_id") references "webhook_delivery" ("id") on update cascade on delete cascade;`);
    // Our id format in SQL: 48 bits of milliseconds then 80 random bits, Crockford base32.
    this.addSql(`create function gatehouse_ulid() returns text language plpgsql volatile as $$
declare
  alphabet constant text := '0123456789abcdefghjkmnpqrstvwxyz';
  ms bigint := floor(extract(epoch from clock_timestamp()) * 1000)::bigint;
  u bytea := decode(replace(gen_random_uuid()::text, '-', ''), 'hex');
  r1 bigint := 0;
  r2 bigint := 0;
  result text := '';
  i int;
begin
  -- uuid v4 bytes 6 and 8 carry version and variant bits: use the random ones around them.
  for i in 0..4 loop r1 := (r1 << 8) | get_byte(u, i); end loop;
  for i in 9..13 loop r2 := (r2 << 8) | get_byte(u, i); end loop;
  for i in reverse 9..0 loop result := result || substr(alphabet, ((ms >> (5 * i)) & 31)::int + 1, 1); end loop;
  for i in reverse 7..0 loop result := result || substr(alphabet, ((r1 >> (5 * i)) & 31)::int + 1, 1); end loop;
  for i in reverse 7..0 loop result := result || substr(alphabet, ((r2 >> (5 * i)) & 31)::int + 1, 1); end loop;
  return result;
end
$$;`);

    this.addSql(`create function audit_event_outbox() returns trigger language plpgsql as $$
begin
  if NEW.environment_id is null then
    return null;
  end if;
  insert into webhook_delivery (id, endpoint_id, environment_id, event_id, event_type, status, attempts, next_attempt_at, created_at)
  select 'wdl_' || gatehouse_ulid(), w.id, NEW.environment_id, NEW.id, NEW.action, 'PENDING', 0, now(), now()
    from webhook_endpoint w
   where w.environment_id = NEW.environment_id
     and w.enabled
     and (cardinality(w.event_types) = 0 or exists (
       select 1 from unnest(w.event_types) t
        where t = '*' or t = NEW.action
           or (t like '%.*' and NEW.action like replace(left(t, -1), '_', '\\_') || '%')));
  return null;
end
$$;`);
    this.addSql(`create trigger audit_event_outbox after insert on audit_event for each row execute function audit_event_outbox();`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger if exists audit_event_outbox on audit_event;`);
    this.addSql(`drop function if exists audit_event_outbox();`);
    this.addSql(`drop function if exists gatehouse_ulid();`);
    this.addSql(`alter table "webhook_delivery" drop constraint "webhook_delivery_endpoint_id_foreign";`);

    this.addSql(`alter table "webhook_attempt" drop constraint "webhook_attempt_delivery_id_foreign";`);

    this.addSql(`drop table if exists "webhook_endpoint" cascade;`);

    this.addSql(`drop table if exists "webhook_delivery" cascade;`);

    this.addSql(`drop table if exists "webhook_attempt" cascade;`);

    this.addSql(`drop type "webhook_delivery_status";`);
  }

}
