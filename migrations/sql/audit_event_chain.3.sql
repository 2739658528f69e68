create or replace function audit_event_chain() returns trigger language plpgsql as $$
declare
  previous text;
  previous_seq bigint;
begin
  NEW.chain_key := audit_event_chain_key(NEW);
  perform pg_advisory_xact_lock(hashtextextended('gatehouse.audit:' || NEW.chain_key, 0));
  select e.hash, e.seq into previous, previous_seq from audit_event e where e.chain_key = NEW.chain_key order by e.seq desc limit 1;
  if previous is null then
    select c.hash, c.seq into previous, previous_seq from audit_checkpoint c where c.chain_key = NEW.chain_key;
  end if;
  -- The default drew NEW.seq before the lock: it stands if it still follows the chain's last event.
  if NEW.seq is null or NEW.seq <= coalesce(previous_seq, 0)
     or NEW.seq > coalesce(pg_sequence_last_value(pg_get_serial_sequence('audit_event', 'seq')::regclass), 0) then
    NEW.seq := nextval(pg_get_serial_sequence('audit_event', 'seq'));
  end if;
  NEW.prev_hash := coalesce(previous, repeat('0', 64));
  NEW.hash := encode(sha256(convert_to(audit_event_canonical(NEW), 'UTF8')), 'hex');
  return NEW;
end
$$;
