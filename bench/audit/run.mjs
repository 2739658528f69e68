// Benchmark: live audit streaming (`subscription { auditEvents }` over graphql-ws) on PostgreSQL.
//
//   npm run bench:audit      (builds, then runs this file)
//   BENCH_SUBSCRIBERS=1,100 BENCH_RATE=50 BENCH_DURATION=10 node bench/audit/run.mjs
//   BENCH_JSON=before.json BENCH_SERVER=../old/dist/src/main.js … then BENCH_BASELINE=before.json … (ratios)
//
// Every scenario gets a freshly created database and its own server process(es)
// (node dist/src/main.js). Subscribers (graphql-ws clients) run in this process's main thread;
// the writer (createOrganization over HTTP) runs in a worker thread so that its "commit"
// timestamps are not held up by the subscribers' message handling. Both threads timestamp with
// process.hrtime (the system-wide monotonic clock), so commit → delivery latencies are comparable.
//
// Latency = time the subscriber received the event − time the writer received the mutation's
// HTTP response (the transaction has committed by then). An event can be delivered before the
// response reaches the writer, so single samples may be slightly negative.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

const CREATE_ORG = 'mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) { organization { id } userErrors { code message } } }';
const STREAM = `subscription($env: ID, $after: String) {
  auditEvents(environmentId: $env, after: $after, filter: { actions: ["organization.created"] }) { sequence targets { id } }
}`;

const nowNs = () => process.hrtime.bigint();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * CPU time (user + system, ms) a process has used so far, from /proc (Linux); NaN elsewhere.
 * Unlike latencies, a server's CPU time per event barely moves when other work shares the
 * cores, so it is the number to compare between runs on a busy machine.
 */
function cpuMsOf(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // utime and stime are fields 14 and 15 of stat, in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

async function createOrganization(url, key, env, name, timeoutMs = 15_000) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: CREATE_ORG, variables: { i: { environmentId: env, name } } }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  const payload = body.data.createOrganization;
  if (payload.userErrors?.length) throw new Error(JSON.stringify(payload.userErrors));
  return payload.organization.id;
}

// ---------------------------------------------------------------------------------------------
// Writer (worker thread)
// ---------------------------------------------------------------------------------------------

async function runWriter({ url, key, env, mode, rate, durationS, concurrency, maxInFlight, maxEvents, label }) {
  const written = []; // [id, sentNs, commitNs] with ns as strings (BigInt is not cloneable everywhere)
  const failures = [];
  let seq = 0;
  const one = async () => {
    const n = seq++;
    const sent = nowNs();
    try {
      const id = await createOrganization(url, key, env, `${label}-${n}`);
      written.push([id, String(sent), String(nowNs())]);
    } catch (error) {
      if (failures.length < 20) failures.push(String(error?.message ?? error));
      else failures.push('');
    }
  };
  const start = nowNs();
  const deadline = Date.now() + durationS * 1000;
  let late = 0;
  let planned = null;
  let stoppedEarly = false;
  if (mode === 'fixed') {
    const total = Math.min(Math.round(rate * durationS), maxEvents);
    planned = total;
    const interval = 1000 / rate;
    const t0 = performance.now();
    const inFlight = new Set();
    for (let i = 0; i < total; i += 1) {
      const wait = t0 + i * interval - performance.now();
      if (wait > 0) await sleep(wait);
      else if (wait < -interval) late += 1;
      // Open loop, but bounded: never more than maxInFlight requests outstanding.
      while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
      if (Date.now() > deadline + 10_000) {
        stoppedEarly = true; // hopelessly behind: stop sending
        break;
      }
      const p = one().finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await Promise.all(inFlight);
  } else {
    // "max": `concurrency` closed loops, each sending the next mutation as soon as the last answered.
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (Date.now() < deadline && seq < maxEvents) await one();
      }),
    );
  }
  return { written, sent: seq, planned, stoppedEarly, failures: failures.length, failureSamples: failures.filter(Boolean).slice(0, 5), late, startNs: String(start), endNs: String(nowNs()) };
}

if (!isMainThread) {
  runWriter(workerData).then(
    (result) => parentPort.postMessage({ ok: true, result }),
    (error) => parentPort.postMessage({ ok: false, error: String(error?.stack ?? error) }),
  );
} else {
  await main();
}

