import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, freshPostgresDatabase, KEY, postgresEnv, spawnServer, type ServerProcess } from '../helpers/processes.js';

const POSTGRES_URL = process.env.DATABASE_URL || undefined;

if (!POSTGRES_URL) {
  console.warn('[postgres-migration-race] skipped: concurrent migrations need PostgreSQL; set DATABASE_URL to run it');
}

describe('two servers starting at once on an empty PostgreSQL database', () => {
  let database: { url: string; drop(): Promise<void> } | undefined;
  beforeAll(async () => {
    if (!POSTGRES_URL) return;
    assertBuilt();
    database = await freshPostgresDatabase(POSTGRES_URL);
  });
  afterAll(async () => {
    await database?.drop();
  });

  it.skipIf(!POSTGRES_URL)(
    'both migrate and become ready, and exactly one prints an owner key (skipped on PGlite: needs DATABASE_URL)',
    async () => {
      const env = postgresEnv(database!.url, { PORT: '0', HOST: '127.0.0.1' });
      const servers: ServerProcess[] = [spawnServer(env), spawnServer(env)];
      const results = await Promise.allSettled(servers.map((server) => server.ready));
      const codes = await Promise.all(servers.map((server) => server.stop()));
      const outputs = servers.map((server) => server.output()).join('\n----\n');
      for (const result of results) expect(result.status, outputs).toBe('fulfilled');
      // One owner key in total: one process printed the banner, and only one distinct key appears.
      const keys = new Set(servers.flatMap((server) => server.output().match(KEY) ?? []));
      expect(keys.size, outputs).toBe(1);
      expect(servers.filter((server) => server.output().includes('Its owner API key')), outputs).toHaveLength(1);
      expect(codes, outputs).toEqual([0, 0]);
    },
    90_000,
  );
});
