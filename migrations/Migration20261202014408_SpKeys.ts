import { Migration } from '@mikro-orm/migrations';

export class Migration20261202014408_SpKeys extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create type "sso_sp_key_use" as enum ('SIGNING', 'ENCRYPTION');`);
    this.addSql(`create table "sso_sp_key" ("id" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "environment_id" text not null, "connection_id" text not null, "use" "sso_sp_key_use" not null, "certificate" text not null, "fingerprint" text not null, "not_after" timestamptz not null, "private_key_sealed" text not null, constraint "sso_sp_key_pkey" primary key ("id"));`);
    this.addSql(`create index "sso_sp_key_connection_id_created_at_index" on "sso_sp_key" ("connection_id", "created_at");`);

    this.addSql(`alter table "sso_sp_key" add constraint "sso_sp_key_environment_id_foreign" foreign key ("environment_id") references "environment" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "sso_sp_key" add constraint "sso_sp_key_connection_id_foreign" foreign key ("connection_id") references "sso_connection" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "sso_sp_key" cascade;`);

    this.addSql(`drop type "sso_sp_key_use";`);
  }

}
