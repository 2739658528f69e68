// Benchmark: OAuth 2.0 client_credentials token issuance (JWT access tokens signed ES256), Gatehouse
// vs oidc-provider, each with client_secret_basic and with private_key_jwt (RFC 7523 client
// assertion, ES256, a fresh jti per request).
//
//   npm run build && node bench/token/run.mjs
//   BENCH_DURATION=20 node bench/token/run.mjs --concurrency 32 --servers oidc-provider
//
// Gatehouse runs as `node dist/src/main.js` on a freshly created PostgreSQL database (dropped
// afterwards) and is set up through its GraphQL API; oidc-provider runs as a child process
// (bench/token/oidc-provider-server.mjs) with its in-memory adapter. Only one server runs at a
// time. The load generator (bench/token/load.mjs) runs in this process: a closed loop of
// `concurrency` keep-alive connections, measured for `duration` seconds after a warm-up.
// private_key_jwt assertions are all signed before the server is loaded, so the load
// generator's signing cost is not part of the measurement; running out of them fails the mode.
// Before measuring, one token per server and method is verified as an ES256 JWT against the
// server's JWKS (jose createRemoteJWKSet + jwtVerify).
import { KeyObject, randomBytes, randomUUID, sign } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createRemoteJWKSet, decodeProtectedHeader, generateKeyPair, importJWK, jwtVerify, SignJWT } from 'jose';
import { benchBookkeeping } from '../lib/bookkeeping.mjs';
import { machineJiffies, processCpuSeconds } from '../lib/cpu.mjs';
import { createBenchResourceServer, developmentEnvironmentId, startGatehouse as startGatehouseProcess } from '../lib/gatehouse.mjs';
import { basicAuthorization, discover, es256Jwk, startOidcProviderChild } from '../lib/oauth.mjs';
import { cliOptions } from '../lib/options.mjs';
import { runLoad } from './load.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RESOURCE = 'https://api.bench.example';
const SCOPE = 'read';
const FORM = `grant_type=client_credentials&scope=${SCOPE}&resource=${encodeURIComponent(RESOURCE)}`;
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const FORM_HEADERS = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
const ACCESS_TOKEN = Buffer.from('"access_token"');

// ---------------------------------------------------------------------------------------------
// Options: --name value / --name=value, else BENCH_NAME, else the default
// ---------------------------------------------------------------------------------------------

const HELP = `usage: node bench/token/run.mjs [--duration s] [--warmup s] [--concurrency n] [--servers list]
                                [--client http|fetch] [--assertion-rate n] [--port n]
every flag also reads BENCH_<NAME> (e.g. BENCH_DURATION, BENCH_ASSERTION_RATE); see bench/README.md`;

const { option, numberOption, listOption } = cliOptions(HELP);
const DURATION = numberOption('duration', 15, 1);
const WARMUP = numberOption('warmup', 3, 0);
const CONCURRENCY = Math.round(numberOption('concurrency', 32, 1));
const ASSERTION_RATE = numberOption('assertion-rate', 3000, 1);
const PORT = Math.round(numberOption('port', 4730, 1));
const CLIENT = option('client', 'http');
const SERVERS = listOption('servers', 'gatehouse,oidc-provider');
if (!['http', 'fetch'].includes(CLIENT) || !SERVERS.every((s) => ['gatehouse', 'oidc-provider'].includes(s))) {
  console.error(HELP);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// Process and database bookkeeping (everything is stopped/dropped, also on error or Ctrl-C)
// ---------------------------------------------------------------------------------------------

const book = benchBookkeeping();

class Skip extends Error {}

// ---------------------------------------------------------------------------------------------
// Client key and client assertions
// ---------------------------------------------------------------------------------------------

/** The private_key_jwt client's ES256 key pair: public JWK (with kid) for the servers, KeyObject for signing. */
async function clientKey() {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await es256Jwk(publicKey);
  return { jwk, privateKey, keyObject: KeyObject.from(privateKey) };
}

/** One assertion signed with jose (used for the sample tokens; independent of the fast signer below). */
function joseAssertion(key, clientId, audience) {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: key.jwk.kid })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime('300s')
    .setJti(randomUUID())
    .sign(key.privateKey);
}

