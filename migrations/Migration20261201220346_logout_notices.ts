import { Migration } from '@mikro-orm/migrations';
import { sqlFile } from './sql-file.js';

/**
 * The back-channel logout outbox (OpenID Connect Back-Channel Logout 1.0), and a NOTIFY on
 * `gatehouse_logout` for each new notice, which wakes the logout workers of every process.
 */
export class Migration20261201220346_logout_notices extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "logout_notice" ("id" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "environment_id" text not null, "client_id" text not null, "session_id" text not null, "subject" text not null, "attempts" int not null default 0, "next_attempt_at" timestamptz not null, "locked_until" timestamptz null, "last_outcome" text null, constraint "logout_notice_pkey" primary key ("id"));`);
    this.addSql(`create index "logout_notice_client_id_index" on "logout_notice" ("client_id");`);
    this.addSql(`create index "logout_notice_next_attempt_at_index" on "logout_notice" ("next_attempt_at");`);

    this.addSql(`alter table "logout_notice" add constraint "logout_notice_environment_id_foreign" foreign key ("environment_id") references "environment" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "logout_notice" add constraint "logout_notice_client_id_foreign" foreign key ("client_id") references "oauth_client" ("id") on update cascade on delete cascade;`);

    this.addSql(sqlFile('logout_notice_notify'));
    this.addSql(`create trigger logout_notice_notify after insert on logout_notice for each row execute function logout_notice_notify();`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "logout_notice" cascade;`);
    this.addSql(`drop function if exists logout_notice_notify();`);
  }

}
