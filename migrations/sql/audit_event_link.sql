create function audit_event_link(e audit_event) returns audit_event language plpgsql as $$
declare
  previous text;
  previous_seq bigint;
begin
  perform pg_advisory_xact_lock(hashtextextended('gatehouse.audit:' || e.chain_key, 0));
  -- The chain's last linked event: committed ones, and this transaction's own linked before this one.
  select x.hash, x.seq into previous, previous_seq from audit_event x where x.chain_key = e.chain_key and x.hash is not null order by x.seq desc limit 1;
  if previous is null then
    select c.hash, c.seq into previous, previous_seq from audit_checkpoint c where c.chain_key = e.chain_key;
  end if;
  -- The default drew seq at insert: it stands if it still follows the chain's last event.
  if e.seq is null or e.seq <= coalesce(previous_seq, 0)
     or e.seq > coalesce(pg_sequence_last_value(pg_get_serial_sequence('audit_event', 'seq')::regclass), 0) then
    e.seq := nextval(pg_get_serial_sequence('audit_event', 'seq'));
  end if;
  e.prev_hash := coalesce(previous, repeat('0', 64));
  e.hash := encode(sha256(convert_to(audit_event_canonical(e), 'UTF8')), 'hex');
  return e;
end
$$;
