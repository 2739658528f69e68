// A closed loop of stateful workers for bench/signin (the loop of bench/token/load.mjs, with a
// worker index and any number of requests per iteration: one refresh, or one whole sign-in).
//
// `workers` workers each start the next iteration as soon as the previous one ended. The run is
// one continuous loop of `warmupMs + durationMs`; only iterations that *end* inside the measured
// window count, so throughput = completions in the window / its length, with no gap between
// warm-up and measurement. An iteration that is under way when the window closes still runs to
// its end (a refresh token family must learn its next token), and is not counted.
import { latencyStats, measuredWindow } from '../lib/window.mjs';

/**
 * @param {object} options
 * @param {number} options.workers
 * @param {number} options.warmupMs
 * @param {number} options.durationMs
 * @param {(worker: number) => Promise<{ ok: boolean, status?: number|string, error?: string, steps?: Record<string, number>, retire?: boolean }>} options.iterate
 *        one iteration of worker `worker`; `steps` are per-step milliseconds (summed over the
 *        counted successes); `retire` stops that worker (e.g. its refresh token family is lost)
 * @param {() => void} [options.onWindowStart] / [options.onWindowEnd]
 */
export async function runWorkers({ workers, warmupMs, durationMs, iterate, onWindowStart, onWindowEnd }) {
  const latencies = [];
  const statuses = new Map();
  const errorSamples = [];
  const steps = {};
  let errors = 0;
  let started = 0;
  let retired = 0;

  const clock = measuredWindow({ warmupMs, durationMs, onWindowStart, onWindowEnd });
  const { start: windowStart, end: windowEnd } = clock;

  const worker = async (index) => {
    while (performance.now() < windowEnd) {
      started += 1;
      const begun = performance.now();
      let outcome;
      try {
        outcome = await iterate(index);
      } catch (error) {
        outcome = { ok: false, status: error.status ?? 'exception', error: String(error.message ?? error) };
      }
      const ended = performance.now();
      const counted = ended >= windowStart && ended <= windowEnd;
      if (counted && outcome.ok) {
        latencies.push(ended - begun);
        for (const [step, ms] of Object.entries(outcome.steps ?? {})) steps[step] = (steps[step] ?? 0) + ms;
      } else if (counted) {
        errors += 1;
        statuses.set(outcome.status ?? '?', (statuses.get(outcome.status ?? '?') ?? 0) + 1);
      }
      if (!outcome.ok && errorSamples.length < 5) errorSamples.push(`${counted ? '' : '(outside the window) '}${outcome.error ?? outcome.status}`);
      if (outcome.retire) {
        retired += 1;
        return;
      }
    }
  };

  try {
    await Promise.all(Array.from({ length: workers }, (_, index) => worker(index)));
  } finally {
    clock.close();
  }
  const { ok, perSecond, p50, p95, p99, max } = latencyStats(latencies, durationMs);
  const clientCpuPercent = clock.clientCpuPercent();
  return { ok, errors, started, retired, statuses: Object.fromEntries(statuses), errorSamples, steps, perSecond, p50, p95, p99, max, clientCpuPercent };
}
