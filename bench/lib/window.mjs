// The clock of the benchmarks' closed loops (bench/token/load.mjs, bench/signin/load.mjs): one
// continuous run of `warmupMs + durationMs`, of which only what ends inside the measured window
// [warm-up end, warm-up end + duration] counts, so throughput = completions in the window / its
// length, with no gap between warm-up and measurement.

/** Nearest-rank percentile of an ascending-sorted array (NaN when empty). */
export function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/**
 * Starts the clock now. `onWindowStart` / `onWindowEnd` are called at the window's edges (e.g.
 * to sample a server's CPU time), as is the sampling of this process's own CPU time; `close()`
 * cancels what has not fired yet.
 */
export function measuredWindow({ warmupMs, durationMs, onWindowStart, onWindowEnd }) {
  let cpuStart;
  let cpu;
  const start = performance.now() + warmupMs;
  const end = start + durationMs;
  const startTimer = setTimeout(() => {
    cpuStart = process.cpuUsage();
    onWindowStart?.();
  }, warmupMs);
  const endTimer = setTimeout(() => {
    cpu = process.cpuUsage(cpuStart);
    onWindowEnd?.();
  }, warmupMs + durationMs);
  return {
    start,
    end,
    close: () => {
      clearTimeout(startTimer);
      clearTimeout(endTimer);
    },
    /** Load generator CPU over the window, in % of one core (user + system). */
    clientCpuPercent: () => (cpu ? ((cpu.user + cpu.system) / 1000 / durationMs) * 100 : NaN),
  };
}

/** Count, rate over the window, p50, p95, p99 and max of the latencies (ms) counted in it. */
export function latencyStats(latencies, durationMs) {
  const sorted = Float64Array.from(latencies).sort();
  return {
    ok: sorted.length,
    perSecond: sorted.length / (durationMs / 1000),
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1] : NaN,
  };
}
