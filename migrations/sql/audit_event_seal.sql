create function audit_event_seal() returns trigger language plpgsql as $$
declare
  sealed audit_event;
  previous text;
  previous_seq bigint;
  maintenance text;
begin
  sealed := NEW;
  perform pg_advisory_xact_lock(hashtextextended('gatehouse.audit:' || sealed.chain_key, 0));
  -- The chain's last sealed event: committed ones, and this transaction's own sealed before this one.
  select e.hash, e.seq into previous, previous_seq from audit_event e where e.chain_key = sealed.chain_key and e.hash is not null order by e.seq desc limit 1;
  if previous is null then
    select c.hash, c.seq into previous, previous_seq from audit_checkpoint c where c.chain_key = sealed.chain_key;
  end if;
  -- The default drew seq at insert: it stands if it still follows the chain's last event.
  if sealed.seq is null or sealed.seq <= coalesce(previous_seq, 0)
     or sealed.seq > coalesce(pg_sequence_last_value(pg_get_serial_sequence('audit_event', 'seq')::regclass), 0) then
    sealed.seq := nextval(pg_get_serial_sequence('audit_event', 'seq'));
  end if;
  sealed.prev_hash := coalesce(previous, repeat('0', 64));
  sealed.hash := encode(sha256(convert_to(audit_event_canonical(sealed), 'UTF8')), 'hex');
  maintenance := current_setting('gatehouse.audit_maintenance', true);
  perform set_config('gatehouse.audit_maintenance', 'on', true);
  update audit_event set seq = sealed.seq, prev_hash = sealed.prev_hash, hash = sealed.hash where id = sealed.id;
  perform set_config('gatehouse.audit_maintenance', coalesce(maintenance, ''), true);
  return null;
end
$$;
