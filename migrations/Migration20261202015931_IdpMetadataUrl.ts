import { Migration } from '@mikro-orm/migrations';

export class Migration20261202015931_IdpMetadataUrl extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "sso_connection" add column "idp_metadata_url" text null, add column "idp_metadata_fetched_at" timestamptz null, add column "idp_metadata_error" text null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "sso_connection" drop column "idp_metadata_url", drop column "idp_metadata_fetched_at", drop column "idp_metadata_error";`);
  }

}
