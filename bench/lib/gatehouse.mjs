// Gatehouse as a server under test: `node dist/src/main.js` (or another entry) as a child process
// on a benchmark database, the owner key it prints, and its GraphQL API for the setup.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { BENCH_DATABASE_URL, databaseUrl } from './postgres.mjs';
import { waitUntilReady } from './processes.mjs';

const OWNER_KEY = /(gh_live_[A-Za-z0-9_-]{43})/;

/** The environment of a Gatehouse process on `dbUrl` listening on 127.0.0.1:`port`, plus `extra`. */
export function gatehouseEnv(dbUrl, port, extra = {}) {
  return {
    ...process.env,
    DATABASE_URL: dbUrl,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    // Seals secrets at rest; the bench databases are dropped afterwards.
    GATEHOUSE_MASTER_KEY: process.env.GATEHOUSE_MASTER_KEY || Buffer.alloc(32, 1).toString('base64'),
    ...extra,
  };
}

/**
 * Spawns `node [BENCH_GATEHOUSE_NODE_ARGS] <entry>` as a child registered by `track`
 * (bench/lib/bookkeeping.mjs). `ready` resolves once /readyz answers, with the owner key the
 * server printed (waited for unless `expectKey` is false; else possibly undefined).
 * e.g. BENCH_GATEHOUSE_NODE_ARGS="--cpu-prof --cpu-prof-dir=.scratch/prof" to profile the server.
 */
export function spawnGatehouse(track, { entry, cwd, env, port, what = `Gatehouse on :${port}`, expectKey = true }) {
  const nodeArgs = (process.env.BENCH_GATEHOUSE_NODE_ARGS || '').split(' ').filter(Boolean);
  const proc = track(spawn(process.execPath, [...nodeArgs, entry], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }));
  const ready = waitUntilReady(proc, what, async () => {
    const key = OWNER_KEY.exec(proc.stdout())?.[1];
    if (expectKey && !key) return null;
    return (await fetch(`http://127.0.0.1:${port}/readyz`)).ok ? { key } : null;
  }).then((found) => found.key);
  return { proc, ready };
}

/**
 * `gql` and `mutate` against `publicUrl`/graphql with `ownerKey`. `onErrors(message)` may throw
 * something more telling than the default `GraphQL: <messages>`.
 */
export function gatehouseGraphql(publicUrl, ownerKey, onErrors) {
  const gql = async (query, variables) => {
    const response = await fetch(`${publicUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ownerKey}` },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(15_000),
    });
    const body = await response.json();
    if (body.errors) {
      const message = body.errors.map((e) => e.message).join('; ');
      onErrors?.(message);
      throw new Error(`GraphQL: ${message}`);
    }
    return body.data;
  };
  const mutate = async (field, inputType, selection, input) => {
    const data = await gql(`mutation($input: ${inputType}!){ ${field}(input: $input){ ${selection} userErrors{ code field message } } }`, { input });
    const payload = data[field];
    if (payload.userErrors?.length) throw new Error(`${field}: ${JSON.stringify(payload.userErrors)}`);
    return payload;
  };
  return { gql, mutate };
}

/**
 * Starts Gatehouse on a new database `database` (created and registered with `book`, dropped by
 * `stop()`), with GATEHOUSE_PUBLIC_URL http://127.0.0.1:`port` and `env` on top of gatehouseEnv.
 * Resolves once it is ready with { proc, publicUrl, ownerKey, gql, mutate, stop }; on failure it
 * is stopped first.
 */
export async function startGatehouse(book, { database, port, cwd, entry = 'dist/src/main.js', env = {}, onGraphqlErrors }) {
  if (!existsSync(resolve(cwd ?? '.', entry)) && !existsSync(entry)) throw new Error(`${entry} not found: run \`npm run build\` first`);
  await book.createDatabase(database);
  const publicUrl = `http://127.0.0.1:${port}`;
  const { proc, ready } = spawnGatehouse(book.track, {
    entry,
    cwd,
    env: gatehouseEnv(databaseUrl(BENCH_DATABASE_URL, database), port, { GATEHOUSE_PUBLIC_URL: publicUrl, ...env }),
    port,
  });
  const stop = async () => {
    await proc.stop();
    await book.dropDatabase(database);
  };
  try {
    const ownerKey = await ready;
    return { proc, publicUrl, ownerKey, ...gatehouseGraphql(publicUrl, ownerKey, onGraphqlErrors), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The id of the DEVELOPMENT environment Gatehouse creates at first start. */
export async function developmentEnvironmentId(gql) {
  const { environments } = await gql('{ environments(first: 10) { nodes { id kind } } }');
  const environmentId = environments.nodes.find((e) => e.kind === 'DEVELOPMENT')?.id;
  if (!environmentId) throw new Error(`no DEVELOPMENT environment: ${JSON.stringify(environments.nodes)}`);
  return environmentId;
}

/** Creates the benchmarks' resource server `identifier` ("Bench API", scopes read and write). */
export function createBenchResourceServer(mutate, environmentId, identifier) {
  return mutate('createResourceServer', 'CreateResourceServerInput', 'resourceServer{ id }', {
    environmentId,
    name: 'Bench API',
    identifier,
    scopes: [
      { name: 'read', description: 'Read' },
      { name: 'write', description: 'Write' },
    ],
  });
}
