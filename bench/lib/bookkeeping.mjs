// What a benchmark started and created, so that everything is stopped and dropped at the end,
// also on error or Ctrl-C: its child processes (bench/lib/processes.mjs) and its databases on
// the benchmarks' PostgreSQL server (bench/lib/postgres.mjs).
import { adminQuery, BENCH_DATABASE_URL } from './postgres.mjs';
import { trackChild } from './processes.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Installs the exit and SIGINT/SIGTERM handlers at once. `beforeCleanup` runs first in
 * `cleanup()` (e.g. to close the benchmark's own client connections).
 */
export function benchBookkeeping({ serverUrl = BENCH_DATABASE_URL, beforeCleanup } = {}) {
  const children = new Set();
  const databases = new Set();
  const admin = (sql) => adminQuery(serverUrl, sql);
  let cleaning = false;

  const book = {
    children,
    /** True once cleanup has begun: start nothing new. */
    get cleaning() {
      return cleaning;
    },
    /** trackChild for this run; a child started after cleanup began is killed at once. */
    track(child) {
      if (cleaning) child.kill('SIGKILL'); // interrupted while starting it
      return trackChild(child, children);
    },
    async createDatabase(name) {
      await admin(`create database "${name}"`);
      databases.add(name);
      return name;
    },
    async dropDatabase(name) {
      await admin(`drop database if exists "${name}" with (force)`);
      databases.delete(name);
    },
    /** Kills every child still running, then drops every database still there. */
    async cleanup() {
      if (cleaning) return;
      cleaning = true;
      await beforeCleanup?.();
      for (const child of children) child.kill('SIGKILL');
      await sleep(200);
      for (const name of [...databases]) await book.dropDatabase(name).catch(() => undefined);
    },
  };

  process.on('exit', () => {
    for (const child of children) child.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping servers and dropping databases…`);
      void book.cleanup().finally(() => process.exit(130));
    });
  }
  return book;
}
