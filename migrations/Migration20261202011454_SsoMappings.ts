import { Migration } from '@mikro-orm/migrations';

export class Migration20261202011454_SsoMappings extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "sso_connection" add column "attribute_mapping" jsonb not null default '{}', add column "group_role_mappings" jsonb not null default '[]';`);

    this.addSql(`alter table "sso_identity" add column "attributes" jsonb not null default '{}', add column "last_signed_in_at" timestamptz null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "sso_connection" drop column "attribute_mapping", drop column "group_role_mappings";`);

    this.addSql(`alter table "sso_identity" drop column "attributes", drop column "last_signed_in_at";`);
  }

}
