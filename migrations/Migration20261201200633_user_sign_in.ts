import { Migration } from '@mikro-orm/migrations';

export class Migration20261201200633_user_sign_in extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "user_session" ("id" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "environment_id" text not null, "user_id" text not null, "token_hash" text not null, "auth_time" timestamptz not null, "amr" text[] not null, "last_seen_at" timestamptz not null, "expires_at" timestamptz not null, "absolute_expires_at" timestamptz not null, "ip" text null, "user_agent" text null, "client_ids" text[] not null, "organization_ids" text[] not null, "ended_at" timestamptz null, "end_reason" text null, constraint "user_session_pkey" primary key ("id"));`);
    this.addSql(`alter table "user_session" add constraint "user_session_token_hash_unique" unique ("token_hash");`);
    this.addSql(`create index "user_session_expires_at_index" on "user_session" ("expires_at");`);
    this.addSql(`create index "user_session_environment_id_user_id_created_at_index" on "user_session" ("environment_id", "user_id", "created_at");`);

    this.addSql(`create table "sign_in_flow" ("id" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "environment_id" text not null, "client_id" text not null, "request" jsonb not null, "browser_hash" text not null, "expires_at" timestamptz not null, "organization_id" text null, "consent_given" boolean not null default false, "completed_at" timestamptz null, constraint "sign_in_flow_pkey" primary key ("id"));`);
    this.addSql(`create index "sign_in_flow_environment_id_index" on "sign_in_flow" ("environment_id");`);
    this.addSql(`create index "sign_in_flow_client_id_index" on "sign_in_flow" ("client_id");`);
    this.addSql(`create index "sign_in_flow_expires_at_index" on "sign_in_flow" ("expires_at");`);

    this.addSql(`create table "refresh_token" ("id" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "environment_id" text not null, "client_id" text not null, "user_id" text not null, "session_id" text null, "code_id" text null, "family_id" text not null, "token_hash" text not null, "scopes" text[] not null, "resource" text null, "organization_id" text null, "auth_time" timestamptz not null, "amr" text[] not null, "expires_at" timestamptz not null, "family_expires_at" timestamptz not null, "used_at" timestamptz null, "revoked_at" timestamptz null, "access_token_jti" text null, "access_token_expires_at" timestamptz null, constraint "refresh_token_pkey" primary key ("id"));`);
    this.addSql(`create index "refresh_token_client_id_index" on "refresh_token" ("client_id");`);
    this.addSql(`create index "refresh_token_session_id_index" on "refresh_token" ("session_id");`);
    this.addSql(`create index "refresh_token_code_id_index" on "refresh_token" ("code_id");`);
    this.addSql(`alter table "refresh_token" add constraint "refresh_token_token_hash_unique" unique ("token_hash");`);
    this.addSql(`create index "refresh_token_family_expires_at_index" on "refresh_token" ("family_expires_at");`);
    this.addSql(`create index "refresh_token_environment_id_user_id_index" on "refresh_token" ("environment_id", "user_id");`);
    this.addSql(`create index "refresh_token_family_id_index" on "refresh_token" ("family_id");`);

    this.addSql(`create table "pushed_authorization_request" ("id" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "environment_id" text not null, "client_id" text not null, "handle_hash" text not null, "params" jsonb not null, "expires_at" timestamptz not null, "used_at" timestamptz null, constraint "pushed_authorization_request_pkey" primary key ("id"));`);
    this.addSql(`create index "pushed_authorization_request_environment_id_index" on "pushed_authorization_request" ("environment_id");`);
    this.addSql(`create index "pushed_authorization_request_client_id_index" on "pushed_authorization_request" ("client_id");`);
    this.addSql(`alter table "pushed_authorization_request" add constraint "pushed_authorization_request_handle_hash_unique" unique ("handle_hash");`);
    this.addSql(`create index "pushed_authorization_request_expires_at_index" on "pushed_authorization_request" ("expires_at");`);

    this.addSql(`create table "consent" ("id" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "environment_id" text not null, "user_id" text not null, "client_id" text not null, "scopes" text[] not null, "resources" text[] not null, "organization_ids" text[] not null default '{}', constraint "consent_pkey" primary key ("id"));`);
    this.addSql(`create index "consent_environment_id_index" on "consent" ("environment_id");`);
    this.addSql(`create index "consent_client_id_index" on "consent" ("client_id");`);
    this.addSql(`alter table "consent" add constraint "consent_user_id_client_id_unique" unique ("user_id", "client_id");`);

    this.addSql(`create table "authorization_code" ("id" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "environment_id" text not null, "client_id" text not null, "user_id" text not null, "session_id" text null, "code_hash" text not null, "redirect_uri" text not null, "code_challenge" text not null, "nonce" text null, "scopes" text[] not null, "resource" text null, "organization_id" text null, "auth_time" timestamptz not null, "amr" text[] not null, "expires_at" timestamptz not null, "used_at" timestamptz null, "access_token_jti" text null, "access_token_expires_at" timestamptz null, constraint "authorization_code_pkey" primary key ("id"));`);
    this.addSql(`create index "authorization_code_environment_id_index" on "authorization_code" ("environment_id");`);
    this.addSql(`create index "authorization_code_client_id_index" on "authorization_code" ("client_id");`);
    this.addSql(`create index "authorization_code_user_id_index" on "authorization_code" ("user_id");`);
    this.addSql(`create index "authorization_code_session_id_index" on "authorization_code" ("session_id");`);
    this.addSql(`alter table "authorization_code" add constraint "authorization_code_code_hash_unique" unique ("code_hash");`);
    this.addSql(`create index "authorization_code_expires_at_index" on "authorization_code" ("expires_at");`);

    this.addSql(`alter table "user_session" add constraint "user_session_environment_id_foreign" foreign key ("environment_id") references "environment" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "user_session" add constraint "user_session_user_id_foreign" foreign key ("user_id") references "app_user" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "sign_in_flow" add constraint "sign_in_flow_environment_id_foreign" foreign key ("environment_id") references "environment" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "sign_in_flow" add constraint "sign_in_flow_client_id_foreign" foreign key ("client_id") references "oauth_client" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "refresh_token" add constraint "refresh_token_environment_id_foreign" foreign key ("environment_id") references "environment" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "refresh_token" add constraint "refresh_token_client_id_foreign" foreign key ("client_id") references "oauth_client" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "refresh_token" add constraint "refresh_token_user_id_foreign" foreign key ("user_id") references "app_user" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "pushed_authorization_request" add constraint "pushed_authorization_request_environment_id_foreign" foreign key ("environment_id") references "environment" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "pushed_authorization_request" add constraint "pushed_authorization_request_client_id_foreign" foreign key ("client_id") references "oauth_client" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "consent" add constraint "consent_environment_id_foreign" foreign key ("environment_id") references "environment" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "consent" add constraint "consent_user_id_foreign" foreign key ("user_id") references "app_user" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "consent" add constraint "consent_client_id_foreign" foreign key ("client_id") references "oauth_client" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "authorization_code" add constraint "authorization_code_environment_id_foreign" foreign key ("environment_id") references "environment" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "authorization_code" add constraint "authorization_code_client_id_foreign" foreign key ("client_id") references "oauth_client" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "authorization_code" add constraint "authorization_code_user_id_foreign" foreign key ("user_id") references "app_user" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "environment" add column "logo_url" text null;`);

    this.addSql(`alter table "oauth_client" add column "metadata_document_url" text null;`);
    this.addSql(`alter table "oauth_client" add constraint "oauth_client_environment_id_metadata_document_url_unique" unique ("environment_id", "metadata_document_url");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "user_session" cascade;`);

    this.addSql(`drop table if exists "sign_in_flow" cascade;`);

    this.addSql(`drop table if exists "refresh_token" cascade;`);

    this.addSql(`drop table if exists "pushed_authorization_request" cascade;`);

    this.addSql(`drop table if exists "consent" cascade;`);

    this.addSql(`drop table if exists "authorization_code" cascade;`);

    this.addSql(`alter table "environment" drop column "logo_url";`);

    this.addSql(`alter table "oauth_client" drop constraint "oauth_client_environment_id_metadata_document_url_unique";`);
    this.addSql(`alter table "oauth_client" drop column "metadata_document_url";`);
  }

}
