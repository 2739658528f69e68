// A small closed-loop HTTP load generator for the token benchmark (reusable: nothing in here
// knows about OAuth).
//
// `concurrency` workers each send the next request as soon as the previous one answered, over
// keep-alive connections. The run is one continuous loop of `warmupMs + durationMs`; only
// requests that *complete* inside the measured window [warmup end, warmup end + duration] are
// counted, so throughput = completions in the window / window length, with no drain gap between
// warm-up and measurement.
//
// Two clients: `http` (node:http.request with a keep-alive Agent, maxSockets = concurrency; the
// default, because it costs the load generator clearly less CPU per request than the global
// fetch on Node 20, see bench/README.md) and `fetch` (Node's built-in undici fetch), for
// comparison.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { latencyStats, measuredWindow } from '../lib/window.mjs';

function httpClient(url, concurrency) {
  const target = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  const base = { host: target.hostname, port: target.port, path: target.pathname + target.search, method: 'POST', agent };
  return {
    send: (headers, body) =>
      new Promise((resolve) => {
        const request = http.request({ ...base, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (response) => {
          const chunks = [];
          response.on('data', (chunk) => chunks.push(chunk));
          response.on('end', () => resolve({ status: response.statusCode, body: Buffer.concat(chunks) }));
          response.on('error', (error) => resolve({ status: 0, error }));
        });
        request.on('error', (error) => resolve({ status: 0, error }));
        request.end(body);
      }),
    close: () => agent.destroy(),
  };
}

function fetchClient(url) {
  return {
    send: async (headers, body) => {
      try {
        const response = await fetch(url, { method: 'POST', headers, body });
        return { status: response.status, body: Buffer.from(await response.arrayBuffer()) };
      } catch (error) {
        return { status: 0, error };
      }
    },
    close: () => undefined,
  };
}

/**
 * Runs the closed loop and returns the measured window's statistics.
 *
 * @param {object} options
 * @param {string} options.url              POST target
 * @param {number} options.concurrency      workers (and sockets)
 * @param {number} options.warmupMs         unmeasured lead-in
 * @param {number} options.durationMs       measured window
 * @param {() => ({headers: object, body: string|Buffer} | null)} options.nextRequest
 *        the next request; null means "no more requests available": the run stops and reports
 *        `exhausted` (the caller should treat that as a failure: the window was not filled)
 * @param {(status: number, body: Buffer) => boolean} [options.isSuccess] defaults to status 200
 * @param {'http'|'fetch'} [options.client]
 * @param {() => void} [options.onWindowStart] / [options.onWindowEnd] called at the window edges
 *        (e.g. to sample a server's CPU time)
 */
export async function runLoad({
  url,
  concurrency,
  warmupMs,
  durationMs,
  nextRequest,
  isSuccess = (status) => status === 200,
  client = 'http',
  onWindowStart,
  onWindowEnd,
}) {
  const sender = client === 'fetch' ? fetchClient(url) : httpClient(url, concurrency);
  const latencies = [];
  const statuses = new Map();
  const errorSamples = [];
  let errors = 0;
  let sent = 0;
  let exhausted = false;

  const clock = measuredWindow({ warmupMs, durationMs, onWindowStart, onWindowEnd });
  const { start: windowStart, end: windowEnd } = clock;

  const worker = async () => {
    while (!exhausted && performance.now() < windowEnd) {
      const request = nextRequest();
      if (!request) {
        exhausted = true;
        return;
      }
      sent += 1;
      const started = performance.now();
      const response = await sender.send(request.headers, request.body);
      const ended = performance.now();
      if (ended < windowStart || ended > windowEnd) continue;
      if (response.status && isSuccess(response.status, response.body)) {
        latencies.push(ended - started);
      } else {
        errors += 1;
        const key = response.status || 'network error';
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
        if (errorSamples.length < 5) {
          errorSamples.push(response.error ? String(response.error.message ?? response.error) : `${response.status} ${response.body.toString('utf8', 0, 300)}`);
        }
      }
    }
  };

  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    clock.close();
    sender.close();
  }
  const { ok, perSecond, p50, p99, max } = latencyStats(latencies, durationMs);
  const clientCpuPercent = clock.clientCpuPercent();
  return { ok, errors, sent, exhausted, statuses: Object.fromEntries(statuses), errorSamples, perSecond, p50, p99, max, clientCpuPercent };
}
