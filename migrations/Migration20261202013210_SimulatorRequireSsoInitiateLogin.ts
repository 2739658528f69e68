import { Migration } from '@mikro-orm/migrations';

export class Migration20261202013210_SimulatorRequireSsoInitiateLogin extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "organization" add column "require_sso" boolean not null default false;`);

    this.addSql(`alter type "sso_connection_type" add value if not exists 'SIMULATOR' after 'OIDC';`);

    this.addSql(`alter table "sso_connection" add column "idp_initiated_application_id" text null, add column "simulator_key_sealed" text null;`);


    this.addSql(`alter table "oauth_client" add column "initiate_login_uri" text null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "oauth_client" drop column "initiate_login_uri";`);

    this.addSql(`alter table "organization" drop column "require_sso";`);

    this.addSql(`alter table "sso_connection" drop column "idp_initiated_application_id", drop column "simulator_key_sealed";`);
  }

}
