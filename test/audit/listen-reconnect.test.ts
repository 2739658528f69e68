import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';
import { subscribe } from '../helpers/subscriptions.js';

const POSTGRES_URL = process.env.DATABASE_URL || undefined;
if (!POSTGRES_URL) console.warn('[listen reconnect] skipped: the LISTEN connection exists only on PostgreSQL; set DATABASE_URL to run it');

describe('the LISTEN connection drops', () => {
  let server: TestServer;
  let ws: TestWorkspace;
  beforeAll(async () => {
    if (!POSTGRES_URL) return;
    server = await startServer();
    ws = await server.workspace();
  });
  afterAll(() => server?.close());

  it.skipIf(!POSTGRES_URL)('reconnects once, catches up, and keeps delivering (skipped on PGlite: needs DATABASE_URL)', async () => {
    const env = ws.development.id;
    const live = subscribe<{ action: string }>(
      server.graphqlUrl,
      `Bearer ${ws.ownerKey}`,
      'subscription($env: ID) { auditEvents(environmentId: $env) { action } }',
      { env },
    );
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const admin = new pg.Client({ connectionString: server.database.url });
      await admin.connect();
      const database = (await admin.query('select current_database() as name')).rows[0].name;
      const killed = await admin.query(
        `select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'gatehouse-listen' and datname = $1`,
        [database],
      );
      expect(killed.rowCount).toBeGreaterThan(0);
      // Written while nobody listens: the reconnect's catch-up must bring it.
      await ws.client.data('mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }', {
        input: { environmentId: env, name: 'During the outage' },
      });
      await live.waitFor(1, 15_000);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const listeners = await admin.query(`select count(*)::int as n from pg_stat_activity where application_name = 'gatehouse-listen' and datname = $1`, [
        database,
      ]);
      await admin.end();
      expect(listeners.rows[0].n).toBe(1);
      await ws.client.data('mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }', {
        input: { environmentId: env, name: 'After the outage' },
      });
      expect((await live.waitFor(2)).map((e) => e.action)).toEqual(['organization.created', 'organization.created']);
    } finally {
      await live.dispose();
    }
  }, 30_000);
});
