do $$
declare
  r audit_event;
  previous text;
begin
  for r in select * from audit_event order by seq loop
    r.chain_key := audit_event_chain_key(r);
    select e.hash into previous from audit_event e where e.chain_key = r.chain_key and e.seq < r.seq order by e.seq desc limit 1;
    r.prev_hash := coalesce(previous, repeat('0', 64));
    update audit_event set chain_key = r.chain_key, prev_hash = r.prev_hash,
      hash = encode(sha256(convert_to(audit_event_canonical(r), 'UTF8')), 'hex')
    where seq = r.seq;
  end loop;
end
$$;
