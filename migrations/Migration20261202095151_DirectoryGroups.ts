import { Migration } from '@mikro-orm/migrations';

/** SCIM Groups of directories, and their members as rows of their own (one row per member, so one member changes without the rest). */
export class Migration20261202095151_DirectoryGroups extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "directory_group" ("id" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "environment_id" text not null, "organization_id" text not null, "directory_id" text not null, "display_name" text not null, "external_id" text null, "version" int not null default 1, constraint "directory_group_pkey" primary key ("id"));`);
    this.addSql(`create index "directory_group_organization_id_index" on "directory_group" ("organization_id");`);
    this.addSql(`create index "directory_group_directory_id_display_name_index" on "directory_group" ("directory_id", lower("display_name"));`);
    this.addSql(`create index "directory_group_directory_id_external_id_index" on "directory_group" ("directory_id", "external_id");`);
    this.addSql(`create index "directory_group_directory_id_created_at_id_index" on "directory_group" ("directory_id", "created_at", "id");`);

    this.addSql(`create table "directory_group_member" ("group_id" text not null, "user_id" text not null, "created_at" timestamptz not null, constraint "directory_group_member_pkey" primary key ("group_id", "user_id"));`);
    this.addSql(`create index "directory_group_member_user_id_index" on "directory_group_member" ("user_id");`);

    this.addSql(`alter table "directory_group" add constraint "directory_group_environment_id_foreign" foreign key ("environment_id") references "environment" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "directory_group" add constraint "directory_group_organization_id_foreign" foreign key ("organization_id") references "organization" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "directory_group" add constraint "directory_group_directory_id_foreign" foreign key ("directory_id") references "directory" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "directory_group_member" add constraint "directory_group_member_group_id_foreign" foreign key ("group_id") references "directory_group" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "directory_group_member" add constraint "directory_group_member_user_id_foreign" foreign key ("user_id") references "directory_user" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "directory_group_member" drop constraint "directory_group_member_group_id_foreign";`);

    this.addSql(`drop table if exists "directory_group" cascade;`);

    this.addSql(`drop table if exists "directory_group_member" cascade;`);
  }

}
