// Benchmark: nested GraphQL reads, Gatehouse vs PostGraphile 4 on the same seeded PostgreSQL
// database in the same run (organizations → domains, memberships → user, roles → permissions).
//
//   npm run bench            (builds, then runs this file)
//   BENCH_DURATION=20 BENCH_ROUNDS=3 node bench/graphql/run.mjs
//   BENCH_SERVER=/other/checkout/dist/src/main.js node bench/graphql/run.mjs   (another build, to compare)
//
// One database is created and seeded through Gatehouse's GraphQL API; a fresh Gatehouse
// (node dist/src/main.js) and PostGraphile (bench/graphql/postgraphile-server.mjs, the
// devDependency) both serve it, each in its own process. autocannon runs in this process over
// loopback. Within each round every server is measured once, the order alternating from round
// to round, so that a noisy neighbour on a shared machine hurts both alike.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { adminQuery, BENCH_DATABASE_URL, databaseUrl } from '../lib/postgres.mjs';
import { trackChild, waitUntilReady } from '../lib/processes.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const DURATION = Number(process.env.BENCH_DURATION || 15);
const WARMUP = Number(process.env.BENCH_WARMUP || 3);
// The first measurement of each server and query warms up longer: at a few dozen requests per
// second, V8 needs more than a few seconds to optimize the hot paths (and Gatehouse to compile
// the query), and a cold first round skewed the mean.
const FIRST_WARMUP = Math.max(WARMUP, Number(process.env.BENCH_FIRST_WARMUP || 10));
const ROUNDS = Number(process.env.BENCH_ROUNDS || 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS || 16);
const PORT = Number(process.env.BENCH_PORT || 4710);
const SERVER = process.env.BENCH_SERVER || 'dist/src/main.js';
// Another build measured in the same rounds, on the same database (before/after comparisons).
const BASE_SERVER = process.env.BENCH_BASE_SERVER || '';
const SERVERS = (process.env.BENCH_SERVERS || 'gatehouse,postgraphile').split(',').map((s) => s.trim()).filter(Boolean);
const QUERY_NAMES = (process.env.BENCH_QUERIES || 'nested50,page20').split(',').map((s) => s.trim()).filter(Boolean);
// The 50-organization query with permissions is priced at about 1,000,000 by the cost model
// (every list counted at its largest size); the bench server gets a budget above it.
const MAX_COMPLEXITY = process.env.BENCH_MAX_QUERY_COMPLEXITY || '2000000';
const GATEHOUSE_NODE_ARGS = (process.env.BENCH_GATEHOUSE_NODE_ARGS || '').split(' ').filter(Boolean);
const ORGS = 50;
const MEMBERS = 3;
const DB_NAME = 'gatehouse_bench_graphql';

/** The same reads in both APIs: `nodes` of an organizations page with the relations below. */
const QUERIES = {
  nested50: {
    label: `${ORGS} orgs × domains × ${MEMBERS} memberships × user × roles × permissions`,
    first: ORGS,
    gatehouse: `query Bench($env: ID, $first: Int) {
  organizations(environmentId: $env, first: $first) {
    totalCount
    nodes { id name domains { domain } memberships(first: 10) { totalCount nodes {
      user { email } roles { key name permissions { key } } } } }
  }
}`,
    postgraphile: `query Bench($env: String!, $first: Int) {
  allOrganizations(first: $first, condition: { environmentId: $env }, orderBy: [CREATED_AT_DESC, ID_DESC]) {
    totalCount
    nodes { id name organizationDomainsByOrganizationId { nodes { domain } }
      membershipsByOrganizationId(first: 10, orderBy: [CREATED_AT_ASC, ID_ASC]) { totalCount nodes {
        appUserByUserId { email }
        membershipRolesByMembershipId { nodes { roleByRoleId { key name
          rolePermissionsByRoleId { nodes { permissionByPermissionId { key } } } } } } } } }
  }
}`,
  },
  // Priced at about 12,000: fits the default 20,000 budget.
  page20: {
    label: '20 orgs × domains × memberships × user × roles (default cost budget)',
    first: 20,
    gatehouse: `query Bench($env: ID, $first: Int) {
  organizations(environmentId: $env, first: $first) {
    totalCount
    nodes { id name domains { domain } memberships(first: 10) { totalCount nodes {
      user { email } roles { key name } } } }
  }
}`,
    postgraphile: `query Bench($env: String!, $first: Int) {
  allOrganizations(first: $first, condition: { environmentId: $env }, orderBy: [CREATED_AT_DESC, ID_DESC]) {
    totalCount
    nodes { id name organizationDomainsByOrganizationId { nodes { domain } }
      membershipsByOrganizationId(first: 10, orderBy: [CREATED_AT_ASC, ID_ASC]) { totalCount nodes {
        appUserByUserId { email }
        membershipRolesByMembershipId { nodes { roleByRoleId { key name } } } } } }
  }
}`,
  },
};

