import { Migration } from '@mikro-orm/migrations';

/** SCIM 2.0 directories of organizations: their provider, status, bearer token (hashed, with the replaced one's overlap), group → role mappings and SSO connection. */
export class Migration20261202075427_Directories extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create type "directory_provider" as enum ('OKTA', 'ENTRA_ID', 'JUMPCLOUD', 'ONELOGIN', 'GOOGLE', 'GENERIC');`);
    this.addSql(`create type "directory_status" as enum ('ACTIVE', 'INACTIVE');`);
    this.addSql(`create table "directory" ("id" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "environment_id" text not null, "organization_id" text not null, "name" text not null, "provider" "directory_provider" not null, "status" "directory_status" not null default 'ACTIVE', "token_hash" text not null, "token_prefix" text not null, "previous_token_hash" text null, "previous_token_expires_at" timestamptz null, "group_role_mappings" jsonb not null default '[]', "connection_id" text null, "last_request_at" timestamptz null, constraint "directory_pkey" primary key ("id"));`);
    this.addSql(`create index "directory_organization_id_index" on "directory" ("organization_id");`);
    this.addSql(`create index "directory_connection_id_index" on "directory" ("connection_id");`);
    this.addSql(`create index "directory_environment_id_created_at_index" on "directory" ("environment_id", "created_at");`);

    this.addSql(`alter table "directory" add constraint "directory_environment_id_foreign" foreign key ("environment_id") references "environment" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "directory" add constraint "directory_organization_id_foreign" foreign key ("organization_id") references "organization" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "directory" add constraint "directory_connection_id_foreign" foreign key ("connection_id") references "sso_connection" ("id") on update cascade on delete set null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "directory" cascade;`);

    this.addSql(`drop type "directory_provider";`);
    this.addSql(`drop type "directory_status";`);
  }

}
