// A PostgreSQL adapter for oidc-provider (its `adapter` option), so that the comparison server
// of bench/signin keeps its grants and refresh tokens where Gatehouse keeps its own: in
// PostgreSQL, every write committed before the response. One table for every model, the layout
// oidc-provider's own example adapters use (payload as JSON, the ids it looks things up by in
// columns of their own); each method is one statement (autocommit), as in those examples.
//
// Also an `account` table that the server's findAccount reads on every grant, as Gatehouse
// reads its user row on every refresh.

export const SCHEMA = `
create table if not exists oidc_payload (
  id text not null,
  type text not null,
  payload jsonb not null,
  grant_id text,
  user_code text,
  uid text,
  expires_at timestamptz,
  consumed_at timestamptz,
  primary key (id, type)
);
create index if not exists oidc_payload_grant_id on oidc_payload (grant_id, type);
create index if not exists oidc_payload_uid on oidc_payload (uid);
create index if not exists oidc_payload_user_code on oidc_payload (user_code);
create table if not exists account (
  id text primary key,
  email text not null,
  email_verified boolean not null
);
`;

/** The adapter class for `pool` (a pg.Pool): oidc-provider constructs one per model name. */
export function postgresAdapter(pool) {
  const live = (row) => row && (!row.expires_at || row.expires_at.getTime() > Date.now());
  const payloadOf = (row) => (live(row) ? { ...row.payload, ...(row.consumed_at ? { consumed: Math.floor(row.consumed_at.getTime() / 1000) } : {}) } : undefined);

  return class PostgresAdapter {
    constructor(name) {
      this.type = name;
    }

    async upsert(id, payload, expiresIn) {
      await pool.query(
        `insert into oidc_payload (id, type, payload, grant_id, user_code, uid, expires_at)
         values ($1, $2, $3, $4, $5, $6, case when $7::integer is null then null else now() + make_interval(secs => $7::integer) end)
         on conflict (id, type) do update set payload = excluded.payload, grant_id = excluded.grant_id,
           user_code = excluded.user_code, uid = excluded.uid, expires_at = excluded.expires_at`,
        [id, this.type, JSON.stringify(payload), payload.grantId ?? null, payload.userCode ?? null, payload.uid ?? null, expiresIn ?? null],
      );
    }

    async find(id) {
      const { rows } = await pool.query('select payload, expires_at, consumed_at from oidc_payload where id = $1 and type = $2', [id, this.type]);
      return payloadOf(rows[0]);
    }

    async findByUserCode(userCode) {
      const { rows } = await pool.query('select payload, expires_at, consumed_at from oidc_payload where user_code = $1 and type = $2', [userCode, this.type]);
      return payloadOf(rows[0]);
    }

    async findByUid(uid) {
      const { rows } = await pool.query('select payload, expires_at, consumed_at from oidc_payload where uid = $1 and type = $2', [uid, this.type]);
      return payloadOf(rows[0]);
    }

    async consume(id) {
      await pool.query('update oidc_payload set consumed_at = now() where id = $1 and type = $2', [id, this.type]);
    }

    async destroy(id) {
      await pool.query('delete from oidc_payload where id = $1 and type = $2', [id, this.type]);
    }

    async revokeByGrantId(grantId) {
      await pool.query('delete from oidc_payload where grant_id = $1 and type = $2', [grantId, this.type]);
    }
  };
}
