import { Migration } from '@mikro-orm/migrations';

export class Migration20261201172149_email_outbox extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "email_outbox" ("id" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "environment_id" text not null, "recipient" text not null, "subject" text not null, "text" text not null, "html" text null, "purpose" text not null, constraint "email_outbox_pkey" primary key ("id"));`);
    this.addSql(`create index "email_outbox_environment_id_created_at_index" on "email_outbox" ("environment_id", "created_at");`);

    this.addSql(`alter table "email_outbox" add constraint "email_outbox_environment_id_foreign" foreign key ("environment_id") references "environment" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "email_outbox" cascade;`);
  }

}
