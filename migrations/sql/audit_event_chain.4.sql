create or replace function audit_event_chain() returns trigger language plpgsql as $$
begin
  -- The chain is known at once; the link to it (seq, prev_hash, hash) is made at commit, by audit_event_seal().
  NEW.chain_key := audit_event_chain_key(NEW);
  NEW.prev_hash := null;
  NEW.hash := null;
  return NEW;
end
$$;