/** Both APIs' answers, reduced to the same plain shape (sorted where order is not specified). */
function normalize(server, data) {
  const sorted = (list) => [...list].sort();
  if (server === 'postgraphile') {
    const page = data.allOrganizations;
    return {
      totalCount: page.totalCount,
      nodes: page.nodes.map((o) => ({
        name: o.name,
        domains: sorted(o.organizationDomainsByOrganizationId.nodes.map((d) => d.domain)),
        memberships: o.membershipsByOrganizationId.totalCount,
        members: o.membershipsByOrganizationId.nodes.map((m) => ({
          email: m.appUserByUserId.email,
          roles: sorted(
            m.membershipRolesByMembershipId.nodes.map(({ roleByRoleId: r }) =>
              JSON.stringify([r.key, r.name, sorted((r.rolePermissionsByRoleId?.nodes ?? []).map((p) => p.permissionByPermissionId.key))]),
            ),
          ),
        })),
      })),
    };
  }
  const page = data.organizations;
  return {
    totalCount: page.totalCount,
    nodes: page.nodes.map((o) => ({
      name: o.name,
      domains: sorted(o.domains.map((d) => d.domain)),
      memberships: o.memberships.totalCount,
      members: o.memberships.nodes.map((m) => ({
        email: m.user.email,
        roles: sorted(m.roles.map((r) => JSON.stringify([r.key, r.name, sorted((r.permissions ?? []).map((p) => p.key))]))),
      })),
    })),
  };
}

const children = new Set();
const stopAll = async () => Promise.all([...children].map((child) => child.kill('SIGTERM')));
process.once('SIGINT', () => void stopAll().finally(() => process.exit(130)));

const procs = [];
function spawnProc(args, env) {
  const proc = trackChild(spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] }), children);
  procs.push(proc);
  return proc;
}

async function startGatehouse(dbUrl, port, extraEnv = {}, knownKey = undefined, entry = SERVER) {
  const env = {
    ...process.env,
    DATABASE_URL: dbUrl,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    GATEHOUSE_MAX_QUERY_COMPLEXITY: MAX_COMPLEXITY,
    GATEHOUSE_MASTER_KEY: process.env.GATEHOUSE_MASTER_KEY || Buffer.alloc(32, 1).toString('base64'),
    ...extraEnv,
  };
  // As `npm start` runs it: NODE_ENV is whatever the operator set (unset here by default).
  if (!process.env.BENCH_NODE_ENV) delete env.NODE_ENV;
  else env.NODE_ENV = process.env.BENCH_NODE_ENV;
  const proc = spawnProc([...GATEHOUSE_NODE_ARGS, entry], env);
  const key = await waitUntilReady(proc, 'gatehouse', async () => {
    const found = /(gh_live_[A-Za-z0-9_-]{43})/.exec(proc.stdout())?.[1] ?? knownKey;
    if (!found) return null;
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    return ready.ok ? found : null;
  });
  return { proc, key, url: `http://127.0.0.1:${port}/graphql` };
}

async function startPostGraphile(dbUrl, port) {
  const env = { ...process.env, DATABASE_URL: dbUrl, PORT: String(port), NODE_ENV: 'production' };
  const proc = spawnProc([path.join(here, 'postgraphile-server.mjs')], env);
  await waitUntilReady(proc, 'postgraphile', async () => /listening/.test(proc.stdout()));
  return { proc, url: `http://127.0.0.1:${port}/graphql` };
}

