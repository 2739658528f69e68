import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type Database, type DatabaseOptions } from '../../src/db/database.js';

/** Which database the suite runs on: PostgreSQL when DATABASE_URL is set, else PGlite. */
export const POSTGRES_URL = process.env.DATABASE_URL || undefined;
export const onPostgres = POSTGRES_URL !== undefined;

export interface TestDatabase {
  db: Database;
  /** URL of this test's own PostgreSQL database (undefined on PGlite). */
  url?: string;
  drop(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

/**
 * A fresh, empty database for one test file: an in-memory PGlite, or a new database on the
 * PostgreSQL server of DATABASE_URL that is dropped afterwards.
 */
export async function createTestDatabase(options: DatabaseOptions = {}): Promise<TestDatabase> {
  if (!POSTGRES_URL) {
    const db = await openDatabase({ kind: 'pglite', dataDir: null }, options);
    return { db, drop: () => db.close() };
  }
  const name = `gatehouse_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  await admin.end();
  const url = withDatabase(POSTGRES_URL, name);
  const db = await openDatabase({ kind: 'postgres', url }, { poolSize: 5, ...options });
  return {
    db,
    url,
    drop: async () => {
      await db.close();
      const cleanup = new pg.Client({ connectionString: POSTGRES_URL });
      await cleanup.connect();
      await cleanup.query(`drop database if exists "${name}" with (force)`);
      await cleanup.end();
    },
  };
}
