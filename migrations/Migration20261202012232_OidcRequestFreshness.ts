import { Migration } from '@mikro-orm/migrations';

export class Migration20261202012232_OidcRequestFreshness extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "oidc_request" add column "max_age" int null, add column "force_authn" boolean not null default false;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "oidc_request" drop column "max_age", drop column "force_authn";`);
  }

}
