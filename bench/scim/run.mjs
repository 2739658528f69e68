// Benchmark: the SCIM 2.0 server on PostgreSQL, as an identity provider drives it.
//
//   npm run bench:scim
//   BENCH_DURATION=5 node bench/scim/run.mjs --modes create,filter
//
// Rows (`--modes`):
//  - create:  POST /Users sustained by `--concurrency` clients (default 8), every request a new
//             person of the organization's verified domain, so each one also makes an environment
//             user, a membership and their audit events: req/s, p50/p95/p99, server and
//             PostgreSQL CPU per request. The issue's target: ≥ 500 req/s with p95 < 100 ms.
//  - sync:    an initial sync of `--sync-users` (10,000) people as Entra ID does it: for each, the
//             userName probe, then the POST, by `--concurrency` clients; the wall time.
//  - filter:  `GET /Users?filter=userName eq "…"` among `--filter-users` (100,000) Users of one
//             directory (seeded in SQL), for random existing names: req/s and latency.
//  - members: one PATCH adding `--patch-size` (1,000) members to a group of `--group-size`
//             (10,000), timed `--patch-rounds` times with new members each time; and single-member
//             adds into the same group (what Entra sends), sustained.
//
// Gatehouse runs as `node dist/src/main.js` on a freshly created database (dropped afterwards),
// set up through its GraphQL API with the owner key it prints, with a SCIM request budget large
// enough not to meter the bench (GATEHOUSE_SCIM_REQUESTS_PER_MINUTE).
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { benchBookkeeping } from '../lib/bookkeeping.mjs';
import { databaseBackends, databaseCpuSince, processCpuSeconds } from '../lib/cpu.mjs';
import { developmentEnvironmentId, startGatehouse } from '../lib/gatehouse.mjs';
import { cliOptions } from '../lib/options.mjs';
import { adminQuery, BENCH_DATABASE_URL, databaseUrl } from '../lib/postgres.mjs';
import { latencyStats } from '../lib/window.mjs';
import { keepAliveAgent, send } from '../signin/http.mjs';
import { runWorkers } from '../signin/load.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DOMAIN = 'acme-scim.test';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const SCIM_JSON = 'application/scim+json';

const HELP = `usage: node bench/scim/run.mjs [--modes create,sync,filter,members] [--concurrency n] [--duration s] [--warmup s]
                               [--sync-users n] [--filter-users n] [--group-size n] [--patch-size n] [--patch-rounds n] [--port n]
every flag also reads BENCH_<NAME> (e.g. BENCH_DURATION); see bench/README.md`;

const { numberOption, listOption } = cliOptions(HELP);
const MODES = listOption('modes', 'create,sync,filter,members');
const CONCURRENCY = Math.round(numberOption('concurrency', 8, 1));
const DURATION = numberOption('duration', 10, 1);
const WARMUP = numberOption('warmup', 3, 0);
const SYNC_USERS = Math.round(numberOption('sync-users', 10_000, 1));
const FILTER_USERS = Math.round(numberOption('filter-users', 100_000, 1));
const GROUP_SIZE = Math.round(numberOption('group-size', 10_000, 1));
const PATCH_SIZE = Math.round(numberOption('patch-size', 1000, 1));
const PATCH_ROUNDS = Math.round(numberOption('patch-rounds', 5, 1));
const PORT = Math.round(numberOption('port', 4760, 1));
if (!MODES.length || !MODES.every((mode) => ['create', 'sync', 'filter', 'members'].includes(mode))) {
  console.error(HELP);
  process.exit(2);
}

const book = benchBookkeeping();
const agent = keepAliveAgent(CONCURRENCY * 2);
const database = `gatehouse_bench_scim_${randomBytes(4).toString('hex')}`;
const fmt = (value, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : '–');
const load = () => os.loadavg()[0].toFixed(1);

