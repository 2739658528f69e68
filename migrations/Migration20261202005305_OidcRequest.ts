import { Migration } from '@mikro-orm/migrations';

export class Migration20261202005305_OidcRequest extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "oidc_request" ("id" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "environment_id" text not null, "connection_id" text not null, "flow_id" text not null, "state_hash" text not null, "nonce" text not null, "code_verifier" text not null, "expires_at" timestamptz not null, "completed_at" timestamptz null, constraint "oidc_request_pkey" primary key ("id"));`);
    this.addSql(`create index "oidc_request_connection_id_index" on "oidc_request" ("connection_id");`);
    this.addSql(`create index "oidc_request_flow_id_index" on "oidc_request" ("flow_id");`);
    this.addSql(`alter table "oidc_request" add constraint "oidc_request_state_hash_unique" unique ("state_hash");`);
    this.addSql(`create index "oidc_request_expires_at_index" on "oidc_request" ("expires_at");`);

    this.addSql(`alter table "oidc_request" add constraint "oidc_request_environment_id_foreign" foreign key ("environment_id") references "environment" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "oidc_request" add constraint "oidc_request_connection_id_foreign" foreign key ("connection_id") references "sso_connection" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "oidc_request" cascade;`);
  }

}
