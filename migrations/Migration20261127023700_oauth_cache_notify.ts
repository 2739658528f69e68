import { Migration } from '@mikro-orm/migrations';
import { sqlFile } from './sql-file.js';

/**
 * The token endpoint serves clients, keys and resource servers from an in-memory cache in every
 * process. These triggers NOTIFY `gatehouse_oauth` whenever something the cache holds changes
 * (delivered at commit, to every process): `client:<id>` when one client changed (its row,
 * secrets or roles), so only that client is dropped; the environment id when something the
 * whole environment shares changed (keys, resource servers, trusted issuers, roles and their
 * permissions, the registration policy). Usage stamps (`client_secret.last_used_at`) do not
 * count as changes.
 */
const CHANGES = 'insert or update or delete';

/**
 * Every table whose changes the cache hears of, with the changes that fire its trigger: the one
 * list both directions of this migration walk (each trigger is `<table>_oauth_cache`).
 */
const TRIGGERS: readonly { table: string; on: string }[] = [
  // Shared by the whole environment.
  { table: 'signing_key', on: CHANGES },
  { table: 'resource_server', on: CHANGES },
  { table: 'trusted_issuer', on: CHANGES },
  { table: 'role', on: CHANGES },
  { table: 'permission', on: CHANGES },
  // One client.
  { table: 'oauth_client', on: CHANGES },
  { table: 'client_secret', on: 'insert or delete or update of secret_hash, expires_at, revoked_at' },
  { table: 'oauth_client_role', on: CHANGES },
  // The environment again, through a role, or itself.
  { table: 'role_permission', on: CHANGES },
  { table: 'environment', on: 'update of client_registration_policy, initial_access_token_hash, registration_scopes or delete' },
];

export class Migration20261127023700_oauth_cache_notify extends Migration {
  override async up(): Promise<void> {
    this.addSql(sqlFile('oauth_cache_notify'));
    for (const { table, on } of TRIGGERS) {
      this.addSql(`create trigger ${table}_oauth_cache after ${on} on "${table}"
  for each row execute function oauth_cache_notify();`);
    }
  }

  override async down(): Promise<void> {
    for (const { table } of TRIGGERS) {
      this.addSql(`drop trigger if exists ${table}_oauth_cache on "${table}";`);
    }
    this.addSql(`drop function if exists oauth_cache_notify();`);
  }
}
