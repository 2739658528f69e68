create function webhook_delivery_notify() returns trigger language plpgsql as $$
begin
  perform pg_notify('gatehouse_webhook', 'due');
  return null;
end
$$;
