create function oauth_cache_notify() returns trigger language plpgsql as $$
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
$$;
