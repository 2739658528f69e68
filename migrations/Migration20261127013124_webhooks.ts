import { Migration } from '@mikro-orm/migrations';
import { sqlFile } from './sql-file.js';

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
    this.addSql(sqlFile('gatehouse_ulid'));

    this.addSql(sqlFile('audit_event_outbox'));
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