/**
 * Pre-signs `count` request bodies carrying client assertions (iss = sub = clientId, aud =
 * token endpoint, a fresh jti each), with node:crypto's synchronous ES256 signer (several times
 * faster than WebCrypto for this). Self-checked with jose against the public JWK.
 */
async function presignBodies(key, clientId, audience, count, lifetimeS) {
  const header = Buffer.from(JSON.stringify({ alg: 'ES256', kid: key.jwk.kid })).toString('base64url');
  const prefix = `${FORM}&client_assertion_type=${encodeURIComponent(ASSERTION_TYPE)}&client_assertion=`;
  const iat = Math.floor(Date.now() / 1000);
  const bodies = new Array(count);
  for (let i = 0; i < count; i += 1) {
    const payload = Buffer.from(JSON.stringify({ iss: clientId, sub: clientId, aud: audience, iat, exp: iat + lifetimeS, jti: randomUUID() })).toString(
      'base64url',
    );
    const input = `${header}.${payload}`;
    const signature = sign('sha256', Buffer.from(input), { key: key.keyObject, dsaEncoding: 'ieee-p1363' }).toString('base64url');
    bodies[i] = `${prefix}${input}.${signature}`;
    if (i % 5000 === 4999) await new Promise((resolve) => setImmediate(resolve));
  }
  const first = decodeURIComponent(bodies[0].slice(prefix.length));
  await jwtVerify(first, await importJWK(key.jwk, 'ES256'), { issuer: clientId, subject: clientId, audience, algorithms: ['ES256'] });
  return bodies;
}

// ---------------------------------------------------------------------------------------------
// Servers under test. Each target: { name, issuer, tokenEndpoint, jwksUri, pid,
// basic: { clientId, authorization }, jwt: { clientId }, stop(), stderr(), notes[] }
// ---------------------------------------------------------------------------------------------

