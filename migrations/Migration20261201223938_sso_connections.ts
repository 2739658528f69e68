import { Migration } from '@mikro-orm/migrations';

export class Migration20261201223938_sso_connections extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create type "sso_connection_type" as enum ('SAML', 'OIDC');`);
    this.addSql(`create type "sso_provider" as enum ('OKTA', 'ENTRA_ID', 'GOOGLE_WORKSPACE', 'JUMPCLOUD', 'ONELOGIN', 'PING', 'ADFS', 'GENERIC');`);
    this.addSql(`create type "sso_connection_status" as enum ('DRAFT', 'ACTIVE', 'INACTIVE');`);
    this.addSql(`create table "sso_connection" ("id" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "environment_id" text not null, "organization_id" text not null, "name" text not null, "type" "sso_connection_type" not null, "provider" "sso_provider" not null, "status" "sso_connection_status" not null default 'DRAFT', "allow_guest_domains" boolean not null default false, "idp_entity_id" text null, "idp_sso_url" text null, "idp_certificates" jsonb not null default '[]', "allow_idp_initiated" boolean not null default false, "require_signed_assertion" boolean not null default true, "allow_sha1" boolean not null default false, "oidc_issuer" text null, "oidc_client_id" text null, "oidc_client_secret_sealed" text null, "oidc_scopes" text[] not null default '{}', constraint "sso_connection_pkey" primary key ("id"));`);
    this.addSql(`create index "sso_connection_organization_id_created_at_index" on "sso_connection" ("organization_id", "created_at");`);
    this.addSql(`create index "sso_connection_environment_id_created_at_index" on "sso_connection" ("environment_id", "created_at");`);

    this.addSql(`alter table "sso_connection" add constraint "sso_connection_environment_id_foreign" foreign key ("environment_id") references "environment" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "sso_connection" add constraint "sso_connection_organization_id_foreign" foreign key ("organization_id") references "organization" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "sso_connection" cascade;`);

    this.addSql(`drop type "sso_connection_type";`);
    this.addSql(`drop type "sso_provider";`);
    this.addSql(`drop type "sso_connection_status";`);
  }

}
