// Database helpers shared by the benchmarks: each scenario runs on a database of its own.
import pg from 'pg';

/** The PostgreSQL server the benchmarks use. */
export const BENCH_DATABASE_URL =
  process.env.BENCH_DATABASE_URL || process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

/** `serverUrl` pointed at database `name`. */
export function databaseUrl(serverUrl, name) {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Runs one administrative statement (create/drop database) on its own connection. */
export async function adminQuery(serverUrl, sql) {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
