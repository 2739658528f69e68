import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onPostgres } from '../helpers/database.js';
import { API, basic, oauthFixture, postForm } from '../helpers/oauth.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

const EVENTS = `query($env: ID, $first: Int) {
  auditEvents(environmentId: $env, first: $first, orderBy: { direction: ASC }) { nodes { sequence action } }
}`;

describe('audit sequence numbers', () => {
  it('number consecutive events of an environment consecutively, whichever path wrote them', async () => {
    const ws = await server.workspace();
    const env = ws.development.id;
    const f = await oauthFixture(ws.client, env);
    const before = (await ws.client.data(EVENTS, { env, first: 100 })).auditEvents.nodes as { sequence: string }[];
    const last = BigInt(before.at(-1)!.sequence);

    // Mutations write their event in their own transaction (one row per INSERT) ...
    for (const name of ['One', 'Two', 'Three']) {
      await ws.client.data('mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }', {
        input: { environmentId: env, name },
      });
    }
    // ... token requests through the group-commit writer (many rows per INSERT), failed ones too.
    const tokens = await Promise.all(
      Array.from({ length: 8 }, () => postForm(f.tokenEndpoint, { grant_type: 'client_credentials', resource: API, scope: 'read' }, { authorization: basic(f.clientId, f.secret) })),
    );
    expect(tokens.map((response) => response.status)).toEqual(Array(8).fill(200));
    expect((await postForm(f.tokenEndpoint, { grant_type: 'client_credentials' }, { authorization: basic(f.clientId, 'wrong') })).status).toBe(401);

    const after = ((await ws.client.data(EVENTS, { env, first: 100 })).auditEvents.nodes as { sequence: string; action: string }[]).slice(before.length);
    expect(after.map((event) => event.action)).toEqual([
      ...Array(3).fill('organization.created'),
      ...Array(8).fill('oauth.token_issued'),
      'oauth.client_authentication_failed',
    ]);
    expect(after.map((event) => BigInt(event.sequence) - last)).toEqual(after.map((_, index) => BigInt(index + 1)));
  });

  it('keep commit order within a chain when a chain is written from two connections at once', async () => {
    const ws = await server.workspace();
    const env = ws.development.id;
    // Concurrent mutations of one environment: each waits for the chain's lock, in any order.
    await Promise.all(
      Array.from({ length: 6 }, (_, index) =>
        ws.client.data('mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }', {
          input: { environmentId: env, name: `Concurrent ${index}` },
        }),
      ),
    );
    const rows = await server.database.db.orm.em
      .fork()
      .getConnection()
      .execute<{ seq: string; prev_hash: string; hash: string }[]>('select "seq"::text as "seq", "prev_hash", "hash" from "audit_event" where "chain_key" = ? order by "seq"', [env]);
    // Sequence order is chain order: each event links to the one numbered just before it.
    rows.slice(1).forEach((row, index) => expect(row.prev_hash).toBe(rows[index].hash));
    expect(new Set(rows.map((row) => row.seq)).size).toBe(rows.length);
  });

  // Two sessions of one database: only PostgreSQL has them (PGlite is one connection).
  it.runIf(onPostgres)('hold a chain\'s lock only while a transaction commits, not from its insert on', async () => {
    const ws = await server.workspace();
    const env = ws.development.id;
    const connect = async () => {
      const client = new pg.Client({ connectionString: server.database.url });
      await client.connect();
      return client;
    };
    const [open, other] = [await connect(), await connect()];
    const insert = (client: pg.Client, id: string) =>
      client.query(
        `insert into audit_event (id, workspace_id, environment_id, action, actor_type, targets, target_ids, request_id, occurred_at) values ($1, $2, $3, 'test.event', 'SYSTEM', '[]', '{}', 'test', now())`,
        [id, ws.workspace.id, env],
      );
    try {
      await open.query('begin');
      await insert(open, 'evt_test_open');
      // Before, the insert took the chain's lock until commit: this one waited for it.
      const raced = await Promise.race([insert(other, 'evt_test_other').then(() => 'committed'), new Promise((resolve) => setTimeout(() => resolve('blocked'), 5000))]);
      expect(raced).toBe('committed');
      await open.query('commit');
      const { rows } = await other.query<{ id: string; seq: string; prev_hash: string; hash: string }>(
        `select id, seq::text as seq, prev_hash, hash from audit_event where chain_key = $1 order by seq`,
        [env],
      );
      // The one that committed first comes first, whatever was inserted first; the chain links up.
      expect(rows.slice(-2).map((row) => row.id)).toEqual(['evt_test_other', 'evt_test_open']);
      rows.slice(1).forEach((row, index) => expect(row.prev_hash).toBe(rows[index]!.hash));
    } finally {
      await open.end();
      await other.end();
    }
  });
});
