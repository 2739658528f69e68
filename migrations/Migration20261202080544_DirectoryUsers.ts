import { Migration } from '@mikro-orm/migrations';

/** SCIM Users of directories: the normalised resource, the attributes filters need in columns, userName unique per directory case-insensitively. */
export class Migration20261202080544_DirectoryUsers extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "directory_user" ("id" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "environment_id" text not null, "organization_id" text not null, "directory_id" text not null, "user_name" text not null, "external_id" text null, "active" boolean not null default true, "display_name" text null, "email" text null, "resource" jsonb not null, "version" int not null default 1, "user_id" text null, constraint "directory_user_pkey" primary key ("id"));`);
    this.addSql(`create index "directory_user_organization_id_index" on "directory_user" ("organization_id");`);
    this.addSql(`create index "directory_user_user_id_index" on "directory_user" ("user_id");`);
    this.addSql(`create index "directory_user_directory_id_external_id_index" on "directory_user" ("directory_id", "external_id");`);
    this.addSql(`create index "directory_user_directory_id_created_at_id_index" on "directory_user" ("directory_id", "created_at", "id");`);
    this.addSql(`create unique index "directory_user_directory_id_user_name_unique" on "directory_user" ("directory_id", lower("user_name"));`);

    this.addSql(`alter table "directory_user" add constraint "directory_user_environment_id_foreign" foreign key ("environment_id") references "environment" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "directory_user" add constraint "directory_user_organization_id_foreign" foreign key ("organization_id") references "organization" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "directory_user" add constraint "directory_user_directory_id_foreign" foreign key ("directory_id") references "directory" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "directory_user" add constraint "directory_user_user_id_foreign" foreign key ("user_id") references "app_user" ("id") on update cascade on delete set null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "directory_user" cascade;`);
  }

}
