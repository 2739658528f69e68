import { Migration } from '@mikro-orm/migrations';

/**
 * The hosted sign-in page shows an environment's social connections from the in-memory OAuth
 * cache of every process: a change to one NOTIFYs `gatehouse_oauth` with its environment id
 * (the existing `oauth_cache_notify()`), so every process drops the environment's state.
 */
export class Migration20261202051500_SocialConnectionCache extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create trigger social_connection_oauth_cache after insert or update or delete on "social_connection"
  for each row execute function oauth_cache_notify();`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger if exists social_connection_oauth_cache on "social_connection";`);
  }
}
