import { Migration } from '@mikro-orm/migrations';

export class Migration20261201172943_sign_in_challenges extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "sign_in_challenge" ("id" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "environment_id" text not null, "email" text not null, "code_sealed" text not null, "link_token_hash" text not null, "attempts" int not null default 0, "expires_at" timestamptz not null, "consumed_at" timestamptz null, "request_ip" text not null, "flow_id" text null, constraint "sign_in_challenge_pkey" primary key ("id"));`);
    this.addSql(`alter table "sign_in_challenge" add constraint "sign_in_challenge_link_token_hash_unique" unique ("link_token_hash");`);
    this.addSql(`create index "sign_in_challenge_environment_id_request_ip_created_at_index" on "sign_in_challenge" ("environment_id", "request_ip", "created_at");`);
    this.addSql(`create index "sign_in_challenge_environment_id_email_created_at_index" on "sign_in_challenge" ("environment_id", "email", "created_at");`);

    this.addSql(`alter table "sign_in_challenge" add constraint "sign_in_challenge_environment_id_foreign" foreign key ("environment_id") references "environment" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "sign_in_challenge" cascade;`);
  }

}
