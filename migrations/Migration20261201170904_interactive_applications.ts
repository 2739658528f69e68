import { Migration } from '@mikro-orm/migrations';

export class Migration20261201170904_interactive_applications extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter type "application_type" add value if not exists 'WEB' after 'DYNAMIC';`);

    this.addSql(`alter type "application_type" add value if not exists 'SPA' after 'WEB';`);

    this.addSql(`alter type "application_type" add value if not exists 'NATIVE' after 'SPA';`);

    this.addSql(`alter table "oauth_client" add column "post_logout_redirect_uris" text[] not null default '{}', add column "allowed_web_origins" text[] not null default '{}', add column "first_party" boolean not null default true, add column "id_token_ttl" int not null default 3600, add column "refresh_token_idle_ttl" int not null default 1209600, add column "refresh_token_absolute_ttl" int not null default 7776000, add column "backchannel_logout_uri" text null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "oauth_client" drop column "post_logout_redirect_uris", drop column "allowed_web_origins", drop column "first_party", drop column "id_token_ttl", drop column "refresh_token_idle_ttl", drop column "refresh_token_absolute_ttl", drop column "backchannel_logout_uri";`);
  }

}
