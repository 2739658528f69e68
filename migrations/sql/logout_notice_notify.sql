create function logout_notice_notify() returns trigger language plpgsql as $$
begin
  perform pg_notify('gatehouse_logout', 'due');
  return null;
end
$$;
