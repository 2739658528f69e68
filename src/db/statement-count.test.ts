import { describe, expect, it } from 'vitest';
import { statementCount } from './statement-count.js';

describe('statementCount', () => {
  it('counts statements separated by semicolons', () => {
    expect(statementCount('select 1')).toBe(1);
    expect(statementCount('select 1;')).toBe(1);
    expect(statementCount('select 1; select 2;')).toBe(2);
    expect(statementCount(' ; ;\n')).toBe(0);
  });

  it('ignores semicolons in literals, identifiers, dollar quotes and comments', () => {
    expect(statementCount(`insert into t (ua) values ('Mozilla/5.0 (X11; Linux x86_64)'), ('a;b')`)).toBe(1);
    expect(statementCount(`select 'it''s; fine'`)).toBe(1);
    expect(statementCount(`select E'back\\'slash; still' ; select 2`)).toBe(2);
    expect(statementCount(`select "odd;name" from t`)).toBe(1);
    expect(statementCount(`create function f() returns trigger language plpgsql as $$ begin return new; end; $$; create trigger x`)).toBe(2);
    expect(statementCount(`select $tag$ a; b $tag$`)).toBe(1);
    expect(statementCount(`select 1 -- a; comment\n`)).toBe(1);
    expect(statementCount(`select /* a; /* nested; */ b; */ 1`)).toBe(1);
    expect(statementCount(`select $1, $2 from t where a = $1; select 2`)).toBe(2);
  });
});