async function startGatehouse(key) {
  const oauthSource = existsSync(`${ROOT}src/http/oauth`);
  const gatehouse = await startGatehouseProcess(book, {
    database: `gatehouse_bench_token_${randomBytes(4).toString('hex')}`,
    port: PORT,
    cwd: ROOT,
    onGraphqlErrors: (message) => {
      if (/Cannot query field|Unknown type|is not defined by type|Unknown argument/.test(message)) {
        throw new Skip(`Gatehouse's OAuth API is not in this build (${message}); src/http/oauth ${oauthSource ? 'exists' : 'does not exist yet'}`);
      }
    },
  });
  const { publicUrl, gql, mutate, stop } = gatehouse;
  try {
    const environmentId = await developmentEnvironmentId(gql);
    await createBenchResourceServer(mutate, environmentId, RESOURCE);
    const { serviceAccount } = await mutate('createServiceAccount', 'CreateServiceAccountInput', 'serviceAccount{ id clientId }', {
      environmentId,
      name: 'Bench client',
      allowedScopes: ['read', 'write'],
      allowedAudiences: [RESOURCE],
      jwks: { keys: [key.jwk] },
    });
    const { secret } = await mutate('createClientSecret', 'CreateClientSecretInput', 'secret clientSecret{ id }', {
      clientId: serviceAccount.clientId,
    });

    const issuer = `${publicUrl}/e/${environmentId}`;
    let metadata;
    try {
      metadata = await discover(issuer);
    } catch (error) {
      throw new Skip(`Gatehouse's OAuth discovery is not served (${error.message}); src/http/oauth ${oauthSource ? 'exists' : 'does not exist yet'}`);
    }
    const notes = [];
    if (metadata.issuer !== issuer) notes.push(`discovery issuer ${metadata.issuer} ≠ expected ${issuer}`);
    return {
      name: 'Gatehouse',
      issuer: metadata.issuer,
      tokenEndpoint: metadata.token_endpoint,
      jwksUri: metadata.jwks_uri,
      pid: gatehouse.proc.child.pid,
      basic: { clientId: serviceAccount.clientId, authorization: basicAuthorization(serviceAccount.clientId, secret) },
      jwt: { clientId: serviceAccount.clientId },
      stderr: gatehouse.proc.stderr,
      notes,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function startOidcProvider(key) {
  const port = PORT + 1;
  const clientSecret = randomBytes(32).toString('base64url');
  const env = { ...process.env, BENCH_OP_PORT: String(port), BENCH_OP_CLIENT_SECRET: clientSecret, BENCH_OP_CLIENT_JWK: JSON.stringify(key.jwk) };
  const { ready, metadata, pid, stderr, stop } = await startOidcProviderChild(book.track, { script: 'bench/token/oidc-provider-server.mjs', cwd: ROOT, env, port });
  return {
    name: 'oidc-provider',
    issuer: metadata.issuer,
    tokenEndpoint: metadata.token_endpoint,
    jwksUri: metadata.jwks_uri,
    pid,
    basic: { clientId: ready.basicClientId, authorization: basicAuthorization(ready.basicClientId, clientSecret) },
    jwt: { clientId: ready.jwtClientId },
    stderr,
    notes: [],
    stop,
  };
}

// ---------------------------------------------------------------------------------------------
// Correctness sample and measurement
// ---------------------------------------------------------------------------------------------

/** Requests one token and verifies it as an ES256 JWT against the server's JWKS; returns a summary. */
async function verifySample(target, method, key) {
  const headers = { ...FORM_HEADERS };
  let body = FORM;
  const clientId = target[method].clientId;
  if (method === 'basic') {
    headers.authorization = target.basic.authorization;
  } else {
    body += `&client_assertion_type=${encodeURIComponent(ASSERTION_TYPE)}&client_assertion=${await joseAssertion(key, clientId, target.issuer)}`;
  }
  const response = await fetch(target.tokenEndpoint, { method: 'POST', headers, body, signal: AbortSignal.timeout(15_000) });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`sample token request answered ${response.status}: ${text.slice(0, 500)}`);
  const { access_token: token, token_type: tokenType } = JSON.parse(text);
  if (typeof token !== 'string') throw new Error(`no access_token in ${text.slice(0, 500)}`);
  const jwks = createRemoteJWKSet(new URL(target.jwksUri));
  const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer: target.issuer, audience: RESOURCE, algorithms: ['ES256'] });
  const problems = [];
  const scopes = String(payload.scope ?? '').split(' ');
  if (!scopes.includes(SCOPE)) problems.push(`scope is "${payload.scope}"`);
  if (payload.client_id !== undefined && payload.client_id !== clientId) problems.push(`client_id is ${payload.client_id}`);
  if (!payload.exp) problems.push('no exp');
  return {
    summary: `alg ${protectedHeader.alg}, typ ${protectedHeader.typ ?? '–'}, kid ${String(protectedHeader.kid).slice(0, 12)}…, iss ${payload.iss}, aud ${payload.aud}, scope "${payload.scope}", sub ${payload.sub}, client_id ${payload.client_id ?? '–'}, ttl ${payload.exp - payload.iat} s, token_type ${tokenType}`,
    problems,
    header: decodeProtectedHeader(token),
  };
}

async function measure(target, method, nextRequest) {
  let serverCpu0;
  let machine0;
  let serverCpu = NaN;
  let machineBusy = NaN;
  const result = await runLoad({
    url: target.tokenEndpoint,
    concurrency: CONCURRENCY,
    warmupMs: WARMUP * 1000,
    durationMs: DURATION * 1000,
    client: CLIENT,
    nextRequest,
    isSuccess: (status, body) => status === 200 && body.includes(ACCESS_TOKEN),
    onWindowStart: () => {
      serverCpu0 = processCpuSeconds(target.pid);
      machine0 = machineJiffies();
    },
    onWindowEnd: () => {
      serverCpu = ((processCpuSeconds(target.pid) - serverCpu0) / DURATION) * 100;
      const [busy, total] = machineJiffies();
      machineBusy = ((busy - machine0[0]) / (total - machine0[1])) * 100;
    },
  });
  return { server: target.name, method, ...result, serverCpu, machineBusy };
}

