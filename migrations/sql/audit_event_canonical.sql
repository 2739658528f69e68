create function audit_event_canonical(e audit_event) returns text language sql stable as $$
  select jsonb_build_array(
    e.prev_hash, e.chain_key, e.seq::text, e.id, e.workspace_id, e.environment_id, e.organization_id,
    e.action, e.actor_type, e.actor_id, e.actor_name, e.targets, e.target_ids, e.before, e.after,
    e.ip, e.user_agent, e.request_id,
    to_char(e.occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
  )::text
$$;
