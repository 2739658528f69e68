create function gatehouse_ulid() returns text language plpgsql volatile as $$
declare
  alphabet constant text := '0123456789abcdefghjkmnpqrstvwxyz';
  ms bigint := floor(extract(epoch from clock_timestamp()) * 1000)::bigint;
  u bytea := decode(replace(gen_random_uuid()::text, '-', ''), 'hex');
  r1 bigint := 0;
  r2 bigint := 0;
  result text := '';
  i int;
begin
  -- uuid v4 bytes 6 and 8 carry version and variant bits: use the random ones around them.
  for i in 0..4 loop r1 := (r1 << 8) | get_byte(u, i); end loop;
  for i in 9..13 loop r2 := (r2 << 8) | get_byte(u, i); end loop;
  for i in reverse 9..0 loop result := result || substr(alphabet, ((ms >> (5 * i)) & 31)::int + 1, 1); end loop;
  for i in reverse 7..0 loop result := result || substr(alphabet, ((r1 >> (5 * i)) & 31)::int + 1, 1); end loop;
  for i in reverse 7..0 loop result := result || substr(alphabet, ((r2 >> (5 * i)) & 31)::int + 1, 1); end loop;
  return result;
end
$$;
