import { Migration } from '@mikro-orm/migrations';

/**
 * The token endpoint serves clients, keys and resource servers from an in-memory cache in every
 * process. These triggers NOTIFY `gatehouse_oauth` whenever something the cache holds changes
 * (delivered at commit, to every process): `client:<id>` when one client changed (its row,
 * secrets or roles), so only that client is dropped; the environment id when something the
 * whole environment shares changed (keys, resource servers, trusted issuers, roles and their
 * permissions, the registration policy). Usage stamps (`client_secret.last_used_at`) do not
 * count as changes.
 */
const ENVIRONMENT_TABLES = ['signing_key', 'resource_server', 'trusted_issuer', 'role', 'permission'];

export class Migration20261127023700_oauth_cache_notify extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create function oauth_cache_notify() returns trigger language plpgsql as $$
declare
  env text;
begin
  if tg_table_name = 'oauth_client' then
    perform pg_notify('gatehouse_oauth', 'client:' || coalesce(new.id, old.id));
    return null;
  elsif tg_table_name in ('client_secret', 'oauth_client_role') then
    perform pg_notify('gatehouse_oauth', 'client:' || coalesce(new.client_id, old.client_id));
    return null;
  elsif tg_table_name = 'environment' then
    env := coalesce(new.id, old.id);
  elsif tg_table_name = 'role_permission' then
    select environment_id into env from role where id = coalesce(new.role_id, old.role_id);
  elsif tg_op = 'DELETE' then
    env := old.environment_id;
  else
    env := new.environment_id;
  end if;
  -- A parent already deleted in the same statement: tell every process to drop everything.
  perform pg_notify('gatehouse_oauth', coalesce(env, '*'));
  return null;
end
$$;`);
    for (const table of ENVIRONMENT_TABLES) {
      this.addSql(`create trigger ${table}_oauth_cache after insert or update or delete on "${table}"
  for each row execute function oauth_cache_notify();`);
    }
    this.addSql(`create trigger oauth_client_oauth_cache after insert or update or delete on "oauth_client"
  for each row execute function oauth_cache_notify();`);
    this.addSql(`create trigger client_secret_oauth_cache after insert or delete or update of secret_hash, expires_at, revoked_at on "client_secret"
  for each row execute function oauth_cache_notify();`);
    this.addSql(`create trigger oauth_client_role_oauth_cache after insert or update or delete on "oauth_client_role"
  for each row execute function oauth_cache_notify();`);
    this.addSql(`create trigger role_permission_oauth_cache after insert or update or delete on "role_permission"
  for each row execute function oauth_cache_notify();`);
    this.addSql(`create trigger environment_oauth_cache after update of client_registration_policy, initial_access_token_hash, registration_scopes or delete on "environment"
  for each row execute function oauth_cache_notify();`);
  }

  override async down(): Promise<void> {
    for (const table of [...ENVIRONMENT_TABLES, 'oauth_client', 'client_secret', 'oauth_client_role', 'role_permission', 'environment']) {
      this.addSql(`drop trigger if exists ${table}_oauth_cache on "${table}";`);
    }
    this.addSql(`drop function if exists oauth_cache_notify();`);
  }
}