// ---------------------------------------------------------------------------------------------
// Orchestration (main thread)
// ---------------------------------------------------------------------------------------------

async function main() {
  const { createClient } = await import('graphql-ws');
  const { default: WebSocket } = await import('ws');
  const { BENCH_DATABASE_URL, databaseUrl } = await import('../lib/postgres.mjs');
  const { benchBookkeeping } = await import('../lib/bookkeeping.mjs');
  const { gatehouseEnv, spawnGatehouse } = await import('../lib/gatehouse.mjs');
  const { percentile } = await import('../lib/window.mjs');

  const BASE_URL = BENCH_DATABASE_URL;
  const SUBSCRIBERS = (process.env.BENCH_SUBSCRIBERS || '1,100,1000')
    .split(',')
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
  const RATE = Number(process.env.BENCH_RATE || 50);
  const DURATION = Number(process.env.BENCH_DURATION || 10);
  const PER_CONNECTION = Math.max(1, Number(process.env.BENCH_SUBS_PER_CONNECTION || 1));
  const CLIENT = process.env.BENCH_CLIENT || 'raw';
  const SERVER_ENTRY = process.env.BENCH_SERVER || 'dist/src/main.js';
  if (!['raw', 'graphql-ws'].includes(CLIENT)) throw new Error('BENCH_CLIENT must be raw or graphql-ws');
  const MAX_CONCURRENCY = Number(process.env.BENCH_MAX_CONCURRENCY || 16);
  const DRAIN_S = Number(process.env.BENCH_DRAIN_TIMEOUT || 30);
  const PORT = Number(process.env.BENCH_PORT || 4720);
  const MODES = (process.env.BENCH_MODES || 'fixed,max,two-process').split(',').map((s) => s.trim());
  const TWO_PROCESS_N = Number(process.env.BENCH_TWO_PROCESS_SUBSCRIBERS || 100);
  const WARMUP_EVENTS = 3;
  const CONNECT_PARALLEL = 50;
  const SETUP_TIMEOUT_MS = 90_000;
  const MAX_EVENTS = 200_000; // hard bound on mutations per scenario
  const WS_CAP = Math.max(1000, ...SUBSCRIBERS, TWO_PROCESS_N) + 100;

  const clients = new Set();
  const book = benchBookkeeping({ serverUrl: BASE_URL, beforeCleanup: () => closeClients().catch(() => undefined) });
  const { dropDatabase } = book;

  async function freshDatabase(tag) {
    const name = await book.createDatabase(`gatehouse_bench_audit_${tag.replace(/[^a-z0-9]/gi, '_')}_${randomBytes(4).toString('hex')}`);
    return { name, url: databaseUrl(BASE_URL, name) };
  }

  function startServer(dbUrl, port, expectKey) {
    const env = gatehouseEnv(dbUrl, port, {
      // Every subscriber connects with the one owner key from 127.0.0.1: lift the per-key and
      // per-address connection caps (defaults 10 and 50) above the largest row.
      GATEHOUSE_WS_CONNECTIONS_PER_KEY: process.env.GATEHOUSE_WS_CONNECTIONS_PER_KEY || String(WS_CAP),
      GATEHOUSE_WS_CONNECTIONS_PER_ADDRESS: process.env.GATEHOUSE_WS_CONNECTIONS_PER_ADDRESS || String(WS_CAP),
    });
    const { proc, ready } = spawnGatehouse(book.track, { entry: SERVER_ENTRY, env, port, what: `server on :${port}`, expectKey });
    return { child: proc.child, ready, port, stderr: proc.stderr, stop: proc.stop };
  }

  async function gql(port, key, query, variables) {
    const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(15_000),
    });
    const body = await response.json();
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data;
  }

  /**
   * A graphql-transport-ws client on a bare `ws` socket, for many subscriptions in one thread:
   * per `next` frame it takes the time, then reads the operation id, the event's sequence and
   * its first target id straight from the bytes (the server writes the fields in the order the
   * document selects them); any other frame, or one that does not look as expected, is parsed
   * as JSON. The graphql-ws client (BENCH_CLIENT=graphql-ws) costs several times more CPU per
   * message, which on a 2-core machine is taken from the server under test.
   */
  function openRawConnection(port, key, env, after, group, problems) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('graphql-ws connection timed out')), 30_000);
      const socket = new WebSocket(`ws://127.0.0.1:${port}/graphql`, 'graphql-transport-ws', { perMessageDeflate: false });
      const client = {
        disposing: false,
        dispose: () =>
          new Promise((done) => {
            if (socket.readyState === WebSocket.CLOSED) return done();
            socket.once('close', () => done());
            socket.close(1000, 'Normal Closure');
          }),
      };
      clients.add(client);
      let acked = false;
      const SEQUENCE = Buffer.from('"sequence":"');
      const TARGET = Buffer.from('"targets":[{"id":"');
      const QUOTE = 0x22;
      const slow = (text, t) => {
        const message = JSON.parse(text);
        const sub = group[Number(message.id)];
        if (!sub) return problems.errors.push(`unexpected message: ${text.slice(0, 200)}`);
        if (message.type === 'next') {
          if (message.payload?.errors) sub.errors.push(JSON.stringify(message.payload.errors));
          const event = message.payload?.data?.auditEvents;
          if (!event) return;
          sub.ids.push(event.targets[0]?.id);
          sub.seqs.push(Number(event.sequence));
          sub.times.push(t);
        } else if (message.type === 'error') sub.errors.push(JSON.stringify(message.payload));
        else if (message.type === 'complete') sub.completed = true;
      };
      socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } })));
      socket.on('message', (data) => {
        const t = Number(nowNs());
        if (!acked) {
          const message = JSON.parse(String(data));
          if (message.type !== 'connection_ack') return;
          acked = true;
          clearTimeout(timer);
          group.forEach((_, id) => socket.send(JSON.stringify({ id: String(id), type: 'subscribe', payload: { query: STREAM, variables: { env, after } } })));
          resolve();
          return;
        }
        // {"id":"<digits>","type":"next","payload":{"data":{"auditEvents":{"sequence":"<digits>","targets":[{"id":"<id>"...
        let id = 0;
        let at = 7;
        for (let c = data[at]; c >= 0x30 && c <= 0x39; c = data[++at]) id = id * 10 + (c - 0x30);
        const sub = group[id];
        const seqAt = data.indexOf(SEQUENCE, at);
        const targetAt = seqAt < 0 ? -1 : data.indexOf(TARGET, seqAt);
        if (!sub || data[at] !== QUOTE || data[at + 10] !== 0x6e /* n(ext) */ || targetAt < 0 || data.indexOf('"errors"', at) >= 0) {
          slow(String(data), t);
          return;
        }
        let seq = 0;
        for (let i = seqAt + SEQUENCE.length, c = data[i]; c >= 0x30 && c <= 0x39; c = data[++i]) seq = seq * 10 + (c - 0x30);
        const idStart = targetAt + TARGET.length;
        sub.ids.push(data.toString('latin1', idStart, data.indexOf(QUOTE, idStart)));
        sub.seqs.push(seq);
        sub.times.push(t);
      });
      socket.on('close', (code, reason) => {
        if (!client.disposing) problems.closes.push(`${code} ${String(reason)}`.trim());
        clearTimeout(timer);
        reject(new Error(`connection closed before ack: ${code} ${String(reason)}`));
      });
      socket.on('error', (error) => problems.errors.push(String(error?.message ?? error)));
    });
  }

  /** Opens `count` subscriptions, `PER_CONNECTION` per graphql-ws connection, each resuming after `after`. */
  async function openSubscribers(port, key, env, after, count) {
    const subscribers = Array.from({ length: count }, (_, i) => ({ i, ids: [], times: [], seqs: [], errors: [], completed: false }));
    const problems = { closes: [], errors: [] };
    const groups = [];
    for (let i = 0; i < count; i += PER_CONNECTION) groups.push(subscribers.slice(i, i + PER_CONNECTION));
    const openConnection = (group) =>
      CLIENT === 'raw' ? openRawConnection(port, key, env, after, group, problems) : openGraphqlWsConnection(group);
    const openGraphqlWsConnection = (group) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('graphql-ws connection timed out')), 30_000);
        const client = createClient({
          url: `ws://127.0.0.1:${port}/graphql`,
          webSocketImpl: WebSocket,
          connectionParams: { authorization: `Bearer ${key}` },
          lazy: false,
          retryAttempts: 0,
          keepAlive: 0,
          onNonLazyError: (error) => problems.errors.push(String(error?.message ?? error)),
          on: {
            connected: () => {
              clearTimeout(timer);
              resolve();
            },
            closed: (event) => {
              if (!client.disposing) problems.closes.push(`${event?.code} ${event?.reason ?? ''}`.trim());
              clearTimeout(timer);
              reject(new Error(`connection closed before ack: ${event?.code} ${event?.reason ?? ''}`));
            },
          },
        });
        clients.add(client);
        for (const sub of group) {
          sub.unsubscribe = client.subscribe(
            { query: STREAM, variables: { env, after } },
            {
              next: (result) => {
                const t = nowNs();
                if (result.errors) {
                  sub.errors.push(JSON.stringify(result.errors));
                  return;
                }
                const event = result.data?.auditEvents;
                if (!event) return;
                sub.ids.push(event.targets[0]?.id);
                sub.times.push(Number(t));
                sub.seqs.push(Number(event.sequence));
              },
              error: (error) => sub.errors.push(String(error?.message ?? error?.code ?? JSON.stringify(error))),
              complete: () => (sub.completed = true),
            },
          );
        }
      });
    const deadline = Date.now() + SETUP_TIMEOUT_MS;
    for (let g = 0; g < groups.length; g += CONNECT_PARALLEL) {
      if (Date.now() > deadline) throw new Error(`opening ${count} subscriptions took over ${SETUP_TIMEOUT_MS} ms`);
      await Promise.all(groups.slice(g, g + CONNECT_PARALLEL).map(openConnection));
    }
    return { subscribers, problems, connections: groups.length };
  }

  async function closeClients() {
    const all = [...clients];
    clients.clear();
    for (const client of all) client.disposing = true;
    await Promise.all(all.map((client) => Promise.race([client.dispose(), sleep(2_000)]).catch(() => undefined)));
  }

  function runWriterThread(options) {
    return new Promise((resolve, reject) => {
      const worker = new Worker(new URL(import.meta.url), { workerData: options });
      const timer = setTimeout(() => {
        void worker.terminate();
        reject(new Error('writer did not finish in time'));
      }, (options.durationS + 60) * 1000);
      worker.once('message', (message) => {
        clearTimeout(timer);
        void worker.terminate();
        if (message.ok) resolve(message.result);
        else reject(new Error(message.error));
      });
      worker.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  /** How many of `sub`'s deliveries are in `wanted` (a Set or Map); incremental, as this is polled. */
  const countOf = (sub, wanted) => {
    if (sub.scan?.wanted !== wanted) sub.scan = { wanted, pos: 0, n: 0 };
    const scan = sub.scan;
    for (; scan.pos < sub.ids.length; scan.pos += 1) if (wanted.has(sub.ids[scan.pos])) scan.n += 1;
    return scan.n;
  };

  async function waitUntil(predicate, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (predicate()) return true;
      await sleep(50);
    }
    return predicate();
  }

  /**
   * One scenario: fresh database, server(s), `count` subscriptions on server "subs", writer on
   * server "writer" (the same one unless twoProcess).
   */
  async function scenario({ label, mode, count, twoProcess }) {
    const tag = `${mode}_${count}${twoProcess ? '_2p' : ''}`;
    const db = await freshDatabase(tag);
    const servers = [];
    try {
      const a = startServer(db.url, PORT, true);
      servers.push(a);
      const key = await a.ready;
      let writerPort = PORT;
      if (twoProcess) {
        const b = startServer(db.url, PORT + 1, false);
        servers.push(b);
        await b.ready;
        writerPort = PORT + 1;
      }
      const { viewer } = await gql(PORT, key, '{ viewer { environmentIds } }');
      const env = viewer.environmentIds[0];
      // A first event, so that every subscription can resume from a known sequence: none can
      // miss an event because it became active late.
      await createOrganization(`http://127.0.0.1:${PORT}/graphql`, key, env, 'bench-start');
      const head = (await gql(PORT, key, 'query($env: ID) { auditEvents(environmentId: $env, first: 1) { nodes { sequence } } }', { env }))
        .auditEvents.nodes[0].sequence;

      const setupStart = Date.now();
      const { subscribers, problems, connections } = await openSubscribers(PORT, key, env, head, count);
      const setupMs = Date.now() - setupStart;

      // Warm-up: every subscription must have delivered these before measuring.
      const warm = new Set();
      for (let w = 0; w < WARMUP_EVENTS; w += 1) {
        warm.add(await createOrganization(`http://127.0.0.1:${writerPort}/graphql`, key, env, `bench-warmup-${w}`));
      }
      const warmed = await waitUntil(() => subscribers.every((s) => countOf(s, warm) >= warm.size), 60_000);
      if (!warmed) {
        const behind = subscribers.filter((s) => countOf(s, warm) < warm.size).length;
        throw new Error(`${behind} of ${count} subscriptions did not receive the warm-up events within 60 s`);
      }
      await sleep(300);

      const cpuStart = servers.map((s) => cpuMsOf(s.child.pid));
      const benchCpuStart = process.cpuUsage();
      const wallStart = performance.now();
      const loadStart = loadavg()[0];
      const writer = await runWriterThread({
        url: `http://127.0.0.1:${writerPort}/graphql`,
        key,
        env,
        mode: mode === 'max' ? 'max' : 'fixed',
        rate: RATE,
        durationS: DURATION,
        concurrency: MAX_CONCURRENCY,
        maxInFlight: 64,
        maxEvents: MAX_EVENTS,
        label: `bench-${tag}`,
      });
      const commits = new Map(writer.written.map(([id, sent, commit]) => [id, { sent: BigInt(sent), commit: BigInt(commit) }]));
      const expected = commits.size;

      // Drain: wait (bounded) until every subscriber holds every written event, then a little
      // longer to catch late duplicates.
      const drainStart = Date.now();
      const drained = await waitUntil(() => subscribers.every((s) => countOf(s, commits) >= expected), DRAIN_S * 1000);
      const drainMs = Date.now() - drainStart;
      const wallMs = performance.now() - wallStart;
      const serverCpuMs = servers.map((s, i) => cpuMsOf(s.child.pid) - cpuStart[i]);
      const benchCpu = process.cpuUsage(benchCpuStart);
      const loadEnd = loadavg()[0];
      await sleep(500);

      // Tally.
      const startNs = Number(writer.startNs);
      let lost = 0;
      let duplicated = 0;
      let unknown = 0;
      let outOfOrder = 0;
      let deliveries = 0;
      let lastDelivery = startNs;
      const latencies = new Float64Array(expected * count);
      let li = 0;
      const subErrors = [];
      const lostBySub = [];
      for (const sub of subscribers) {
        const seen = new Map();
        let previous = -1n;
        for (let k = 0; k < sub.ids.length; k += 1) {
          const seq = BigInt(sub.seqs[k]);
          if (seq <= previous) outOfOrder += 1;
          previous = seq;
          const id = sub.ids[k];
          const commit = commits.get(id);
          if (!commit) {
            if (!warm.has(id)) unknown += 1;
            continue;
          }
          const n = (seen.get(id) ?? 0) + 1;
          seen.set(id, n);
          if (n > 1) {
            duplicated += 1;
            continue;
          }
          deliveries += 1;
          if (sub.times[k] > lastDelivery) lastDelivery = sub.times[k];
          if (li < latencies.length) latencies[li++] = (sub.times[k] - Number(commit.commit)) / 1e6;
        }
        const missing = expected - seen.size;
        if (missing) lostBySub.push([sub.i, missing]);
        lost += missing;
        if (sub.errors.length || sub.completed) subErrors.push(`#${sub.i}: ${sub.completed ? 'completed; ' : ''}${sub.errors.slice(0, 2).join('; ')}`);
      }
      const sorted = latencies.slice(0, li).sort();
      const seconds = (lastDelivery - startNs) / 1e9;
      const writeSeconds = (Number(writer.endNs) - startNs) / 1e9;
      return {
        label,
        count,
        connections,
        eventsPerS: seconds > 0 ? deliveries / seconds : 0,
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        max: sorted.length ? sorted[sorted.length - 1] : NaN,
        lost,
        duplicated,
        written: expected,
        writesPerS: writeSeconds > 0 ? expected / writeSeconds : 0,
        writeFailures: writer.failures,
        failureSamples: writer.failureSamples,
        late: writer.late,
        sent: writer.sent,
        planned: writer.planned,
        stoppedEarly: writer.stoppedEarly,
        unknown,
        outOfOrder,
        drained,
        drainMs,
        setupMs,
        subErrors,
        lostBySub,
        problems,
        serverStderr: servers.map((s) => s.stderr().trim()).filter(Boolean),
        // Server A's CPU (the subscribers' server) over the writes and the drain.
        serverCpuPct: (serverCpuMs[0] / wallMs) * 100,
        serverCpuMsPerEvent: expected ? serverCpuMs[0] / expected : NaN,
        benchCpuPct: ((benchCpu.user + benchCpu.system) / 1000 / wallMs) * 100,
        load: [loadStart, loadEnd],
      };
    } finally {
      await closeClients();
      await Promise.all(servers.map((s) => s.stop()));
      await dropDatabase(db.name).catch((error) => console.error(`could not drop ${db.name}: ${error.message}`));
    }
  }

  const plan = [];
  if (MODES.includes('fixed')) for (const n of SUBSCRIBERS) plan.push({ label: `steady ${RATE}/s, 1 process`, mode: 'fixed', count: n, twoProcess: false });
  if (MODES.includes('max')) plan.push({ label: `max sustained (${MAX_CONCURRENCY} writers), 1 process`, mode: 'max', count: 1, twoProcess: false });
  if (MODES.includes('two-process')) plan.push({ label: `steady ${RATE}/s, subs on A, writes on B`, mode: 'fixed', count: TWO_PROCESS_N, twoProcess: true });

  const results = [];
  const failures = [];
  const began = Date.now();
  try {
    for (const step of plan) {
      const t = Date.now();
      process.stderr.write(`${step.label}, ${step.count} subscriber(s)… `);
      try {
        const r = await scenario(step);
        results.push(r);
        process.stderr.write(`done in ${((Date.now() - t) / 1000).toFixed(1)} s\n`);
      } catch (error) {
        failures.push({ step, error });
        process.stderr.write(`FAILED: ${error.message.split('\n')[0]}\n`);
      }
    }
  } finally {
    await book.cleanup();
  }

  const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–');
  console.log(
    `\nLive audit stream on PostgreSQL: createOrganization over HTTP → subscription { auditEvents } over graphql-ws;` +
      ` ${DURATION} s per row, ${PER_CONNECTION} subscription(s) per WebSocket connection` +
      `${PER_CONNECTION > 1 ? ' (multiplexed: BENCH_SUBS_PER_CONNECTION)' : ''}.\n`,
  );
  console.log(
    '| mode | subscribers | events/s delivered | p50 ms | p99 ms | lost | duplicated | connections | events written | writes/s | server CPU % | server CPU ms/event | bench CPU % | load 1 min |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    console.log(
      `| ${r.label} | ${r.count} | ${f(r.eventsPerS)} | ${f(r.p50)} | ${f(r.p99)} | ${r.lost} | ${r.duplicated} | ${r.connections} | ${r.written} | ${f(r.writesPerS)} | ${f(r.serverCpuPct, 0)} | ${f(r.serverCpuMsPerEvent, 2)} | ${f(r.benchCpuPct, 0)} | ${f(r.load[0])}–${f(r.load[1])} |`,
    );
  }
  for (const { step } of failures) console.log(`| ${step.label} | ${step.count} | failed | | | | | | | | | | | |`);
  console.log(
    '\nevents/s delivered: first-time deliveries of the written events summed over all subscribers, from the first write to the last delivery.' +
      '\nlatency: HTTP response of the mutation (committed) → receipt by each subscriber; lost/duplicated: per subscriber, summed.' +
      '\nserver CPU: the subscribers\' server process (user + system) from the first write to the end of the drain; % of one core, and per event written.' +
      '\nbench CPU: this process (the subscribers and the writer thread) over the same window, % of one core: on a 2-core machine, server + bench + PostgreSQL above ~200% means the row measured the machine, not the server.' +
      '\nload 1 min: the machine\'s load average at the start and the end of the row (2 cores: above ~2, other work competed for them).',
  );

  // Every subscriber must hold every written event exactly once, in sequence order.
  const broken = results.filter((r) => r.lost || r.duplicated || r.outOfOrder || !r.drained || r.subErrors.length);
  console.log(
    broken.length
      ? `\nDELIVERY CHECK FAILED: ${broken.map((r) => `${r.label}, ${r.count} subscriber(s): lost ${r.lost}, duplicated ${r.duplicated}, out of order ${r.outOfOrder}${r.drained ? '' : ', not drained'}${r.subErrors.length ? `, ${r.subErrors.length} errored` : ''}`).join('; ')}`
      : `\nDelivery check: every subscriber of every row received each written event exactly once, in sequence order.`,
  );
  if (broken.length) process.exitCode = 1;

  const rowKey = (r) => `${r.label}|${r.count}`;
  if (process.env.BENCH_JSON) {
    writeFileSync(process.env.BENCH_JSON, JSON.stringify({ date: new Date().toISOString(), rate: RATE, duration: DURATION, perConnection: PER_CONNECTION, results: results.map(({ problems, subErrors, lostBySub, serverStderr, ...r }) => r) }, null, 2));
    console.log(`\nResults written to ${process.env.BENCH_JSON}.`);
  }
  if (process.env.BENCH_BASELINE) {
    // Ratios to an earlier run's BENCH_JSON (e.g. before a change): >1 means better than the baseline.
    const baseline = new Map(JSON.parse(readFileSync(process.env.BENCH_BASELINE, 'utf8')).results.map((r) => [rowKey(r), r]));
    console.log(`\nRatio to the baseline ${process.env.BENCH_BASELINE} (baseline ÷ now for latencies and CPU per event, now ÷ baseline for writes/s; >1 is better):\n`);
    console.log('| mode | subscribers | p50 | p99 | writes/s | server CPU ms/event |');
    console.log('|---|---|---|---|---|---|');
    for (const r of results) {
      const b = baseline.get(rowKey(r));
      if (!b) {
        console.log(`| ${r.label} | ${r.count} | no baseline row | | | |`);
        continue;
      }
      const x = (v) => (Number.isFinite(v) ? `${v.toFixed(1)}×` : '–');
      console.log(
        `| ${r.label} | ${r.count} | ${x(b.p50 / r.p50)} | ${x(b.p99 / r.p99)} | ${x(r.writesPerS / b.writesPerS)} | ${x(b.serverCpuMsPerEvent / r.serverCpuMsPerEvent)} |`,
      );
    }
  }

  const notes = [];
  for (const r of results) {
    const where = `${r.label}, ${r.count} subscriber(s)`;
    notes.push(
      `${where}: subscriptions opened in ${(r.setupMs / 1000).toFixed(1)} s; drain after last write ${(r.drainMs / 1000).toFixed(1)} s; max latency ${f(r.max)} ms`,
    );
    if (!r.drained) notes.push(`${where}: NOT every subscriber had every event after ${DRAIN_S} s (BENCH_DRAIN_TIMEOUT)`);
    if (r.writeFailures) notes.push(`${where}: ${r.writeFailures} mutation(s) failed, e.g. ${r.failureSamples.join(' | ')}`);
    if (r.late) notes.push(`${where}: the writer fell behind its ${RATE}/s schedule for ${r.late} mutation(s) (at most 64 in flight)`);
    if (r.stoppedEarly) {
      notes.push(`${where}: the writer gave up 10 s past its schedule: sent ${r.sent} of ${r.planned} planned mutations; lost/duplicated count the ${r.written} that committed`);
    }
    if (r.unknown) notes.push(`${where}: ${r.unknown} delivered event(s) matched no written or warm-up organization`);
    if (r.outOfOrder) notes.push(`${where}: ${r.outOfOrder} delivery(ies) out of sequence order`);
    if (r.lostBySub.length) notes.push(`${where}: subscribers missing events (index, missing): ${JSON.stringify(r.lostBySub.slice(0, 10))}`);
    if (r.subErrors.length) notes.push(`${where}: ${r.subErrors.length} subscription(s) errored/completed, e.g. ${r.subErrors.slice(0, 3).join(' | ')}`);
    if (r.problems.closes.length || r.problems.errors.length) {
      notes.push(`${where}: connection problems: ${[...r.problems.closes, ...r.problems.errors].slice(0, 5).join(' | ')}`);
    }
    for (const err of r.serverStderr) notes.push(`${where}: server stderr: ${err.slice(0, 500)}`);
  }
  for (const { step, error } of failures) notes.push(`${step.label}, ${step.count} subscriber(s) FAILED: ${error.message.slice(0, 800)}`);
  console.log(`\nNotes (total ${((Date.now() - began) / 1000).toFixed(0)} s):`);
  for (const note of notes) console.log(`- ${note}`);
  if (failures.length) process.exitCode = 1;
}
