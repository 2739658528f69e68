create or replace function audit_event_chain() returns trigger language plpgsql as $$
declare
  previous text;
begin
  NEW.chain_key := audit_event_chain_key(NEW);
  perform pg_advisory_xact_lock(hashtextextended('gatehouse.audit:' || NEW.chain_key, 0));
  NEW.seq := nextval(pg_get_serial_sequence('audit_event', 'seq'));
  select e.hash into previous from audit_event e where e.chain_key = NEW.chain_key order by e.seq desc limit 1;
  NEW.prev_hash := coalesce(previous, repeat('0', 64));
  NEW.hash := encode(sha256(convert_to(audit_event_canonical(NEW), 'UTF8')), 'hex');
  return NEW;
end
$$;
