import { Migration } from '@mikro-orm/migrations';

export class Migration20261127023609_oauth extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create type "client_registration_policy" as enum ('OFF', 'INITIAL_ACCESS_TOKEN', 'OPEN');`);
    this.addSql(`create type "oauth_client_kind" as enum ('SERVICE_ACCOUNT', 'APPLICATION');`);
    this.addSql(`create type "application_type" as enum ('M2M', 'DYNAMIC');`);
    this.addSql(`create table "revoked_token" ("jti" text not null, "environment_id" text not null, "expires_at" timestamptz not null, constraint "revoked_token_pkey" primary key ("jti"));`);
    this.addSql(`create index "revoked_token_expires_at_index" on "revoked_token" ("expires_at");`);

    this.addSql(`create table "used_assertion" ("client_id" text not null, "jti" text not null, "expires_at" timestamptz not null, constraint "used_assertion_pkey" primary key ("client_id", "jti"));`);
    this.addSql(`create index "used_assertion_expires_at_index" on "used_assertion" ("expires_at");`);

    this.addSql(`create table "trusted_issuer" ("id" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "environment_id" text not null, "name" text not null, "issuer" text not null, "jwks" jsonb null, "jwks_uri" text null, "audiences" text[] not null, constraint "trusted_issuer_pkey" primary key ("id"));`);
    this.addSql(`alter table "trusted_issuer" add constraint "trusted_issuer_environment_id_issuer_unique" unique ("environment_id", "issuer");`);

    this.addSql(`create table "signing_key" ("id" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "environment_id" text not null, "kid" text not null, "algorithm" text not null, "public_jwk" jsonb not null, "private_sealed" text not null, "activates_at" timestamptz not null, "superseded_at" timestamptz null, "revoked_at" timestamptz null, constraint "signing_key_pkey" primary key ("id"));`);
    this.addSql(`create index "signing_key_environment_id_activates_at_index" on "signing_key" ("environment_id", "activates_at");`);
    this.addSql(`alter table "signing_key" add constraint "signing_key_environment_id_kid_unique" unique ("environment_id", "kid");`);

    this.addSql(`create table "resource_server" ("id" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "environment_id" text not null, "name" text not null, "identifier" text not null, "scopes" jsonb not null, "documentation_url" text null, constraint "resource_server_pkey" primary key ("id"));`);
    this.addSql(`create index "resource_server_environment_id_created_at_index" on "resource_server" ("environment_id", "created_at");`);
    this.addSql(`alter table "resource_server" add constraint "resource_server_environment_id_identifier_unique" unique ("environment_id", "identifier");`);

    this.addSql(`create table "oauth_client" ("id" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "environment_id" text not null, "organization_id" text null, "kind" "oauth_client_kind" not null, "application_type" "application_type" null, "name" text not null, "description" text null, "enabled" boolean not null default true, "allowed_scopes" text[] not null, "allowed_audiences" text[] not null, "grant_types" text[] not null, "access_token_ttl" int not null default 3600, "custom_claims" jsonb not null default '{}', "jwks" jsonb null, "jwks_uri" text null, "redirect_uris" text[] not null default '{}', "token_endpoint_auth_method" text null, "registration_token_hash" text null, "registration_metadata" jsonb null, constraint "oauth_client_pkey" primary key ("id"));`);
    this.addSql(`create index "oauth_client_organization_id_index" on "oauth_client" ("organization_id");`);
    this.addSql(`alter table "oauth_client" add constraint "oauth_client_registration_token_hash_unique" unique ("registration_token_hash");`);
    this.addSql(`create index "oauth_client_environment_id_kind_created_at_index" on "oauth_client" ("environment_id", "kind", "created_at");`);

    this.addSql(`create table "oauth_client_role" ("client_id" text not null, "role_id" text not null, constraint "oauth_client_role_pkey" primary key ("client_id", "role_id"));`);
    this.addSql(`create index "oauth_client_role_role_id_index" on "oauth_client_role" ("role_id");`);

    this.addSql(`create table "client_secret" ("id" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "client_id" text not null, "environment_id" text not null, "secret_hash" text not null, "prefix" text not null, "description" text null, "expires_at" timestamptz null, "revoked_at" timestamptz null, "last_used_at" timestamptz null, constraint "client_secret_pkey" primary key ("id"));`);
    this.addSql(`alter table "client_secret" add constraint "client_secret_secret_hash_unique" unique ("secret_hash");`);
    this.addSql(`create index "client_secret_client_id_created_at_index" on "client_secret" ("client_id", "created_at");`);

    this.addSql(`alter table "trusted_issuer" add constraint "trusted_issuer_environment_id_foreign" foreign key ("environment_id") references "environment" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "signing_key" add constraint "signing_key_environment_id_foreign" foreign key ("environment_id") references "environment" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "resource_server" add constraint "resource_server_environment_id_foreign" foreign key ("environment_id") references "environment" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "oauth_client" add constraint "oauth_client_environment_id_foreign" foreign key ("environment_id") references "environment" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "oauth_client" add constraint "oauth_client_organization_id_foreign" foreign key ("organization_id") references "organization" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "oauth_client_role" add constraint "oauth_client_role_client_id_foreign" foreign key ("client_id") references "oauth_client" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "oauth_client_role" add constraint "oauth_client_role_role_id_foreign" foreign key ("role_id") references "role" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "client_secret" add constraint "client_secret_client_id_foreign" foreign key ("client_id") references "oauth_client" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "environment" add column "client_registration_policy" "client_registration_policy" not null default 'OFF', add column "initial_access_token_hash" text null, add column "registration_scopes" text[] not null default '{}';`);
    this.addSql(`alter table "environment" add constraint "environment_initial_access_token_hash_unique" unique ("initial_access_token_hash");`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "oauth_client_role" drop constraint "oauth_client_role_client_id_foreign";`);

    this.addSql(`alter table "client_secret" drop constraint "client_secret_client_id_foreign";`);

    this.addSql(`drop table if exists "revoked_token" cascade;`);

    this.addSql(`drop table if exists "used_assertion" cascade;`);

    this.addSql(`drop table if exists "trusted_issuer" cascade;`);

    this.addSql(`drop table if exists "signing_key" cascade;`);

    this.addSql(`drop table if exists "resource_server" cascade;`);

    this.addSql(`drop table if exists "oauth_client" cascade;`);

    this.addSql(`drop table if exists "oauth_client_role" cascade;`);

    this.addSql(`drop table if exists "client_secret" cascade;`);

    this.addSql(`alter table "environment" drop constraint "environment_initial_access_token_hash_unique";`);
    this.addSql(`alter table "environment" drop column "client_registration_policy", drop column "initial_access_token_hash", drop column "registration_scopes";`);

    this.addSql(`drop type "client_registration_policy";`);
    this.addSql(`drop type "oauth_client_kind";`);
    this.addSql(`drop type "application_type";`);
  }

}
