// Benchmark: a page of 20 organizations with their nested relations (organizations → domains,
// memberships → user, roles) on PostgreSQL at concurrency 16, with DataLoader batching on and off.
//
//   npm run bench            (builds, then runs this file)
//   BENCH_DATABASE_URL=postgres://... BENCH_DURATION=20 BENCH_CONNECTIONS=16 node bench/graphql/run.mjs
//   BENCH_SERVER=/other/checkout/dist/src/main.js node bench/graphql/run.mjs   (another build, to compare)
//
// Each mode gets a freshly created database and its own server process (node dist/src/main.js),
// seeded through the GraphQL API; autocannon runs in this process over loopback.
import { spawn } from 'node:child_process';
import autocannon from 'autocannon';
import { adminQuery, BENCH_DATABASE_URL, databaseUrl } from '../lib/postgres.mjs';

const BASE_URL = BENCH_DATABASE_URL;
const DURATION = Number(process.env.BENCH_DURATION || 15);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS || 16);
const ORGS = 50;
const MEMBERS = 3;
const PAGE = 20;
const PORT = Number(process.env.BENCH_PORT || 4710);
const SERVER = process.env.BENCH_SERVER || 'dist/src/main.js';

// Priced at about 12,000 of the 20,000 default budget (each organization may have 100 domains,
// each membership 20 roles): the largest page of this shape that fits.
const QUERY = `query Bench($env: ID, $first: Int) {
  organizations(environmentId: $env, first: $first) {
    totalCount
    nodes { id name domains { domain } memberships(first: 10) { totalCount nodes {
      user { email } roles { key name } } } }
  }
}`;

const admin = (sql) => adminQuery(BASE_URL, sql);

function startServer(dbUrl, batching) {
  const env = {
    ...process.env,
    DATABASE_URL: dbUrl,
    PORT: String(PORT),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    GATEHOUSE_DATALOADER_BATCHING: String(batching),
    GATEHOUSE_MASTER_KEY: Buffer.alloc(32, 1).toString('base64'),
  };
  const child = spawn(process.execPath, [SERVER], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 30_000);
    child.on('exit', (code) => reject(new Error(`server exited ${code}:\n${out}`)));
    const poll = setInterval(async () => {
      const key = /(gh_live_[A-Za-z0-9_-]{43})/.exec(out)?.[1];
      if (!key) return;
      try {
        const ready = await fetch(`http://127.0.0.1:${PORT}/readyz`);
        if (ready.ok) {
          clearInterval(poll);
          clearTimeout(timer);
          resolve({ child, key });
        }
      } catch {
        // not listening yet
      }
    }, 100);
  });
}

async function gql(key, query, variables) {
  const response = await fetch(`http://127.0.0.1:${PORT}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

async function seed(key) {
  const { viewer } = await gql(key, '{ viewer { environmentIds } }');
  const env = viewer.environmentIds[0];
  for (const permission of ['invoices:read', 'invoices:write', 'reports:read']) {
    await gql(key, 'mutation($i: CreatePermissionInput!) { createPermission(input: $i) { userErrors { code } } }', {
      i: { environmentId: env, key: permission },
    });
  }
  await gql(key, 'mutation($i: CreateRoleInput!) { createRole(input: $i) { userErrors { code } } }', {
    i: { environmentId: env, key: 'billing', name: 'Billing', permissionKeys: ['invoices:read', 'invoices:write'] },
  });
  for (let o = 0; o < ORGS; o += 1) {
    const { createOrganization } = await gql(
      key,
      'mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) { organization { id } } }',
      { i: { environmentId: env, name: `Org ${o}`, domains: [{ domain: `org${o}.example.com` }] } },
    );
    for (let m = 0; m < MEMBERS; m += 1) {
      const { createUser } = await gql(key, 'mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } } }', {
        i: { environmentId: env, email: `user${m}@org${o}.example.com` },
      });
      await gql(key, 'mutation($i: CreateMembershipInput!) { createMembership(input: $i) { userErrors { code } } }', {
        i: { organizationId: createOrganization.organization.id, userId: createUser.user.id, roleKeys: ['member', 'billing'] },
      });
    }
  }
  return env;
}

async function measure(batching) {
  const name = `gatehouse_bench_${batching ? 'batched' : 'unbatched'}`;
  await admin(`drop database if exists "${name}" with (force)`);
  await admin(`create database "${name}"`);
  const { child, key } = await startServer(databaseUrl(BASE_URL, name), batching);
  try {
    const env = await seed(key);
    const body = JSON.stringify({ query: QUERY, variables: { env, first: PAGE } });
    const check = await gql(key, QUERY, { env, first: PAGE });
    if (check.organizations.nodes.length !== PAGE) throw new Error('seed failed');
    const result = await autocannon({
      url: `http://127.0.0.1:${PORT}/graphql`,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body,
      connections: CONNECTIONS,
      duration: DURATION,
      warmup: { connections: CONNECTIONS, duration: 3 },
    });
    if (result.non2xx || result.errors) throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors`);
    return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, total: result.requests.total };
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    await admin(`drop database if exists "${name}" with (force)`);
  }
}

const batched = await measure(true);
const unbatched = await measure(false);
const row = (label, r) => `| ${label} | ${r.rps.toFixed(1)} | ${r.p50} | ${r.p99} | ${r.total} |`;
console.log(`\n${SERVER}: ${PAGE} of ${ORGS} organizations × ${MEMBERS} memberships, nested query, PostgreSQL, ${CONNECTIONS} connections, ${DURATION} s\n`);
console.log('| mode | req/s | p50 ms | p99 ms | requests |');
console.log('|---|---|---|---|---|');
console.log(row('DataLoader batching', batched));
console.log(row('no batching (N+1)', unbatched));
if (batched.total === 0 || unbatched.total === 0) {
  console.log('\nratios: n/a — a mode completed no request in the measured window; raise BENCH_DURATION');
} else {
  console.log(`\nthroughput ratio batched / unbatched: ${(batched.rps / unbatched.rps).toFixed(2)}×`);
  console.log(`p99 latency ratio unbatched / batched: ${(unbatched.p99 / batched.p99).toFixed(2)}×`);
}
