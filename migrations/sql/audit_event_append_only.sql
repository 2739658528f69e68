create function audit_event_append_only() returns trigger language plpgsql as $$
begin
  if coalesce(current_setting('gatehouse.audit_maintenance', true), '') <> 'on' then
    raise exception 'audit events are append-only' using errcode = 'insufficient_privilege';
  end if;
  return case when TG_OP = 'DELETE' then OLD else NEW end;
end
$$;