async function main() {
  console.log(`SCIM bench on PostgreSQL: modes ${MODES.join(', ')}; concurrency ${CONCURRENCY}; ${os.cpus().length} cores; load ${load()}`);
  const server = await startGatehouse(book, { database, port: PORT, cwd: ROOT, env: { GATEHOUSE_SCIM_REQUESTS_PER_MINUTE: '100000000' } });
  try {
    const environmentId = await developmentEnvironmentId(server.gql);
    const organization = (
      await server.mutate('createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId, name: 'Acme', domains: [{ domain: DOMAIN, state: 'VERIFIED' }] })
    ).organization;
    const newDirectory = async (name) => {
      const created = await server.mutate('createDirectory', 'CreateDirectoryInput', 'token directory { id baseUrl }', { organizationId: organization.id, name, provider: 'ENTRA_ID' });
      return { id: created.directory.id, baseUrl: created.directory.baseUrl, token: created.token };
    };
    const scim = (directory, method, path, body) =>
      send(agent, `${directory.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${directory.token}`, accept: SCIM_JSON, ...(body ? { 'content-type': SCIM_JSON } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
    const person = (name) => ({
      schemas: [USER, ENTERPRISE],
      externalId: name,
      userName: `${name}@${DOMAIN}`,
      active: true,
      displayName: name,
      emails: [{ primary: true, type: 'work', value: `${name}@${DOMAIN}` }],
      name: { givenName: 'Bench', familyName: name },
      [ENTERPRISE]: { department: 'Load' },
    });
    /** Server and PostgreSQL CPU over `work`, in ms per request. */
    const measured = async (requests, work) => {
      const serverBefore = processCpuSeconds(server.proc.child.pid);
      const dbBefore = databaseBackends(database);
      const result = await work();
      const count = requests(result);
      return {
        ...result,
        serverMs: ((processCpuSeconds(server.proc.child.pid) - serverBefore) * 1000) / count,
        dbMs: (databaseCpuSince(database, dbBefore) * 1000) / count,
      };
    };
    /** `iterate` run by CONCURRENCY clients for DURATION seconds after WARMUP, with the CPU per request. */
    const sustained = (iterate) =>
      measured(
        (r) => r.ok + r.errors,
        () => runWorkers({ workers: CONCURRENCY, warmupMs: WARMUP * 1000, durationMs: DURATION * 1000, iterate }),
      );
    const rows = [];

    if (MODES.includes('create')) {
      const directory = await newDirectory('Create');
      let next = 0;
      const result = await sustained(async () => {
        const response = await scim(directory, 'POST', '/Users', person(`create${(next += 1)}`));
        return response.status === 201 ? { ok: true } : { ok: false, status: response.status, error: response.body?.slice(0, 200) };
      });
      rows.push({ row: `POST /Users (new people of a verified domain), c=${CONCURRENCY}`, ...result });
      console.log(`create: ${fmt(result.perSecond, 0)} req/s, p50 ${fmt(result.p50)} p95 ${fmt(result.p95)} p99 ${fmt(result.p99)} ms, errors ${result.errors} ${JSON.stringify(result.errorSamples)}; load ${load()}`);
    }

    if (MODES.includes('sync')) {
      const directory = await newDirectory('Initial sync');
      let next = 0;
      const latencies = [];
      let errors = 0;
      const started = performance.now();
      const result = await measured(
        () => SYNC_USERS * 2,
        async () => {
          await Promise.all(
            Array.from({ length: CONCURRENCY }, async () => {
              while (next < SYNC_USERS) {
                const name = `sync${(next += 1)}`;
                const begun = performance.now();
                const probe = await scim(directory, 'GET', `/Users?filter=${encodeURIComponent(`userName eq "${name}@${DOMAIN}"`)}`);
                const created = await scim(directory, 'POST', '/Users', person(name));
                if (probe.status !== 200 || created.status !== 201) errors += 1;
                latencies.push(performance.now() - begun);
              }
            }),
          );
          return {};
        },
      );
      const seconds = (performance.now() - started) / 1000;
      const stats = latencyStats(latencies, seconds * 1000);
      rows.push({ row: `initial sync of ${SYNC_USERS} (probe + POST each), c=${CONCURRENCY}`, perSecond: SYNC_USERS / seconds, p50: stats.p50, p95: stats.p95, p99: stats.p99, errors, serverMs: result.serverMs, dbMs: result.dbMs, note: `${fmt(seconds)} s` });
      console.log(`sync: ${SYNC_USERS} people in ${fmt(seconds)} s (${fmt(SYNC_USERS / seconds, 0)} people/s), errors ${errors}; load ${load()}`);
    }

    if (MODES.includes('filter') || MODES.includes('members')) {
      const directory = await newDirectory('Large');
      const dbUrl = databaseUrl(BENCH_DATABASE_URL, database);
      const size = Math.max(FILTER_USERS, MODES.includes('members') ? GROUP_SIZE + PATCH_SIZE * PATCH_ROUNDS + 1000 : 0);
      // Seeded in SQL: the shape the SCIM server writes (as many rows as POSTs would make, at a
      // small fraction of the time), without environment users (the filter reads none).
      const seeding = performance.now();
      await adminQuery(
        dbUrl,
        `insert into directory_user (id, created_at, updated_at, environment_id, organization_id, directory_id, user_name, external_id, active, display_name, email, resource, version)
         select 'dus_seed' || lpad(i::text, 9, '0'), now(), now(), '${environmentId}', '${organization.id}', '${directory.id}', 'seed' || i || '@${DOMAIN}', 'ext' || i, true, 'Seed ' || i, 'seed' || i || '@${DOMAIN}',
                jsonb_build_object('displayName', 'Seed ' || i, 'emails', jsonb_build_array(jsonb_build_object('value', 'seed' || i || '@${DOMAIN}', 'primary', true))), 1
         from generate_series(1, ${size}) i`,
      );
      await adminQuery(dbUrl, 'analyze directory_user');
      console.log(`seeded ${size} Users in ${fmt((performance.now() - seeding) / 1000)} s`);

      if (MODES.includes('filter')) {
        const result = await sustained(async () => {
          const i = 1 + Math.floor(Math.random() * FILTER_USERS);
          // Another case than stored: userName compares case-insensitively.
          const response = await scim(directory, 'GET', `/Users?filter=${encodeURIComponent(`userName eq "SEED${i}@${DOMAIN.toUpperCase()}"`)}`);
          const found = response.status === 200 && JSON.parse(response.body).totalResults === 1;
          return found ? { ok: true } : { ok: false, status: response.status, error: response.body?.slice(0, 200) };
        });
        rows.push({ row: `userName eq among ${FILTER_USERS} Users, c=${CONCURRENCY}`, ...result });
        console.log(`filter: ${fmt(result.perSecond, 0)} req/s, p50 ${fmt(result.p50)} p95 ${fmt(result.p95)} ms; load ${load()}`);
      }

      if (MODES.includes('members')) {
        const group = JSON.parse((await scim(directory, 'POST', '/Groups', { schemas: [GROUP], displayName: 'Everyone', members: [] })).body);
        const seedMembers = performance.now();
        await adminQuery(dbUrl, `insert into directory_group_member (group_id, user_id, created_at) select '${group.id}', 'dus_seed' || lpad(i::text, 9, '0'), now() from generate_series(1, ${GROUP_SIZE}) i`);
        await adminQuery(dbUrl, 'analyze directory_group_member');
        console.log(`seeded a group of ${GROUP_SIZE} members in ${fmt((performance.now() - seedMembers) / 1000)} s`);
        const times = [];
        let offset = GROUP_SIZE;
        for (let round = 0; round < PATCH_ROUNDS; round += 1) {
          const value = Array.from({ length: PATCH_SIZE }, (_, k) => ({ value: `dus_seed${String(offset + k + 1).padStart(9, '0')}` }));
          offset += PATCH_SIZE;
          const begun = performance.now();
          const response = await scim(directory, 'PATCH', `/Groups/${group.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value }] });
          times.push(performance.now() - begun);
          if (response.status !== 204) throw new Error(`PATCH of ${PATCH_SIZE} members: ${response.status} ${response.body}`);
        }
        const sorted = [...times].sort((a, b) => a - b);
        rows.push({ row: `PATCH adding ${PATCH_SIZE} members to a group of ${GROUP_SIZE}+`, perSecond: NaN, p50: sorted[Math.floor(sorted.length / 2)], p95: NaN, p99: NaN, max: sorted[sorted.length - 1], errors: 0, note: `${PATCH_ROUNDS} rounds, ms each: ${times.map((t) => t.toFixed(0)).join(' ')}` });
        console.log(`members: ${times.map((t) => t.toFixed(0)).join(', ')} ms per PATCH of ${PATCH_SIZE}; load ${load()}`);

        let member = offset;
        const single = await sustained(async () => {
          member += 1;
          if (member > size) return { ok: false, status: 'out of seeded users', retire: true };
          const response = await scim(directory, 'PATCH', `/Groups/${group.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'Add', path: 'members', value: [{ value: `dus_seed${String(member).padStart(9, '0')}` }] }] });
          return response.status === 204 ? { ok: true } : { ok: false, status: response.status, error: response.body?.slice(0, 200) };
        });
        rows.push({ row: `PATCH adding one member to that group (Entra), c=${CONCURRENCY}`, ...single });
        console.log(`one member: ${fmt(single.perSecond, 0)} req/s, p50 ${fmt(single.p50)} p95 ${fmt(single.p95)} ms; load ${load()}`);
      }
    }

    console.log('\n| row | req/s | p50 ms | p95 ms | p99 ms | server CPU ms/req | PostgreSQL CPU ms/req | errors | note |');
    console.log('|---|---|---|---|---|---|---|---|---|');
    for (const r of rows) {
      console.log(`| ${r.row} | ${fmt(r.perSecond, 0)} | ${fmt(r.p50)} | ${fmt(r.p95)} | ${fmt(r.p99)} | ${fmt(r.serverMs, 2)} | ${fmt(r.dbMs, 2)} | ${r.errors} | ${r.note ?? ''} |`);
    }
  } finally {
    await server.stop();
  }
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => book.cleanup().then(() => agent.destroy()));
