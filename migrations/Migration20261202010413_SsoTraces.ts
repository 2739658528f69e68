import { Migration } from '@mikro-orm/migrations';

export class Migration20261202010413_SsoTraces extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create type "sso_trace_outcome" as enum ('STARTED', 'SUCCEEDED', 'FAILED');`);
    this.addSql(`create table "sso_trace" ("id" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "environment_id" text not null, "organization_id" text not null, "connection_id" text not null, "protocol" "sso_connection_type" not null, "outcome" "sso_trace_outcome" not null default 'STARTED', "reason" text null, "detail" text null, "steps" jsonb not null default '[]', "flow_id" text null, "user_id" text null, "email" text null, "request_ids" text[] not null default '{}', "saml_request" text null, "saml_response" text null, "profile" jsonb null, "expires_at" timestamptz not null, constraint "sso_trace_pkey" primary key ("id"));`);
    this.addSql(`create index "sso_trace_expires_at_index" on "sso_trace" ("expires_at");`);
    this.addSql(`create index "sso_trace_organization_id_created_at_index" on "sso_trace" ("organization_id", "created_at");`);
    this.addSql(`create index "sso_trace_connection_id_created_at_index" on "sso_trace" ("connection_id", "created_at");`);
    this.addSql(`create index "sso_trace_environment_id_created_at_index" on "sso_trace" ("environment_id", "created_at");`);

    this.addSql(`alter table "sso_trace" add constraint "sso_trace_environment_id_foreign" foreign key ("environment_id") references "environment" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "sso_trace" add constraint "sso_trace_connection_id_foreign" foreign key ("connection_id") references "sso_connection" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "saml_request" add column "trace_id" text null;`);

    this.addSql(`alter table "oidc_request" add column "trace_id" text null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "sso_trace" cascade;`);

    this.addSql(`alter table "oidc_request" drop column "trace_id";`);

    this.addSql(`alter table "saml_request" drop column "trace_id";`);

    this.addSql(`drop type "sso_trace_outcome";`);
  }

}
