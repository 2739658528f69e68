create or replace function audit_event_chain() returns trigger language plpgsql as $$
begin
  NEW.chain_key := audit_event_chain_key(NEW);
  -- An INSERT that is its whole transaction (the group-commit writer's) asks to be linked now,
  -- by this value of hash: it commits at once, so the chain's lock is held no longer than at
  -- commit, and no UPDATE is needed. Any other event is linked as its transaction commits, by
  -- audit_event_seal(), so the lock is not held across the rest of the transaction.
  if NEW.hash = 'link-at-insert' then
    return audit_event_link(NEW);
  end if;
  NEW.prev_hash := null;
  NEW.hash := null;
  return NEW;
end
$$;
