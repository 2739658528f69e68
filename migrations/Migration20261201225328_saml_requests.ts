import { Migration } from '@mikro-orm/migrations';

export class Migration20261201225328_saml_requests extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "saml_request" ("id" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "environment_id" text not null, "connection_id" text not null, "flow_id" text not null, "request_id" text not null, "expires_at" timestamptz not null, "answered_at" timestamptz null, "identity" jsonb null, "completed_at" timestamptz null, constraint "saml_request_pkey" primary key ("id"));`);
    this.addSql(`create index "saml_request_connection_id_index" on "saml_request" ("connection_id");`);
    this.addSql(`alter table "saml_request" add constraint "saml_request_request_id_unique" unique ("request_id");`);
    this.addSql(`create index "saml_request_expires_at_index" on "saml_request" ("expires_at");`);

    this.addSql(`alter table "saml_request" add constraint "saml_request_environment_id_foreign" foreign key ("environment_id") references "environment" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "saml_request" add constraint "saml_request_connection_id_foreign" foreign key ("connection_id") references "sso_connection" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "saml_request" cascade;`);
  }

}
