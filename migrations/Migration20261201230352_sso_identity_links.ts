import { Migration } from '@mikro-orm/migrations';

export class Migration20261201230352_sso_identity_links extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "sso_identity" ("id" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "environment_id" text not null, "connection_id" text not null, "subject" text not null, "user_id" text not null, constraint "sso_identity_pkey" primary key ("id"));`);
    this.addSql(`create index "sso_identity_user_id_index" on "sso_identity" ("user_id");`);
    this.addSql(`alter table "sso_identity" add constraint "sso_identity_connection_id_subject_unique" unique ("connection_id", "subject");`);

    this.addSql(`alter table "sso_identity" add constraint "sso_identity_environment_id_foreign" foreign key ("environment_id") references "environment" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "sso_identity" add constraint "sso_identity_connection_id_foreign" foreign key ("connection_id") references "sso_connection" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "sso_identity" add constraint "sso_identity_user_id_foreign" foreign key ("user_id") references "app_user" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "saml_request" add column "answer_token_hash" text null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "sso_identity" cascade;`);

    this.addSql(`alter table "saml_request" drop column "answer_token_hash";`);
  }

}
