// Benchmark: signing people in. Two measurements, on PostgreSQL:
//
//  1. refresh: the refresh_token grant with rotation, Gatehouse vs oidc-provider
//     (`rotateRefreshToken: true`, bench/signin/oidc-provider-server.mjs, PostgreSQL adapter):
//     each of `concurrency` workers holds a refresh token family of its own and rotates it in a
//     loop, every response's refresh_token being the next request's.
//  2. signin: complete sign-ins through Gatehouse's hosted pages (authorize → email page → code
//     from the development outbox → code page → token), Gatehouse only, at a few concurrencies.
//
//   npm run bench:signin
//   BENCH_DURATION=5 BENCH_ROUNDS=1 node bench/signin/run.mjs
//   node bench/signin/run.mjs --modes refresh --servers gatehouse,oidc-provider,oidc-provider-memory
//
// Gatehouse runs as `node dist/src/main.js` on a freshly created database (dropped afterwards),
// set up through its GraphQL API with the owner key it prints; its 32 refresh token families come
// from real sign-ins over HTTP. oidc-provider runs with a PostgreSQL adapter on a database of its
// own; its families are seeded through its models. Both servers run the whole time, each in its
// own process; every round measures each server once, in alternating order, so a neighbour's
// load on a shared machine hurts both alike.
import { createHash, randomBytes } from 'node:crypto';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { benchBookkeeping } from '../lib/bookkeeping.mjs';
import { databaseBackends, databaseCpuSince, machineJiffies, processCpuSeconds } from '../lib/cpu.mjs';
import { createBenchResourceServer, developmentEnvironmentId, startGatehouse as startGatehouseProcess } from '../lib/gatehouse.mjs';
import { basicAuthorization, discover, startOidcProviderChild } from '../lib/oauth.mjs';
import { cliOptions } from '../lib/options.mjs';
import { BENCH_DATABASE_URL, databaseUrl } from '../lib/postgres.mjs';
import { FORM, keepAliveAgent, ScriptedBrowser, send, StepError } from './http.mjs';
import { runWorkers } from './load.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RESOURCE = 'https://api.bench.example';
const REDIRECT_URI = 'http://localhost:3000/callback';
// The same grant on both servers: an ID token with the email, a refresh token, an access token for the API.
const SCOPE = 'openid email offline_access read';
const OUTBOX = 'query($env: ID, $first: Int) { developmentOutbox(environmentId: $env, first: $first) { nodes { recipient text } } }';

// ---------------------------------------------------------------------------------------------
// Options: --name value / --name=value, else BENCH_NAME, else the default
// ---------------------------------------------------------------------------------------------

const HELP = `usage: node bench/signin/run.mjs [--modes refresh,signin] [--duration s] [--warmup s] [--first-warmup s]
                                 [--rounds n] [--concurrency n] [--signin-concurrency list]
                                 [--servers gatehouse,oidc-provider[,oidc-provider-memory]] [--port n]
every flag also reads BENCH_<NAME> (e.g. BENCH_DURATION, BENCH_SIGNIN_CONCURRENCY); see bench/README.md`;

