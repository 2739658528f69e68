create function audit_event_seal() returns trigger language plpgsql as $$
declare
  sealed audit_event;
  maintenance text;
begin
  if NEW.hash is not null then
    return null;
  end if;
  sealed := audit_event_link(NEW);
  maintenance := current_setting('gatehouse.audit_maintenance', true);
  perform set_config('gatehouse.audit_maintenance', 'on', true);
  update audit_event set seq = sealed.seq, prev_hash = sealed.prev_hash, hash = sealed.hash where id = sealed.id;
  perform set_config('gatehouse.audit_maintenance', coalesce(maintenance, ''), true);
  return null;
end
$$;
