import { Migration } from '@mikro-orm/migrations';

/** The last failed SCIM requests of each directory, for its recent errors. */
export class Migration20261202100850_DirectoryRequestErrors extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "directory_request_error" ("id" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "environment_id" text not null, "directory_id" text not null, "method" text not null, "path" text not null, "status" int not null, "scim_type" text null, "detail" text not null, constraint "directory_request_error_pkey" primary key ("id"));`);
    this.addSql(`create index "directory_request_error_environment_id_index" on "directory_request_error" ("environment_id");`);
    this.addSql(`create index "directory_request_error_directory_id_created_at_index" on "directory_request_error" ("directory_id", "created_at");`);

    this.addSql(`alter table "directory_request_error" add constraint "directory_request_error_environment_id_foreign" foreign key ("environment_id") references "environment" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "directory_request_error" add constraint "directory_request_error_directory_id_foreign" foreign key ("directory_id") references "directory" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "directory_request_error" cascade;`);
  }

}
