create function audit_event_notify() returns trigger language plpgsql as $$
begin
  perform pg_notify('gatehouse_audit', k) from (select distinct chain_key as k from inserted) chains;
  return null;
end
$$;
