create function audit_event_outbox() returns trigger language plpgsql as $$
begin
  if NEW.environment_id is null then
    return null;
  end if;
  insert into webhook_delivery (id, endpoint_id, environment_id, event_id, event_type, status, attempts, next_attempt_at, created_at)
  select 'wdl_' || gatehouse_ulid(), w.id, NEW.environment_id, NEW.id, NEW.action, 'PENDING', 0, now(), now()
    from webhook_endpoint w
   where w.environment_id = NEW.environment_id
     and w.enabled
     and (cardinality(w.event_types) = 0 or exists (
       select 1 from unnest(w.event_types) t
        where t = '*' or t = NEW.action
           or (t like '%.*' and NEW.action like replace(left(t, -1), '_', '\_') || '%')));
  return null;
end
$$;
