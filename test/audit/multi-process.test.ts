import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphqlClient } from '../helpers/graphql.js';
import { assertBuilt, freshPostgresDatabase, KEY, postgresEnv, spawnServer, type ServerProcess } from '../helpers/processes.js';
import { subscribe, type Subscriber } from '../helpers/subscriptions.js';

const POSTGRES_URL = process.env.DATABASE_URL || undefined;
if (!POSTGRES_URL) {
  console.warn('[audit multi-process] skipped: processes share one stream through PostgreSQL LISTEN/NOTIFY; set DATABASE_URL to run it');
}

type Event = { sequence: string; action: string; targets: { id: string }[] };
const STREAM = `subscription($env: ID, $after: String) { auditEvents(environmentId: $env, after: $after) { sequence action targets { id } } }`;
const CREATE_ORG = 'mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }';

describe('one audit stream across server processes on PostgreSQL', () => {
  let database: { url: string; drop(): Promise<void> } | undefined;
  const servers: ServerProcess[] = [];
  const subscribers: Subscriber<Event>[] = [];

  beforeAll(async () => {
    if (!POSTGRES_URL) return;
    assertBuilt();
    database = await freshPostgresDatabase(POSTGRES_URL);
  });
  afterAll(async () => {
    await Promise.all(subscribers.map((subscriber) => subscriber.dispose()));
    await Promise.all(servers.map((server) => server.stop()));
    await database?.drop();
  });

  it.skipIf(!POSTGRES_URL)(
    'delivers on A what B commits, resumes on a restarted A from its cursor, and keeps one chain (skipped on PGlite: needs DATABASE_URL)',
    async () => {
      const env = postgresEnv(database!.url, { PORT: '0', HOST: '127.0.0.1' });
      const start = () => {
        const server = spawnServer(env);
        servers.push(server);
        return server;
      };
      let a = start();
      const aUrl = await a.ready;
      const key = a.output().match(KEY)![0];
      const b = start();
      const bUrl = await b.ready;
      const onB = graphqlClient(`${bUrl}/graphql`, key);
      const environmentId = (await onB.data('{ viewer { environmentIds } }')).viewer.environmentIds[0] as string;
      const createOn = (client: typeof onB, name: string) => client.data(CREATE_ORG, { input: { environmentId, name } });

      // Subscribe on A, change things on B.
      let stream = subscribe<Event>(`${aUrl}/graphql`, `Bearer ${key}`, STREAM, { env: environmentId });
      subscribers.push(stream);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const made = await createOn(onB, 'Made on B');
      const [first] = await stream.waitFor(1);
      expect(first).toMatchObject({ action: 'organization.created', targets: [{ id: made.createOrganization.organization.id }] });

      // A dies without a goodbye; B keeps changing things.
      a.child.kill('SIGKILL');
      await a.exited;
      for (let i = 0; i < 5; i += 1) await createOn(onB, `While A was down ${i}`);

      // A comes back; the subscriber resumes from the last sequence it saw.
      a = start();
      const aAgain = await a.ready;
      stream = subscribe<Event>(`${aAgain}/graphql`, `Bearer ${key}`, STREAM, { env: environmentId, after: first.sequence });
      subscribers.push(stream);
      const missed = await stream.waitFor(5);
      expect(missed.map((e) => e.action)).toEqual(Array(5).fill('organization.created'));

      // Both processes write at once; the chain does not fork and the stream sees every event once.
      const onA = graphqlClient(`${aAgain}/graphql`, key);
      await Promise.all(Array.from({ length: 20 }, (_, i) => createOn(i % 2 ? onA : onB, `Concurrent ${i}`)));
      const all = await stream.waitFor(25);
      const sequences = all.map((e) => BigInt(e.sequence));
      expect(new Set(sequences).size).toBe(25);
      expect([...sequences].sort((x, y) => (x < y ? -1 : 1))).toEqual(sequences);
      const verification = await onA.data('query($env: ID) { auditChainVerification(environmentId: $env) { valid eventsChecked } }', {
        env: environmentId,
      });
      expect(verification.auditChainVerification).toMatchObject({ valid: true });
      expect(verification.auditChainVerification.eventsChecked).toBeGreaterThanOrEqual(26);
    },
    120_000,
  );
});
