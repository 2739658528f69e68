import { Migration } from '@mikro-orm/migrations';

export class Migration20261202041230_SocialConnections extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create type "social_provider" as enum ('GOOGLE', 'MICROSOFT', 'GITHUB', 'GITLAB', 'GENERIC_OIDC', 'GENERIC_OAUTH2');`);
    this.addSql(`create table "social_connection" ("id" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "environment_id" text not null, "provider" "social_provider" not null, "name" text not null, "enabled" boolean not null default true, "client_id" text not null, "client_secret_sealed" text not null, "scopes" text[] not null default '{}', "issuer" text null, "authorization_url" text null, "token_url" text null, "userinfo_url" text null, constraint "social_connection_pkey" primary key ("id"));`);
    this.addSql(`create index "social_connection_environment_id_created_at_index" on "social_connection" ("environment_id", "created_at");`);

    this.addSql(`create table "social_identity" ("id" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "environment_id" text not null, "connection_id" text not null, "subject" text not null, "user_id" text not null, "profile" jsonb not null default '{}', "last_signed_in_at" timestamptz null, constraint "social_identity_pkey" primary key ("id"));`);
    this.addSql(`create index "social_identity_user_id_index" on "social_identity" ("user_id");`);
    this.addSql(`alter table "social_identity" add constraint "social_identity_connection_id_subject_unique" unique ("connection_id", "subject");`);

    this.addSql(`alter table "social_connection" add constraint "social_connection_environment_id_foreign" foreign key ("environment_id") references "environment" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "social_identity" add constraint "social_identity_environment_id_foreign" foreign key ("environment_id") references "environment" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "social_identity" add constraint "social_identity_connection_id_foreign" foreign key ("connection_id") references "social_connection" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "social_identity" add constraint "social_identity_user_id_foreign" foreign key ("user_id") references "app_user" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "oidc_request" add column "social_connection_id" text null;`);
    this.addSql(`alter table "oidc_request" alter column "connection_id" type text using ("connection_id"::text);`);
    this.addSql(`alter table "oidc_request" alter column "connection_id" drop not null;`);
    this.addSql(`alter table "oidc_request" add constraint "oidc_request_social_connection_id_foreign" foreign key ("social_connection_id") references "social_connection" ("id") on update cascade on delete cascade;`);
    this.addSql(`create index "oidc_request_social_connection_id_index" on "oidc_request" ("social_connection_id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "social_identity" drop constraint "social_identity_connection_id_foreign";`);

    this.addSql(`alter table "oidc_request" drop constraint "oidc_request_social_connection_id_foreign";`);

    this.addSql(`drop table if exists "social_connection" cascade;`);

    this.addSql(`drop table if exists "social_identity" cascade;`);

    this.addSql(`drop index "oidc_request_social_connection_id_index";`);
    this.addSql(`alter table "oidc_request" drop column "social_connection_id";`);

    this.addSql(`alter table "oidc_request" alter column "connection_id" type text using ("connection_id"::text);`);
    this.addSql(`alter table "oidc_request" alter column "connection_id" set not null;`);

    this.addSql(`drop type "social_provider";`);
  }

}