async function gql(url, key, query, variables) {
  const headers = { 'content-type': 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

async function seed(url, key) {
  const call = (query, variables) => gql(url, key, query, variables);
  const { viewer } = await call('{ viewer { environmentIds } }');
  const env = viewer.environmentIds[0];
  for (const permission of ['invoices:read', 'invoices:write', 'reports:read']) {
    await call('mutation($i: CreatePermissionInput!) { createPermission(input: $i) { userErrors { code } } }', {
      i: { environmentId: env, key: permission },
    });
  }
  await call('mutation($i: CreateRoleInput!) { createRole(input: $i) { userErrors { code } } }', {
    i: { environmentId: env, key: 'billing', name: 'Billing', permissionKeys: ['invoices:read', 'invoices:write'] },
  });
  await call('mutation($i: CreateRoleInput!) { createRole(input: $i) { userErrors { code } } }', {
    i: { environmentId: env, key: 'reporting', name: 'Reporting', permissionKeys: ['reports:read'] },
  });
  for (let o = 0; o < ORGS; o += 1) {
    const { createOrganization } = await call(
      'mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) { organization { id } } }',
      { i: { environmentId: env, name: `Org ${o}`, domains: [{ domain: `org${o}.example.com` }] } },
    );
    for (let m = 0; m < MEMBERS; m += 1) {
      const { createUser } = await call('mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } } }', {
        i: { environmentId: env, email: `user${m}@org${o}.example.com` },
      });
      await call('mutation($i: CreateMembershipInput!) { createMembership(input: $i) { userErrors { code } } }', {
        i: {
          organizationId: createOrganization.organization.id,
          userId: createUser.user.id,
          roleKeys: m === 0 ? ['member', 'billing', 'reporting'] : ['member', 'billing'],
        },
      });
    }
  }
  return env;
}

/** CPU time (user + system, ms) a process has used so far, from /proc; null elsewhere. */
function cpuMs(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in clock ticks of 1/100 s
  } catch {
    return null;
  }
}

async function load(target, body, warmup) {
  const pid = target.proc.child.pid;
  const common = {
    url: target.url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(target.key ? { authorization: `Bearer ${target.key}` } : {}) },
    body,
    connections: CONNECTIONS,
  };
  if (warmup > 0) await autocannon({ ...common, duration: warmup });
  const cpuBefore = cpuMs(pid);
  const result = await autocannon({ ...common, duration: DURATION });
  const cpuAfter = cpuMs(pid);
  if (result.non2xx || result.errors) throw new Error(`${target.name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  const total = result.requests.total;
  return {
    rps: total / DURATION,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total,
    cpuPerRequest: cpuBefore === null || !total ? null : (cpuAfter - cpuBefore) / total,
    load: os.loadavg()[0],
  };
}

const admin = (sql) => adminQuery(BENCH_DATABASE_URL, sql);
await admin(`drop database if exists "${DB_NAME}" with (force)`);
await admin(`create database "${DB_NAME}"`);
const dbUrl = databaseUrl(BENCH_DATABASE_URL, DB_NAME);
const targets = [];
try {
  console.log(`load average before start: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (${os.cpus().length} CPUs)`);
  const seeder = await startGatehouse(dbUrl, PORT);
  const env = await seed(seeder.url, seeder.key);
  // The measured Gatehouse starts fresh on the seeded database, as PostGraphile does: the process
  // that did the seeding spent 20–25% more CPU per request afterwards than an identical one
  // started beside it, which is not what this bench measures.
  await seeder.proc.stop();
  const gatehouse = SERVERS.includes('gatehouse') ? await startGatehouse(dbUrl, PORT, {}, seeder.key) : seeder;
  for (const name of SERVERS) {
    if (name === 'gatehouse') targets.push({ name: 'Gatehouse', api: 'gatehouse', ...gatehouse });
    else if (name === 'postgraphile') targets.push({ name: 'PostGraphile 4', api: 'postgraphile', ...(await startPostGraphile(dbUrl, PORT + 1)) });
    else if (name === 'gatehouse-unbatched') {
      const unbatched = await startGatehouse(dbUrl, PORT + 2, { GATEHOUSE_DATALOADER_BATCHING: 'false' }, gatehouse.key);
      targets.push({ name: 'Gatehouse, no DataLoader batching (N+1)', api: 'gatehouse', ...unbatched, key: gatehouse.key });
    } else throw new Error(`unknown server ${name} in BENCH_SERVERS`);
  }
  if (BASE_SERVER) {
    const base = await startGatehouse(dbUrl, PORT + 3, {}, gatehouse.key, BASE_SERVER);
    targets.splice(1, 0, { name: 'Gatehouse (BENCH_BASE_SERVER)', api: 'gatehouse', ...base, key: gatehouse.key });
  }

  const results = new Map();
  for (const queryName of QUERY_NAMES) {
    const spec = QUERIES[queryName];
    if (!spec) throw new Error(`unknown query ${queryName} in BENCH_QUERIES`);
    const bodies = new Map();
    let reference;
    for (const target of targets) {
      const variables = { env, first: spec.first };
      const query = spec[target.api];
      const answer = normalize(target.api, await gql(target.url, target.key, query, variables));
      if (answer.nodes.length !== spec.first) throw new Error(`${target.name}: ${answer.nodes.length} organizations, expected ${spec.first}`);
      const text = JSON.stringify(answer);
      reference ??= text;
      if (text !== reference) throw new Error(`${target.name} answers ${queryName} differently:\n${text}\nvs\n${reference}`);
      bodies.set(target, JSON.stringify({ query, variables }));
    }
    for (let round = 0; round < ROUNDS; round += 1) {
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const target of order) {
        const r = await load(target, bodies.get(target), round === 0 ? FIRST_WARMUP : WARMUP);
        const key = `${queryName}\u0000${target.name}`;
        if (!results.has(key)) results.set(key, []);
        results.get(key).push(r);
        console.log(
          `  round ${round + 1} ${queryName} ${target.name}: ${r.rps.toFixed(1)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms` +
            `${r.cpuPerRequest === null ? '' : `, ${r.cpuPerRequest.toFixed(1)} ms server CPU/request`}, load ${r.load.toFixed(2)}`,
        );
      }
    }
  }

  const mean = (list, pick) => list.reduce((sum, r) => sum + pick(r), 0) / list.length;
  console.log(
    `\n${SERVER} vs PostGraphile 4, PostgreSQL, ${CONNECTIONS} connections, ${ROUNDS} alternating round(s) of ${DURATION} s (after ${WARMUP} s warm-up, ${FIRST_WARMUP} s before the first) per server and query; Gatehouse GATEHOUSE_MAX_QUERY_COMPLEXITY=${MAX_COMPLEXITY}\n`,
  );
  console.log('| query | server | req/s | p50 ms | p99 ms | server CPU ms/request | requests |');
  console.log('|---|---|---|---|---|---|---|');
  const summary = [];
  for (const queryName of QUERY_NAMES) {
    for (const target of targets) {
      const runs = results.get(`${queryName}\u0000${target.name}`);
      const cpu = runs.every((r) => r.cpuPerRequest !== null) ? mean(runs, (r) => r.cpuPerRequest).toFixed(1) : 'n/a';
      const row = { queryName, target: target.name, rps: mean(runs, (r) => r.rps), p50: mean(runs, (r) => r.p50), p99: mean(runs, (r) => r.p99), total: runs.reduce((s, r) => s + r.total, 0) };
      summary.push(row);
      console.log(`| ${QUERIES[queryName].label} | ${target.name} | ${row.rps.toFixed(1)} | ${row.p50.toFixed(1)} | ${row.p99.toFixed(1)} | ${cpu} | ${row.total} |`);
    }
  }
  console.log('');
  for (const queryName of QUERY_NAMES) {
    const g = summary.find((r) => r.queryName === queryName && r.target === 'Gatehouse');
    const p = summary.find((r) => r.queryName === queryName && r.target === 'PostGraphile 4');
    if (!g || !p) continue;
    if (!g.total || !p.total) {
      console.log(`${queryName}: ratio n/a (a server completed no request; raise BENCH_DURATION)`);
      continue;
    }
    const b = summary.find((r) => r.queryName === queryName && r.target === 'Gatehouse (BENCH_BASE_SERVER)');
    if (b?.total && g.total) console.log(`${queryName}: Gatehouse / BENCH_BASE_SERVER throughput ${(g.rps / b.rps).toFixed(2)}×, p99 ${(g.p99 / b.p99).toFixed(2)}×`);
    console.log(
      `${queryName}: Gatehouse / PostGraphile 4 throughput ${(g.rps / p.rps).toFixed(2)}×, p99 ${g.p99.toFixed(1)} vs ${p.p99.toFixed(1)} ms (${(g.p99 / p.p99).toFixed(2)}×)`,
    );
  }
  console.log(`load average at the end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
} catch (error) {
  for (const proc of procs) {
    const err = proc.stderr().trim();
    if (err) console.error(`--- stderr of pid ${proc.child.pid} (${proc.child.spawnargs.at(-1)}) ---\n${err.slice(-4000)}`);
  }
  throw error;
} finally {
  await Promise.all(procs.map((proc) => proc.stop()));
  await admin(`drop database if exists "${DB_NAME}" with (force)`);
}
