create function audit_event_chain_key(e audit_event) returns text language sql immutable as $$
  select coalesce(e.environment_id, 'wks:' || e.workspace_id, 'global')
$$;
