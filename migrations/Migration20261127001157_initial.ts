import { Migration } from '@mikro-orm/migrations';

export class Migration20261127001157_initial extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create type "environment_kind" as enum ('DEVELOPMENT', 'PRODUCTION');`);
    this.addSql(`create type "user_status" as enum ('ACTIVE', 'SUSPENDED', 'DEPROVISIONED');`);
    this.addSql(`create type "membership_status" as enum ('ACTIVE', 'INACTIVE', 'PENDING');`);
    this.addSql(`create type "custom_attribute_type" as enum ('STRING', 'NUMBER', 'BOOLEAN', 'DATETIME');`);
    this.addSql(`create table "audit_event" ("seq" bigserial primary key, "id" text not null, "workspace_id" text null, "environment_id" text null, "organization_id" text null, "action" text not null, "actor_type" text not null, "actor_id" text null, "actor_name" text null, "targets" jsonb not null, "target_ids" text[] not null, "before" jsonb null, "after" jsonb null, "ip" text null, "user_agent" text null, "request_id" text null, "occurred_at" timestamptz not null);`);
    this.addSql(`alter table "audit_event" add constraint "audit_event_id_unique" unique ("id");`);
    this.addSql(`create index "audit_event_organization_id_index" on "audit_event" ("organization_id");`);
    this.addSql(`create index "audit_event_target_ids_index" on "audit_event" using gin ("target_ids");`);
    this.addSql(`create index "audit_event_environment_id_occurred_at_index" on "audit_event" ("environment_id", "occurred_at");`);
    this.addSql(`create index "audit_event_workspace_id_seq_index" on "audit_event" ("workspace_id", "seq");`);
    this.addSql(`create index "audit_event_environment_id_seq_index" on "audit_event" ("environment_id", "seq");`);

    this.addSql(`create table "workspace" ("id" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "name" text not null, "slug" text not null, constraint "workspace_pkey" primary key ("id"));`);
    this.addSql(`alter table "workspace" add constraint "workspace_slug_unique" unique ("slug");`);

    this.addSql(`create table "environment" ("id" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "workspace_id" text not null, "name" text not null, "slug" text not null, "kind" "environment_kind" not null, constraint "environment_pkey" primary key ("id"));`);
    this.addSql(`alter table "environment" add constraint "environment_workspace_id_slug_unique" unique ("workspace_id", "slug");`);

    this.addSql(`create table "app_user" ("id" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "environment_id" text not null, "email" text not null, "email_verified" boolean not null default false, "given_name" text null, "family_name" text null, "external_id" text null, "status" "user_status" not null default 'ACTIVE', "custom_attributes" jsonb not null, constraint "app_user_pkey" primary key ("id"));`);
    this.addSql(`create index "app_user_environment_id_created_at_id_index" on "app_user" ("environment_id", "created_at", "id");`);
    this.addSql(`alter table "app_user" add constraint "app_user_environment_id_external_id_unique" unique ("environment_id", "external_id");`);
    this.addSql(`alter table "app_user" add constraint "app_user_environment_id_email_unique" unique ("environment_id", "email");`);

    this.addSql(`create table "role" ("id" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "environment_id" text not null, "key" text not null, "name" text not null, "description" text null, "built_in" boolean not null default false, constraint "role_pkey" primary key ("id"));`);
    this.addSql(`alter table "role" add constraint "role_environment_id_key_unique" unique ("environment_id", "key");`);

    this.addSql(`create table "permission" ("id" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "environment_id" text not null, "key" text not null, "description" text null, constraint "permission_pkey" primary key ("id"));`);
    this.addSql(`alter table "permission" add constraint "permission_environment_id_key_unique" unique ("environment_id", "key");`);

    this.addSql(`create table "role_permission" ("role_id" text not null, "permission_id" text not null, constraint "role_permission_pkey" primary key ("role_id", "permission_id"));`);
    this.addSql(`create index "role_permission_permission_id_index" on "role_permission" ("permission_id");`);

    this.addSql(`create table "organization" ("id" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "environment_id" text not null, "name" text not null, "external_id" text null, "metadata" jsonb not null, constraint "organization_pkey" primary key ("id"));`);
    this.addSql(`create index "organization_environment_id_name_index" on "organization" ("environment_id", lower("name") text_pattern_ops, "id");`);
    this.addSql(`create index "organization_environment_id_created_at_id_index" on "organization" ("environment_id", "created_at", "id");`);
    this.addSql(`alter table "organization" add constraint "organization_environment_id_external_id_unique" unique ("environment_id", "external_id");`);

    this.addSql(`create table "organization_domain" ("id" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "environment_id" text not null, "organization_id" text not null, "domain" text not null, "state" text not null default 'PENDING', "verification_token" text not null, "verified_at" timestamptz null, constraint "organization_domain_pkey" primary key ("id"));`);
    this.addSql(`create index "organization_domain_organization_id_index" on "organization_domain" ("organization_id");`);
    this.addSql(`alter table "organization_domain" add constraint "organization_domain_environment_id_domain_unique" unique ("environment_id", "domain");`);

    this.addSql(`create table "membership" ("id" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "environment_id" text not null, "organization_id" text not null, "user_id" text not null, "status" "membership_status" not null default 'ACTIVE', constraint "membership_pkey" primary key ("id"));`);
    this.addSql(`create index "membership_environment_id_index" on "membership" ("environment_id");`);
    this.addSql(`create index "membership_user_id_created_at_id_index" on "membership" ("user_id", "created_at", "id");`);
    this.addSql(`create index "membership_organization_id_created_at_id_index" on "membership" ("organization_id", "created_at", "id");`);
    this.addSql(`alter table "membership" add constraint "membership_organization_id_user_id_unique" unique ("organization_id", "user_id");`);

    this.addSql(`create table "membership_role" ("membership_id" text not null, "role_id" text not null, constraint "membership_role_pkey" primary key ("membership_id", "role_id"));`);
    this.addSql(`create index "membership_role_role_id_index" on "membership_role" ("role_id");`);

    this.addSql(`create table "custom_attribute_definition" ("id" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "environment_id" text not null, "key" text not null, "type" "custom_attribute_type" not null, "required" boolean not null default false, "description" text null, constraint "custom_attribute_definition_pkey" primary key ("id"));`);
    this.addSql(`alter table "custom_attribute_definition" add constraint "custom_attribute_definition_environment_id_key_unique" unique ("environment_id", "key");`);

    this.addSql(`create table "api_key" ("id" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "workspace_id" text not null, "environment_id" text null, "name" text not null, "prefix" text not null, "secret_hash" text not null, "scopes" text[] not null, "last_used_at" timestamptz null, "expires_at" timestamptz null, "revoked_at" timestamptz null, "created_by" text null, constraint "api_key_pkey" primary key ("id"));`);
    this.addSql(`alter table "api_key" add constraint "api_key_secret_hash_unique" unique ("secret_hash");`);
    this.addSql(`create index "api_key_workspace_id_created_at_index" on "api_key" ("workspace_id", "created_at");`);

    this.addSql(`alter table "environment" add constraint "environment_workspace_id_foreign" foreign key ("workspace_id") references "workspace" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "app_user" add constraint "app_user_environment_id_foreign" foreign key ("environment_id") references "environment" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "role" add constraint "role_environment_id_foreign" foreign key ("environment_id") references "environment" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "permission" add constraint "permission_environment_id_foreign" foreign key ("environment_id") references "environment" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "role_permission" add constraint "role_permission_role_id_foreign" foreign key ("role_id") references "role" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "role_permission" add constraint "role_permission_permission_id_foreign" foreign key ("permission_id") references "permission" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "organization" add constraint "organization_environment_id_foreign" foreign key ("environment_id") references "environment" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "organization_domain" add constraint "organization_domain_environment_id_foreign" foreign key ("environment_id") references "environment" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "organization_domain" add constraint "organization_domain_organization_id_foreign" foreign key ("organization_id") references "organization" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "membership" add constraint "membership_environment_id_foreign" foreign key ("environment_id") references "environment" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "membership" add constraint "membership_organization_id_foreign" foreign key ("organization_id") references "organization" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "membership" add constraint "membership_user_id_foreign" foreign key ("user_id") references "app_user" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "membership_role" add constraint "membership_role_membership_id_foreign" foreign key ("membership_id") references "membership" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "membership_role" add constraint "membership_role_role_id_foreign" foreign key ("role_id") references "role" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "custom_attribute_definition" add constraint "custom_attribute_definition_environment_id_foreign" foreign key ("environment_id") references "environment" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "api_key" add constraint "api_key_workspace_id_foreign" foreign key ("workspace_id") references "workspace" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "api_key" add constraint "api_key_environment_id_foreign" foreign key ("environment_id") references "environment" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "environment" drop constraint "environment_workspace_id_foreign";`);

    this.addSql(`alter table "api_key" drop constraint "api_key_workspace_id_foreign";`);

    this.addSql(`alter table "app_user" drop constraint "app_user_environment_id_foreign";`);

    this.addSql(`alter table "role" drop constraint "role_environment_id_foreign";`);

    this.addSql(`alter table "permission" drop constraint "permission_environment_id_foreign";`);

    this.addSql(`alter table "organization" drop constraint "organization_environment_id_foreign";`);

    this.addSql(`alter table "organization_domain" drop constraint "organization_domain_environment_id_foreign";`);

    this.addSql(`alter table "membership" drop constraint "membership_environment_id_foreign";`);

    this.addSql(`alter table "custom_attribute_definition" drop constraint "custom_attribute_definition_environment_id_foreign";`);

    this.addSql(`alter table "api_key" drop constraint "api_key_environment_id_foreign";`);

    this.addSql(`alter table "membership" drop constraint "membership_user_id_foreign";`);

    this.addSql(`alter table "role_permission" drop constraint "role_permission_role_id_foreign";`);

    this.addSql(`alter table "membership_role" drop constraint "membership_role_role_id_foreign";`);

    this.addSql(`alter table "role_permission" drop constraint "role_permission_permission_id_foreign";`);

    this.addSql(`alter table "organization_domain" drop constraint "organization_domain_organization_id_foreign";`);

    this.addSql(`alter table "membership" drop constraint "membership_organization_id_foreign";`);

    this.addSql(`alter table "membership_role" drop constraint "membership_role_membership_id_foreign";`);

    this.addSql(`drop table if exists "audit_event" cascade;`);

    this.addSql(`drop table if exists "workspace" cascade;`);

    this.addSql(`drop table if exists "environment" cascade;`);

    this.addSql(`drop table if exists "app_user" cascade;`);

    this.addSql(`drop table if exists "role" cascade;`);

    this.addSql(`drop table if exists "permission" cascade;`);

    this.addSql(`drop table if exists "role_permission" cascade;`);

    this.addSql(`drop table if exists "organization" cascade;`);

    this.addSql(`drop table if exists "organization_domain" cascade;`);

    this.addSql(`drop table if exists "membership" cascade;`);

    this.addSql(`drop table if exists "membership_role" cascade;`);

    this.addSql(`drop table if exists "custom_attribute_definition" cascade;`);

    this.addSql(`drop table if exists "api_key" cascade;`);

    this.addSql(`drop type "environment_kind";`);
    this.addSql(`drop type "user_status";`);
    this.addSql(`drop type "membership_status";`);
    this.addSql(`drop type "custom_attribute_type";`);
  }

}
