// The comparison server of bench/signin: oidc-provider (panva/node-oidc-provider, a
// devDependency) answering the refresh_token grant with rotation (`rotateRefreshToken: true`),
// run as a child process of bench/signin/run.mjs so that it has an event loop of its own (as
// Gatehouse does). Each refresh returns what Gatehouse's does for the same grant: an ES256 JWT
// access token for the API (resource indicator), an ES256 ID token (scope openid email) and the
// next refresh token of the family.
//
// Storage: with BENCH_OP_DATABASE_URL, every model (grants, refresh tokens, …) lives in that
// PostgreSQL database through bench/signin/pg-adapter.mjs, and findAccount reads the account row
// on every grant. Without it, oidc-provider's default in-memory adapter (a development-only LRU
// of 1000 entries) and accounts in a Map: no storage at all.
//
// The refresh token families are seeded through oidc-provider's own models at start (a Grant
// with the scopes, then a RefreshToken with the fields its authorization_code grant gives one),
// not by signing in: the benchmark measures the refresh grant, not oidc-provider's
// interactions, which an application has to write itself.
//
// Configured by environment (set by run.mjs):
//   BENCH_OP_PORT            port to listen on (127.0.0.1); the issuer is http://127.0.0.1:<port>
//   BENCH_OP_CLIENT_SECRET   secret of client "bench-web" (client_secret_basic)
//   BENCH_OP_FAMILIES        refresh token families to seed
//   BENCH_OP_DATABASE_URL    PostgreSQL database for the adapter (schema created); unset: memory
//   BENCH_OP_POOL_SIZE       connections of its pg.Pool (default 10, as Gatehouse's)
// Prints one JSON line to stdout once listening: { ready, issuer, clientId, storage, refreshTokens }.
import Provider from 'oidc-provider';
import pg from 'pg';
import { resourceIndicators, serve, signingJwk } from '../lib/oidc-provider.mjs';
import { postgresAdapter, SCHEMA } from './pg-adapter.mjs';

const RESOURCE = 'https://api.bench.example';
const CLIENT_ID = 'bench-web';
const REDIRECT_URI = 'http://localhost:3000/callback';
const SCOPE = 'openid email offline_access read';
const port = Number(process.env.BENCH_OP_PORT);
const clientSecret = process.env.BENCH_OP_CLIENT_SECRET;
const families = Number(process.env.BENCH_OP_FAMILIES || 0);
const databaseUrl = process.env.BENCH_OP_DATABASE_URL || '';
if (!port || !clientSecret) {
  console.error('oidc-provider-server: BENCH_OP_PORT and BENCH_OP_CLIENT_SECRET are required');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;

let pool;
let adapter;
const accounts = new Map();
if (databaseUrl) {
  pool = new pg.Pool({ connectionString: databaseUrl, max: Number(process.env.BENCH_OP_POOL_SIZE || 10), idleTimeoutMillis: 120_000 });
  await pool.query(SCHEMA);
  adapter = postgresAdapter(pool);
}

async function findAccount(_ctx, accountId) {
  let row;
  if (pool) {
    ({
      rows: [row],
    } = await pool.query('select email, email_verified from account where id = $1', [accountId]));
  } else {
    row = accounts.get(accountId);
  }
  if (!row) return undefined;
  return { accountId, claims: async () => ({ sub: accountId, email: row.email, email_verified: row.email_verified }) };
}

// The provider's own signing key (access and ID tokens).
const signingKey = await signingJwk();

const provider = new Provider(issuer, {
  ...(adapter ? { adapter } : {}),
  findAccount,
  jwks: { keys: [signingKey] },
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: clientSecret,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [REDIRECT_URI],
      id_token_signed_response_alg: 'ES256',
    },
  ],
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  scopes: ['openid', 'email', 'offline_access'],
  rotateRefreshToken: true,
  // Gatehouse's defaults: access and ID tokens 1 h, refresh tokens 14 days idle (each rotation
  // starts a new one here), families 90 days (the grant's lifetime here).
  ttl: { AccessToken: 3600, IdToken: 3600, RefreshToken: 14 * 24 * 3600, Grant: 90 * 24 * 3600, Session: 14 * 24 * 3600, Interaction: 3600, AuthorizationCode: 60 },
  // Only to silence the "default cookie keys" warning: no cookie is set by the token endpoint.
  cookies: { keys: ['gatehouse-bench-only-not-a-secret'] },
  features: {
    devInteractions: { enabled: false },
    resourceIndicators: resourceIndicators(RESOURCE),
  },
});

/** Seeds `count` families: an account, a grant of the scopes, and the family's first refresh token. */
async function seed(count) {
  const client = await provider.Client.find(CLIENT_ID);
  const authTime = Math.floor(Date.now() / 1000);
  const tokens = [];
  for (let i = 0; i < count; i += 1) {
    const accountId = `acc_${i}_${Math.random().toString(36).slice(2, 10)}`;
    const email = `${accountId}@bench.example`;
    if (pool) await pool.query('insert into account (id, email, email_verified) values ($1, $2, true)', [accountId, email]);
    else accounts.set(accountId, { email, email_verified: true });
    const grant = new provider.Grant({ accountId, clientId: CLIENT_ID });
    grant.addOIDCScope('openid email offline_access');
    grant.addResourceScope(RESOURCE, 'read');
    const grantId = await grant.save();
    const refreshToken = new provider.RefreshToken({
      accountId,
      amr: ['otp'],
      authTime,
      client,
      expiresWithSession: false,
      grantId,
      gty: 'authorization_code',
      resource: RESOURCE,
      rotations: 0,
      scope: SCOPE,
    });
    tokens.push(await refreshToken.save());
  }
  return tokens;
}

const refreshTokens = await seed(families);
serve(provider, port, { ready: true, issuer, clientId: CLIENT_ID, storage: pool ? 'postgresql' : 'memory', refreshTokens }, () => pool?.end());
