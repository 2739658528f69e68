import { Migration } from '@mikro-orm/migrations';

export class Migration20261201173649_environment_sign_in_settings extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create type "sign_up_policy" as enum ('OPEN', 'INVITE_ONLY');`);
    this.addSql(`alter table "environment" add column "sign_up_policy" "sign_up_policy" not null default 'OPEN', add column "session_idle_ttl" int not null default 604800, add column "session_absolute_ttl" int not null default 2592000;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "environment" drop column "sign_up_policy", drop column "session_idle_ttl", drop column "session_absolute_ttl";`);

    this.addSql(`drop type "sign_up_policy";`);
  }

}