const { numberOption, listOption } = cliOptions(HELP);
const DURATION = numberOption('duration', 10, 1);
const WARMUP = numberOption('warmup', 3, 0);
// The first measurement of each server (and sign-in concurrency) warms up longer: V8 optimizes
// the hot paths, the servers' caches fill.
const FIRST_WARMUP = Math.max(WARMUP, numberOption('first-warmup', 8, 0));
const ROUNDS = Math.round(numberOption('rounds', 2, 1));
const CONCURRENCY = Math.round(numberOption('concurrency', 32, 1));
const SIGNIN_CONCURRENCY = listOption('signin-concurrency', '4,8').map(Number);
const PORT = Math.round(numberOption('port', 4740, 1));
const MODES = listOption('modes', 'refresh,signin');
const SERVERS = listOption('servers', 'gatehouse,oidc-provider');
const SERVER_ENTRY = process.env.BENCH_SERVER || 'dist/src/main.js';
const SERVER_NAMES = { gatehouse: 'Gatehouse', 'oidc-provider': 'oidc-provider', 'oidc-provider-memory': 'oidc-provider (memory)' };
if (
  !MODES.length ||
  !MODES.every((m) => ['refresh', 'signin'].includes(m)) ||
  !SERVERS.every((s) => s in SERVER_NAMES) ||
  !SIGNIN_CONCURRENCY.every((c) => Number.isInteger(c) && c >= 1)
) {
  console.error(HELP);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// Process and database bookkeeping (everything is stopped/dropped, also on error or Ctrl-C)
// ---------------------------------------------------------------------------------------------

const book = benchBookkeeping();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const tag = randomBytes(4).toString('hex');
const databaseName = (suffix) => `gatehouse_bench_signin_${suffix}${tag}`;

// ---------------------------------------------------------------------------------------------
// Servers. A target: { key, name, storage, pid, database, issuer, tokenEndpoint, jwksUri,
// clientId, authorization, families: string[], stop(), stderr() }
// ---------------------------------------------------------------------------------------------

async function startGatehouse() {
  const database = databaseName('');
  const gatehouse = await startGatehouseProcess(book, {
    database,
    port: PORT,
    cwd: ROOT,
    entry: SERVER_ENTRY,
    env: {
      // The bench is the proxy: each scripted browser sends an X-Forwarded-For address of its own,
      // which becomes request.ip, so the per-IP challenge limit (30 per 15 min) counts per browser.
      GATEHOUSE_TRUST_PROXY: '127.0.0.1',
      // As `npm start` runs it: NODE_ENV is whatever the operator set (unset here by default).
      NODE_ENV: process.env.BENCH_NODE_ENV || undefined,
    },
  });
  const { proc, publicUrl, ownerKey, mutate, stop } = gatehouse;
  try {
    const environmentId = await developmentEnvironmentId(gatehouse.gql);
    await createBenchResourceServer(mutate, environmentId, RESOURCE);
    const { application } = await mutate('createApplication', 'CreateApplicationInput', 'application{ id clientId grantTypes }', {
      environmentId,
      name: 'Bench web app',
      type: 'WEB',
      redirectUris: [REDIRECT_URI],
      allowedAudiences: [RESOURCE],
      allowedScopes: ['read'],
    });
    const { secret } = await mutate('createClientSecret', 'CreateClientSecretInput', 'secret', { clientId: application.clientId });
    const issuer = `${publicUrl}/e/${environmentId}`;
    const metadata = await discover(issuer);
    return {
      key: 'gatehouse',
      name: 'Gatehouse',
      storage: 'PostgreSQL',
      pid: proc.child.pid,
      database,
      publicUrl,
      environmentId,
      ownerKey,
      issuer: metadata.issuer,
      authorizationEndpoint: metadata.authorization_endpoint,
      tokenEndpoint: metadata.token_endpoint,
      jwksUri: metadata.jwks_uri,
      clientId: application.clientId,
      grantTypes: application.grantTypes,
      authorization: basicAuthorization(application.clientId, secret),
      families: [],
      stderr: proc.stderr,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function startOidcProvider(key, port, families) {
  const memory = key === 'oidc-provider-memory';
  const database = memory ? null : await book.createDatabase(databaseName('op_'));
  const clientSecret = randomBytes(32).toString('base64url');
  const env = {
    ...process.env,
    BENCH_OP_PORT: String(port),
    BENCH_OP_CLIENT_SECRET: clientSecret,
    BENCH_OP_FAMILIES: String(families),
    BENCH_OP_DATABASE_URL: database ? databaseUrl(BENCH_DATABASE_URL, database) : '',
    NODE_ENV: 'production',
  };
  const { ready, metadata, pid, stderr, stop } = await startOidcProviderChild(book.track, {
    script: 'bench/signin/oidc-provider-server.mjs',
    cwd: ROOT,
    env,
    port,
    afterStop: async () => {
      if (database) await book.dropDatabase(database);
    },
  });
  return {
    key,
    name: SERVER_NAMES[key],
    storage: ready.storage === 'postgresql' ? 'PostgreSQL (adapter)' : 'memory (default LRU adapter)',
    pid,
    database,
    issuer: metadata.issuer,
    tokenEndpoint: metadata.token_endpoint,
    jwksUri: metadata.jwks_uri,
    clientId: ready.clientId,
    authorization: basicAuthorization(ready.clientId, clientSecret),
    families: ready.refreshTokens,
    stderr,
    stop,
  };
}

// ---------------------------------------------------------------------------------------------
// A sign-in through Gatehouse's hosted pages, as a browser and an application would do it
// ---------------------------------------------------------------------------------------------

let signInCount = 0;

/** The n-th scripted browser's address: 10.x.y.z, a different one for each sign-in. */
const addressOf = (n) => `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;

/** The code mailed to `email`, read from the development outbox (newest first) through GraphQL. */
async function outboxCode(target, agent, email, first) {
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const response = await send(agent, `${target.publicUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${target.ownerKey}` },
      body: JSON.stringify({ query: OUTBOX, variables: { env: target.environmentId, first } }),
    });
    if (response.status !== 200) throw new StepError('outbox', response, '200');
    const body = JSON.parse(response.body);
    if (body.errors) throw new Error(`outbox: ${JSON.stringify(body.errors).slice(0, 300)}`);
    const message = body.data.developmentOutbox.nodes.find((m) => m.recipient === email);
    const code = message && /code is (\d{6})/.exec(message.text)?.[1];
    if (code) return code;
    await sleep(20);
  }
  throw new Error(`outbox: no message to ${email} among the newest ${first}`);
}

/**
 * Signs a new person in (a distinct email each time, so each is a sign-up) from a browser of its
 * own address; returns the token response and the time of each step (ms).
 */
async function signIn(target, agent, outboxPage) {
  signInCount += 1;
  const n = signInCount;
  const email = `u${n}-${tag}@bench.example`;
  const browser = new ScriptedBrowser(agent, target.publicUrl, { 'x-forwarded-for': addressOf(n) });
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(12).toString('base64url');
  const authorize = new URL(target.authorizationEndpoint);
  authorize.search = new URLSearchParams({
    response_type: 'code',
    client_id: target.clientId,
    redirect_uri: REDIRECT_URI,
    scope: SCOPE,
    resource: RESOURCE,
    state,
    nonce: randomBytes(12).toString('base64url'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();

  let next = await browser.redirect('authorize', authorize);
  await browser.page('email page', next);
  const emailForm = browser.form('/sign-in/email');
  next = await browser.redirect('post email', emailForm.action, { form: { ...emailForm.fields, email } });
  await browser.page('code page', next);
  const codeForm = browser.form('/sign-in/code');
  let t = performance.now();
  const code = await outboxCode(target, agent, email, outboxPage);
  browser.timings.outbox = performance.now() - t;
  next = await browser.redirect('post code', codeForm.action, { form: { ...codeForm.fields, code } });
  const back = await browser.redirect('continue', next);
  if (`${back.origin}${back.pathname}` !== REDIRECT_URI || back.searchParams.get('state') !== state || back.searchParams.get('iss') !== target.issuer) {
    throw new Error(`continue: redirected to ${back.toString().slice(0, 300)}, not the application with state and iss`);
  }
  if (!back.searchParams.get('code')) throw new Error(`continue: no code in ${back.toString().slice(0, 300)}`);
  t = performance.now();
  const response = await send(agent, target.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': FORM, accept: 'application/json', authorization: target.authorization },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: back.searchParams.get('code'), redirect_uri: REDIRECT_URI, code_verifier: verifier }).toString(),
  });
  browser.timings.token = performance.now() - t;
  if (response.status !== 200) throw new StepError('token', response, '200');
  const tokens = JSON.parse(response.body);
  if (!tokens.access_token || !tokens.id_token || !tokens.refresh_token) throw new Error(`token: missing tokens in ${response.body.slice(0, 300)}`);
  return { tokens, email, steps: browser.timings };
}

const SIGN_IN_STEPS = ['authorize', 'email page', 'post email', 'code page', 'outbox', 'post code', 'continue', 'token'];

// ---------------------------------------------------------------------------------------------
// Refresh: correctness sample and the measured loop
// ---------------------------------------------------------------------------------------------

const refreshRequest = (target, token) => ({
  method: 'POST',
  headers: { 'content-type': FORM, accept: 'application/json', authorization: target.authorization },
  body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(token)}`,
});

/**
 * Rotates one family once and checks the answer (access token: ES256 JWT for the API; ID token:
 * ES256 JWT for the client with the email), then presents the used token again (must be refused)
 * and the new one (must be refused too: the replay revoked the family).
 */
async function verifyRefresh(target, token, email) {
  const agent = keepAliveAgent(1);
  try {
    const first = await send(agent, target.tokenEndpoint, refreshRequest(target, token));
    if (first.status !== 200) throw new StepError('sample refresh', first, '200');
    const tokens = JSON.parse(first.body);
    if (!tokens.refresh_token || tokens.refresh_token === token) throw new Error(`sample refresh: no new refresh_token in ${first.body.slice(0, 300)}`);
    const jwks = createRemoteJWKSet(new URL(target.jwksUri));
    const access = await jwtVerify(tokens.access_token, jwks, { issuer: target.issuer, audience: RESOURCE, algorithms: ['ES256'] });
    const id = await jwtVerify(tokens.id_token, jwks, { issuer: target.issuer, audience: target.clientId, algorithms: ['ES256'] });
    const problems = [];
    if (!String(access.payload.scope ?? '').split(' ').includes('read')) problems.push(`access token scope "${access.payload.scope}"`);
    if (access.payload.sub !== id.payload.sub) problems.push('access and ID token subjects differ');
    if (email && id.payload.email !== email) problems.push(`ID token email ${id.payload.email} ≠ ${email}`);
    const replay = await send(agent, target.tokenEndpoint, refreshRequest(target, token));
    if (replay.status !== 400 || !replay.body.includes('invalid_grant')) problems.push(`the used refresh token presented again answered ${replay.status} ${replay.body.slice(0, 200)}`);
    const after = await send(agent, target.tokenEndpoint, refreshRequest(target, tokens.refresh_token));
    if (after.status !== 400 || !after.body.includes('invalid_grant')) problems.push(`its successor after the replay answered ${after.status} ${after.body.slice(0, 200)}`);
    if (problems.length) throw new Error(`sample refresh: ${problems.join('; ')}`);
    return (
      `access token ${access.protectedHeader.alg} typ ${access.protectedHeader.typ ?? '–'}, aud ${access.payload.aud}, scope "${access.payload.scope}", ` +
      `ttl ${access.payload.exp - access.payload.iat} s; ID token ${id.protectedHeader.alg}, email ${id.payload.email}; ` +
      'used token presented again → 400 invalid_grant, its successor then → 400 invalid_grant (family revoked)'
    );
  } finally {
    agent.destroy();
  }
}

/** Samples the server's CPU, its database's backends and the machine over the measured window. */
function windowProbe(target) {
  let cpu0;
  let machine0;
  let backends0;
  const probe = { serverCpuS: NaN, databaseCpuS: NaN, machineBusy: NaN };
  return {
    probe,
    onWindowStart: () => {
      cpu0 = processCpuSeconds(target.pid);
      machine0 = machineJiffies();
      backends0 = target.database ? databaseBackends(target.database) : null;
    },
    onWindowEnd: () => {
      probe.serverCpuS = processCpuSeconds(target.pid) - cpu0;
      const [busy, total] = machineJiffies();
      probe.machineBusy = ((busy - machine0[0]) / (total - machine0[1])) * 100;
      if (backends0) probe.databaseCpuS = databaseCpuSince(target.database, backends0);
    },
  };
}

async function measureRefresh(target, warmup) {
  const agent = keepAliveAgent(CONCURRENCY);
  const { probe, onWindowStart, onWindowEnd } = windowProbe(target);
  const loadBefore = os.loadavg()[0];
  try {
    const result = await runWorkers({
      workers: target.families.length,
      warmupMs: warmup * 1000,
      durationMs: DURATION * 1000,
      onWindowStart,
      onWindowEnd,
      iterate: async (i) => {
        const response = await send(agent, target.tokenEndpoint, refreshRequest(target, target.families[i]));
        if (response.status === 200) {
          let next;
          try {
            next = JSON.parse(response.body);
          } catch {
            // counted below
          }
          if (next?.access_token && next.refresh_token && next.refresh_token !== target.families[i]) {
            target.families[i] = next.refresh_token;
            return { ok: true };
          }
        }
        // The family cannot go on: a refused token may have revoked it, a lost answer lost its successor.
        target.families[i] = null;
        return {
          ok: false,
          retire: true,
          status: response.status || 'network error',
          error: response.status ? `${response.status} ${response.body.slice(0, 200)}` : String(response.error?.message ?? response.error),
        };
      },
    });
    target.families = target.families.filter(Boolean);
    return summarize(result, probe, loadBefore);
  } finally {
    agent.destroy();
  }
}

function summarize(result, probe, loadBefore) {
  return {
    ...result,
    serverCpuPercent: (probe.serverCpuS / DURATION) * 100,
    serverCpuMs: (probe.serverCpuS * 1000) / result.ok,
    databaseCpuPercent: (probe.databaseCpuS / DURATION) * 100,
    databaseCpuMs: (probe.databaseCpuS * 1000) / result.ok,
    machineBusy: probe.machineBusy,
    load: [loadBefore, os.loadavg()[0]],
  };
}

async function measureSignIns(target, concurrency, warmup) {
  const agent = keepAliveAgent(concurrency * 2);
  const { probe, onWindowStart, onWindowEnd } = windowProbe(target);
  const loadBefore = os.loadavg()[0];
  const outboxPage = Math.min(100, 4 * concurrency + 10);
  try {
    const result = await runWorkers({
      workers: concurrency,
      warmupMs: warmup * 1000,
      durationMs: DURATION * 1000,
      onWindowStart,
      onWindowEnd,
      iterate: async () => {
        const { steps } = await signIn(target, agent, outboxPage);
        return { ok: true, steps };
      },
    });
    return summarize(result, probe, loadBefore);
  } finally {
    agent.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–');
const mean = (rows, pick) => rows.reduce((sum, r) => sum + pick(r), 0) / rows.length;
const sum = (rows, pick) => rows.reduce((total, r) => total + pick(r), 0);
const loads = (rows) => {
  const values = rows.flatMap((r) => r.load);
  return `${Math.min(...values).toFixed(1)}–${Math.max(...values).toFixed(1)}`;
};

const notes = [];
const failures = [];
const refreshRows = new Map(); // target key → rounds
const signInRows = new Map(); // concurrency → rounds
const targets = [];
let gatehouse;
const began = Date.now();
const loadAtStart = os.loadavg();

try {
  const wantGatehouse = MODES.includes('signin') || (MODES.includes('refresh') && SERVERS.includes('gatehouse'));
  if (wantGatehouse) {
    process.stderr.write('Gatehouse: starting and setting up… ');
    gatehouse = await startGatehouse();
    process.stderr.write('ready\n');
    notes.push(`Gatehouse: issuer ${gatehouse.issuer}, WEB application ${gatehouse.clientId} (grant types ${gatehouse.grantTypes.join(', ')}), token endpoint ${gatehouse.tokenEndpoint}`);
  }

  if (MODES.includes('refresh')) {
    const families = CONCURRENCY + 1; // one more for the correctness sample
    for (const key of SERVERS) {
      try {
        if (key === 'gatehouse') {
          process.stderr.write(`Gatehouse: ${families} sign-ins over HTTP for the refresh token families… `);
          const t = performance.now();
          const agent = keepAliveAgent(8);
          const signed = [];
          let next = 0;
          const worker = async () => {
            while (next < families) {
              next += 1;
              signed.push(await signIn(gatehouse, agent, 50));
            }
          };
          await Promise.all(Array.from({ length: 4 }, worker));
          agent.destroy();
          process.stderr.write('done\n');
          notes.push(`Gatehouse: ${families} refresh token families from sign-ins through the hosted pages in ${((performance.now() - t) / 1000).toFixed(1)} s`);
          const sample = signed.pop();
          notes.push(`Gatehouse refresh sample: ${await verifyRefresh(gatehouse, sample.tokens.refresh_token, sample.email)}`);
          gatehouse.families = signed.map((s) => s.tokens.refresh_token);
          targets.push(gatehouse);
        } else {
          process.stderr.write(`${SERVER_NAMES[key]}: starting with ${families} seeded families… `);
          const target = await startOidcProvider(key, PORT + (key === 'oidc-provider' ? 1 : 2), families);
          process.stderr.write('ready\n');
          const sample = target.families.pop();
          notes.push(`${target.name} refresh sample: ${await verifyRefresh(target, sample, null)}`);
          targets.push(target);
        }
      } catch (error) {
        process.stderr.write(`FAILED: ${error.message.split('\n')[0]}\n`);
        failures.push(`${SERVER_NAMES[key]} refresh setup: ${error.message.slice(0, 1500)}`);
      }
    }

    for (let round = 0; round < ROUNDS && !book.cleaning; round += 1) {
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const target of order) {
        if (!target.families.length) continue;
        const warmup = round === 0 ? FIRST_WARMUP : WARMUP;
        process.stderr.write(`round ${round + 1} refresh ${target.name} (${warmup} s warm-up + ${DURATION} s)…\n`);
        const r = await measureRefresh(target, warmup);
        if (!refreshRows.has(target.key)) refreshRows.set(target.key, []);
        refreshRows.get(target.key).push(r);
        console.log(
          `  round ${round + 1} refresh ${target.name}: ${f(r.perSecond)} tokens/s, p50 ${f(r.p50, 2)} ms, p99 ${f(r.p99, 2)} ms, ${r.errors} errors, ` +
            `server CPU ${f(r.serverCpuMs, 2)} ms/token, PostgreSQL ${f(r.databaseCpuMs, 2)} ms/token, load ${f(r.load[0], 2)}→${f(r.load[1], 2)}`,
        );
      }
    }
    for (const target of targets) {
      if (target === gatehouse) continue;
      const stderr = target.stderr().trim();
      if (stderr) notes.push(`${target.name} stderr: ${stderr.slice(0, 800)}`);
      await target.stop();
    }
  }

  if (MODES.includes('signin') && gatehouse && !book.cleaning) {
    for (let round = 0; round < ROUNDS && !book.cleaning; round += 1) {
      const order = round % 2 === 0 ? SIGNIN_CONCURRENCY : [...SIGNIN_CONCURRENCY].reverse();
      for (const concurrency of order) {
        const warmup = round === 0 ? FIRST_WARMUP : WARMUP;
        process.stderr.write(`round ${round + 1} sign-ins at concurrency ${concurrency} (${warmup} s warm-up + ${DURATION} s)…\n`);
        const r = await measureSignIns(gatehouse, concurrency, warmup);
        if (!signInRows.has(concurrency)) signInRows.set(concurrency, []);
        signInRows.get(concurrency).push(r);
        console.log(
          `  round ${round + 1} sign-ins ×${concurrency}: ${f(r.perSecond)} sign-ins/s, p50 ${f(r.p50)} ms, p99 ${f(r.p99)} ms, ${r.errors} errors, ` +
            `server CPU ${f(r.serverCpuMs)} ms/sign-in, PostgreSQL ${f(r.databaseCpuMs)} ms/sign-in, load ${f(r.load[0], 2)}→${f(r.load[1], 2)}`,
        );
      }
    }
  }
  if (gatehouse) {
    const stderr = gatehouse.stderr().trim();
    if (stderr) notes.push(`Gatehouse stderr: ${stderr.slice(0, 800)}`);
    // SIGTERM, so that a --cpu-prof profile is written.
    await gatehouse.stop();
  }
} catch (error) {
  failures.push(error.stack ?? String(error));
} finally {
  await book.cleanup();
}

// ---------------------------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------------------------

console.log(`\nload average: ${loadAtStart.map((l) => l.toFixed(2)).join(' ')} at the start, ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} at the end (${os.cpus().length} CPUs)`);

if (MODES.includes('refresh')) {
  console.log(
    `\nRefresh token grant with rotation (scope "${SCOPE}", resource ${RESOURCE} → ES256 JWT access token, ES256 ID token, next refresh token), ` +
      `client_secret_basic; ${CONCURRENCY} workers, each rotating a family of its own over a keep-alive connection; ` +
      `${ROUNDS} alternating round(s) of ${DURATION} s after ${WARMUP} s warm-up (${FIRST_WARMUP} s in the first)\n`,
  );
  console.log('| server | storage | tokens/s | p50 ms | p99 ms | tokens | errors | server CPU ms/token | PostgreSQL CPU ms/token | server CPU % | PostgreSQL CPU % | load gen CPU % | machine busy % | load avg |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  const summary = new Map();
  for (const key of SERVERS) {
    const target = targets.find((t) => t.key === key);
    const rounds = refreshRows.get(key);
    if (!target || !rounds) {
      console.log(`| ${SERVER_NAMES[key]} | | failed | | | | | | | | | | | |`);
      continue;
    }
    const row = {
      perSecond: mean(rounds, (r) => r.perSecond),
      p50: mean(rounds, (r) => r.p50),
      p99: mean(rounds, (r) => r.p99),
      ok: sum(rounds, (r) => r.ok),
    };
    summary.set(key, row);
    console.log(
      `| ${target.name} | ${target.storage} | ${f(row.perSecond)} | ${f(row.p50, 2)} | ${f(row.p99, 2)} | ${row.ok} | ${sum(rounds, (r) => r.errors)} | ` +
        `${f(mean(rounds, (r) => r.serverCpuMs), 2)} | ${f(mean(rounds, (r) => r.databaseCpuMs), 2)} | ${f(mean(rounds, (r) => r.serverCpuPercent), 0)} | ` +
        `${f(mean(rounds, (r) => r.databaseCpuPercent), 0)} | ${f(mean(rounds, (r) => r.clientCpuPercent), 0)} | ${f(mean(rounds, (r) => r.machineBusy), 0)} | ${loads(rounds)} |`,
    );
  }
  console.log('');
  const g = summary.get('gatehouse');
  for (const key of ['oidc-provider', 'oidc-provider-memory']) {
    const o = summary.get(key);
    if (!SERVERS.includes(key) || !SERVERS.includes('gatehouse')) continue;
    if (g?.ok && o?.ok) {
      console.log(
        `Gatehouse / ${SERVER_NAMES[key]}: throughput ${(g.perSecond / o.perSecond).toFixed(2)}× (issue target ≥ 1.5× vs oidc-provider), ` +
          `p99 ${f(g.p99, 1)} vs ${f(o.p99, 1)} ms (${(g.p99 / o.p99).toFixed(2)}×)`,
      );
    } else {
      console.log(`Gatehouse / ${SERVER_NAMES[key]}: ratio n/a (a server failed or completed no token)`);
    }
  }
  console.log(
    '\ntokens/s: 200 responses with an access token and a new refresh token that ended inside the measured window / its length (mean over rounds); p50/p99 over those.' +
      '\nerrors: every other response in the window; a family whose request failed is dropped (its worker stops), see the notes.' +
      '\nserver CPU: the server process only (100 % = one core); PostgreSQL CPU: the backends connected to that server\'s own database (not WAL writer, checkpointer, …).' +
      '\nGatehouse rotates in one prepared statement (checks, token used, successor, user, roles) and appends an audit event (oauth.token_issued) per token; oidc-provider\'s adapter writes each model change' +
      ' as its own statement (find token, find grant, read account, consume, insert successor) and it keeps no audit trail.',
  );
}

if (MODES.includes('signin')) {
  console.log(
    `\nComplete sign-ins through Gatehouse's hosted pages (new user each: authorize → email page → post email → code page → code from the development outbox (GraphQL) → ` +
      `post code → continue → token), scope "${SCOPE}"; ${ROUNDS} alternating round(s) of ${DURATION} s after ${WARMUP} s warm-up (${FIRST_WARMUP} s in the first)\n`,
  );
  console.log('| concurrency | sign-ins/s | p50 ms | p99 ms | sign-ins | errors | server CPU ms/sign-in | PostgreSQL CPU ms/sign-in | server CPU % | PostgreSQL CPU % | load gen CPU % | machine busy % | load avg |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const concurrency of SIGNIN_CONCURRENCY) {
    const rounds = signInRows.get(concurrency);
    if (!rounds) {
      console.log(`| ${concurrency} | failed | | | | | | | | | | | |`);
      continue;
    }
    console.log(
      `| ${concurrency} | ${f(mean(rounds, (r) => r.perSecond))} | ${f(mean(rounds, (r) => r.p50))} | ${f(mean(rounds, (r) => r.p99))} | ${sum(rounds, (r) => r.ok)} | ` +
        `${sum(rounds, (r) => r.errors)} | ${f(mean(rounds, (r) => r.serverCpuMs))} | ${f(mean(rounds, (r) => r.databaseCpuMs))} | ${f(mean(rounds, (r) => r.serverCpuPercent), 0)} | ` +
        `${f(mean(rounds, (r) => r.databaseCpuPercent), 0)} | ${f(mean(rounds, (r) => r.clientCpuPercent), 0)} | ${f(mean(rounds, (r) => r.machineBusy), 0)} | ${loads(rounds)} |`,
    );
  }
  console.log('\nMean time of each step of a counted sign-in, ms (one HTTP request each):\n');
  console.log(`| concurrency | ${SIGN_IN_STEPS.join(' | ')} |`);
  console.log(`|---|${SIGN_IN_STEPS.map(() => '---').join('|')}|`);
  for (const concurrency of SIGNIN_CONCURRENCY) {
    const rounds = signInRows.get(concurrency);
    const ok = rounds ? sum(rounds, (r) => r.ok) : 0;
    if (!ok) continue;
    console.log(`| ${concurrency} | ${SIGN_IN_STEPS.map((step) => f(sum(rounds, (r) => r.steps[step] ?? 0) / ok)).join(' | ')} |`);
  }
  console.log(
    '\nEach sign-in uses a new email (the per-address limit is 5 codes per 15 min) and, through X-Forwarded-For with GATEHOUSE_TRUST_PROXY=127.0.0.1, a new client address' +
      ' (the per-IP limit is 30 per 15 min: from one address the ceiling would be 30 sign-ins per 15 minutes). The outbox query is the bench reading the code, not part of a real sign-in,' +
      ' but its server CPU is in the server CPU column.',
  );
}

for (const [key, rounds] of refreshRows) {
  const target = targets.find((t) => t.key === key);
  for (const [i, r] of rounds.entries()) {
    if (r.errorSamples.length) notes.push(`${target.name} refresh round ${i + 1}: ${r.errors} error(s) ${JSON.stringify(r.statuses)}, e.g. ${r.errorSamples.join(' | ')}`);
    if (r.retired) notes.push(`${target.name} refresh round ${i + 1}: ${r.retired} famil${r.retired === 1 ? 'y' : 'ies'} dropped after a failed request`);
  }
  notes.push(`${target.name} refresh: max latency ${f(Math.max(...rounds.map((r) => r.max)), 1)} ms; ${target.families.length} of ${CONCURRENCY} families alive at the end`);
}
for (const [concurrency, rounds] of signInRows) {
  for (const [i, r] of rounds.entries()) {
    if (r.errorSamples.length) notes.push(`sign-ins ×${concurrency} round ${i + 1}: ${r.errors} error(s) ${JSON.stringify(r.statuses)}, e.g. ${r.errorSamples.join(' | ')}`);
  }
}
if (signInCount) notes.push(`${signInCount} sign-ins started in total (setup, warm-ups and measurements)`);
console.log(`\nNotes (total ${((Date.now() - began) / 1000).toFixed(0)} s):`);
for (const note of notes) console.log(`- ${note}`);
for (const failure of failures) console.log(`- FAILED ${failure}`);
if (failures.length) process.exitCode = 1;