const METHOD_LABEL = { basic: 'client_secret_basic', jwt: 'private_key_jwt' };

async function benchServer(name, start, key, rows, notes, failures) {
  if (book.cleaning) return;
  process.stderr.write(`${name}: starting… `);
  let target;
  try {
    target = await start(key);
  } catch (error) {
    if (error instanceof Skip) {
      process.stderr.write(`SKIPPED: ${error.message}\n`);
      for (const method of ['basic', 'jwt']) rows.push({ server: name, method, skipped: true });
      notes.push(`${name} SKIPPED: ${error.message}`);
      return;
    }
    process.stderr.write(`FAILED: ${error.message.split('\n')[0]}\n`);
    for (const method of ['basic', 'jwt']) rows.push({ server: name, method, failed: true });
    failures.push(`${name} setup: ${error.message.slice(0, 1500)}`);
    return;
  }
  try {
    notes.push(...target.notes.map((n) => `${name}: ${n}`));
    notes.push(`${name}: token endpoint ${target.tokenEndpoint}, JWKS ${target.jwksUri}`);
    for (const method of ['basic', 'jwt']) {
      const label = `${name} ${METHOD_LABEL[method]}`;
      try {
        const sample = await verifySample(target, method, key);
        notes.push(`${label}: sample token verified against the JWKS (${sample.summary})`);
        if (sample.problems.length) throw new Error(`sample token: ${sample.problems.join('; ')}`);

        let nextRequest;
        let pool;
        if (method === 'basic') {
          const request = { headers: { ...FORM_HEADERS, authorization: target.basic.authorization }, body: FORM };
          nextRequest = () => request;
        } else {
          // Generous upper bound: the larger of --assertion-rate and twice this server's
          // client_secret_basic rate, over warm-up + duration, plus one per connection.
          const basicRate = rows.find((r) => r.server === name && r.method === 'basic' && !r.failed)?.perSecond ?? 0;
          const rate = Math.max(ASSERTION_RATE, 2 * basicRate);
          const count = Math.ceil(rate * (WARMUP + DURATION)) + CONCURRENCY;
          const lifetime = Math.max(300, Math.ceil(WARMUP + DURATION + 120));
          process.stderr.write(`signing ${count} client assertions… `);
          const t = performance.now();
          const headers = { ...FORM_HEADERS };
          pool = { bodies: await presignBodies(key, target.jwt.clientId, target.issuer, count, lifetime), next: 0 };
          pool.ms = performance.now() - t;
          nextRequest = () => (pool.next < pool.bodies.length ? { headers, body: pool.bodies[pool.next++] } : null);
        }
        process.stderr.write(`${METHOD_LABEL[method]} (${WARMUP} s warm-up + ${DURATION} s)… `);
        const row = await measure(target, method, nextRequest);
        if (pool) {
          row.pool = { used: pool.next, size: pool.bodies.length, ms: pool.ms };
          pool.bodies = null;
        }
        rows.push(row);
        if (row.exhausted) {
          row.failed = true;
          failures.push(
            `${label}: the ${row.pool.size} pre-signed client assertions ran out before the end of the run: the numbers are not valid; raise --assertion-rate / BENCH_ASSERTION_RATE`,
          );
        }
      } catch (error) {
        rows.push({ server: name, method, failed: true });
        failures.push(`${label}: ${error.message.slice(0, 1500)}`);
      }
    }
    process.stderr.write('done\n');
    const stderr = target.stderr().trim();
    if (stderr) notes.push(`${name} stderr: ${stderr.slice(0, 800)}`);
  } finally {
    await target.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

const key = await clientKey();
const rows = [];
const notes = [];
const failures = [];
const began = Date.now();
try {
  if (SERVERS.includes('gatehouse')) await benchServer('Gatehouse', startGatehouse, key, rows, notes, failures);
  if (SERVERS.includes('oidc-provider')) await benchServer('oidc-provider', startOidcProvider, key, rows, notes, failures);
} finally {
  await book.cleanup();
}

const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–');
console.log(
  `\nOAuth 2.0 client_credentials → ES256 JWT access token (scope "${SCOPE}", resource ${RESOURCE}); ` +
    `${CONCURRENCY} keep-alive connections (${CLIENT === 'http' ? 'node:http' : 'fetch'}), ${DURATION} s measured after ${WARMUP} s warm-up\n`,
);
console.log('| server | client auth | tokens/s | p50 ms | p99 ms | tokens | errors | server CPU % | load gen CPU % | machine busy % |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const label = `| ${r.server} | ${METHOD_LABEL[r.method]} |`;
  if (r.skipped) console.log(`${label} skipped | | | | | | | |`);
  else if (r.failed && r.ok === undefined) console.log(`${label} failed | | | | | | | |`);
  else
    console.log(
      `${label} ${r.failed ? 'INVALID ' : ''}${f(r.perSecond)} | ${f(r.p50, 2)} | ${f(r.p99, 2)} | ${r.ok} | ${r.errors} | ${f(r.serverCpu, 0)} | ${f(r.clientCpuPercent, 0)} | ${f(r.machineBusy, 0)} |`,
    );
}

console.log('');
for (const method of ['basic', 'jwt']) {
  const g = rows.find((r) => r.server === 'Gatehouse' && r.method === method);
  const o = rows.find((r) => r.server === 'oidc-provider' && r.method === method);
  const valid = (r) => r && !r.skipped && !r.failed && r.ok > 0;
  if (valid(g) && valid(o)) {
    console.log(
      `${METHOD_LABEL[method]}: Gatehouse / oidc-provider throughput ${(g.perSecond / o.perSecond).toFixed(2)}×, p99 latency ${(g.p99 / o.p99).toFixed(2)}×`,
    );
  } else {
    const why = !g || !o ? 'not run' : g.skipped || o.skipped ? 'a server was skipped' : 'a mode failed or completed no token';
    console.log(`${METHOD_LABEL[method]}: Gatehouse / oidc-provider ratio n/a (${why})`);
  }
}
console.log(
  '\ntokens/s: HTTP 200 responses carrying an access_token that completed inside the measured window / its length; p50/p99 over those.' +
    '\nerrors: every other response in the window (non-200 or network error). server CPU: the server process only (100 = one core),' +
    ' not PostgreSQL; machine busy: all cores of the machine (100 = all), including other work.' +
    '\noidc-provider keeps its state in memory; Gatehouse writes an audit event per token to PostgreSQL.',
);

for (const r of rows) {
  if (r.skipped || r.ok === undefined) continue;
  const label = `${r.server} ${METHOD_LABEL[r.method]}`;
  if (r.errors) notes.push(`${label}: ${r.errors} error(s) ${JSON.stringify(r.statuses)}, e.g. ${r.errorSamples.join(' | ')}`);
  if (r.pool) notes.push(`${label}: used ${r.pool.used} of ${r.pool.size} pre-signed client assertions (signed in ${(r.pool.ms / 1000).toFixed(1)} s, before the warm-up)`);
  notes.push(`${label}: max latency ${f(r.max, 1)} ms, ${r.sent} requests sent in total (warm-up included)`);
}
console.log(`\nNotes (total ${((Date.now() - began) / 1000).toFixed(0)} s):`);
for (const note of notes) console.log(`- ${note}`);
for (const failure of failures) console.log(`- FAILED ${failure}`);
if (failures.length) process.exitCode = 1;
