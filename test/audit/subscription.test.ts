import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { eventually } from '../helpers/eventually.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';
import { subscribe, wsClient, type Subscriber } from '../helpers/subscriptions.js';

type Event = { id: string; sequence: string; action: string; environmentId: string | null; targets: { id: string }[] };

const STREAM = `subscription($env: ID, $after: String, $filter: AuditEventFilterInput) {
  auditEvents(environmentId: $env, after: $after, filter: $filter) { id sequence action environmentId targets { id } }
}`;
const EVENTS = `query($env: ID) { auditEvents(environmentId: $env, first: 100, orderBy: { direction: ASC }) { nodes { id sequence action } } }`;
const CREATE_ORG = 'mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }';

let server: TestServer;
let ws: TestWorkspace;
let env: string;
const open: Subscriber<Event>[] = [];
const bearer = (key: string) => `Bearer ${key}`;

function stream(key: string, variables: Record<string, unknown>) {
  const subscriber = subscribe<Event>(server.graphqlUrl, bearer(key), STREAM, variables);
  open.push(subscriber);
  return subscriber;
}

async function createOrganization(name: string, client = ws.client, environmentId = env) {
  return (await client.data(CREATE_ORG, { input: { environmentId, name } })).createOrganization.organization.id as string;
}

/** Lets a fresh subscription reach the server and read its starting point. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

beforeAll(async () => {
  server = await startServer();
  ws = await server.workspace();
  env = ws.development.id;
});
afterAll(async () => {
  await Promise.all(open.map((subscriber) => subscriber.dispose()));
  await server.close();
});

describe('connection authentication', () => {
  it('closes a connection without credentials with 4401', async () => {
    const { closed } = wsClient(server.graphqlUrl, null);
    expect((await closed).code).toBe(4401);
  });

  it('closes a connection with a bad key with 4403, never opening a stream', async () => {
    const { closed } = wsClient(server.graphqlUrl, 'Bearer gh_live_not-a-real-key');
    const event = await closed;
    expect(event.code).toBe(4403);
    expect(event.reason).toMatch(/auth.invalid_key/);
  });
});

describe('live audit events', () => {
  it('delivers events as they commit', async () => {
    const live = stream(ws.ownerKey, { env });
    await settle();
    const orgId = await createOrganization('Live One');
    const [event] = await live.waitFor(1);
    expect(event).toMatchObject({ action: 'organization.created', environmentId: env, targets: [{ id: orgId }] });
  });

  it('replays every event after a cursor, then continues live, with no gap and no duplicate', async () => {
    const first = await createOrganization('Before cursor');
    const stored = (await ws.client.data(EVENTS, { env })).auditEvents.nodes as Event[];
    const cursor = stored.find((e) => e.action === 'organization.created' && e.id)!.sequence;
    const afterCursor = stored.filter((e) => BigInt(e.sequence) > BigInt(cursor));
    expect(first).toMatch(/^org_/);

    const resumed = stream(ws.ownerKey, { env, after: cursor });
    const replayed = await resumed.waitFor(afterCursor.length);
    expect(replayed.map((e) => e.sequence)).toEqual(afterCursor.map((e) => e.sequence));
    await createOrganization('After replay');
    const all = await resumed.waitFor(afterCursor.length + 1);
    expect(all[all.length - 1].action).toBe('organization.created');
    const sequences = all.map((e) => BigInt(e.sequence));
    expect(new Set(sequences).size).toBe(sequences.length);
    expect([...sequences].sort((a, b) => (a < b ? -1 : 1))).toEqual(sequences);
  });

  it('misses and repeats nothing when events are written during the replay', async () => {
    const cursor = ((await ws.client.data(EVENTS, { env })).auditEvents.nodes as Event[]).at(-1)!.sequence;
    const writers = Promise.all(Array.from({ length: 30 }, (_, i) => createOrganization(`Concurrent ${i}`)));
    const resumed = stream(ws.ownerKey, { env, after: cursor });
    await writers;
    const expected = ((await ws.client.data(EVENTS, { env })).auditEvents.nodes as Event[]).filter(
      (e) => BigInt(e.sequence) > BigInt(cursor),
    );
    expect(expected).toHaveLength(30);
    const got = await resumed.waitFor(30);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(resumed.events.map((e) => e.sequence)).toEqual(expected.map((e) => e.sequence));
    expect(got).toHaveLength(30);
  });

  it('filters by action prefix, target and organization', async () => {
    const users = stream(ws.ownerKey, { env, filter: { actions: ['user.*'] } });
    const orgId = await createOrganization('Filtered');
    const byTarget = stream(ws.ownerKey, { env, filter: { targetId: orgId } });
    await settle();
    await ws.client.data('mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } } }', {
      input: { environmentId: env, email: 'streamed@example.com' },
    });
    await ws.client.data('mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { organization { id } } }', {
      input: { id: orgId, name: 'Filtered 2' },
    });
    expect((await users.waitFor(1))[0].action).toBe('user.created');
    expect((await byTarget.waitFor(1))[0]).toMatchObject({ action: 'organization.updated', targets: [{ id: orgId }] });
    await settle();
    expect(users.events).toHaveLength(1);
    expect(byTarget.events).toHaveLength(1);
  });
});

describe('a subscriber far behind the live tail', () => {
  it('reads the table until it reaches the in-memory tail, then continues from it, missing and repeating nothing', async () => {
    const own = await server.workspace();
    const ownEnv = own.development.id;
    // A live subscriber keeps the environment's tail in memory (the newest 2000 events).
    const live = stream(own.ownerKey, { env: ownEnv });
    await settle();
    const cursor = ((await own.client.data(EVENTS, { env: ownEnv })).auditEvents.nodes as Event[]).at(-1)!.sequence;
    await server.database.db.orm.em.fork().getConnection().execute(
      `insert into audit_event (id, workspace_id, environment_id, action, actor_type, targets, target_ids, occurred_at)
       select 'evt_tail' || g, ?, ?, 'organization.updated', 'SYSTEM', '[]'::jsonb, '{}', now() from generate_series(1, 2600) g`,
      [own.workspace.id, ownEnv],
    );
    await live.waitFor(2600, 30_000);
    const behind = stream(own.ownerKey, { env: ownEnv, after: cursor });
    const got = await behind.waitFor(2600, 30_000);
    await createOrganization('After the backlog', own.client, ownEnv);
    const all = await behind.waitFor(2601, 30_000);
    const sequences = all.map((e) => BigInt(e.sequence));
    expect(new Set(sequences).size).toBe(2601);
    expect([...sequences].sort((a, b) => (a < b ? -1 : 1))).toEqual(sequences);
    expect(got[0].id).toBe('evt_tail1');
    expect(all.at(-1)!.action).toBe('organization.created');
    expect(live.events.map((e) => e.sequence)).toEqual(all.slice(0, live.events.length).map((e) => e.sequence));
  }, 60_000);
});

describe('who may stream what', () => {
  it('refuses a key without audit:read with FORBIDDEN and keeps the connection usable', async () => {
    const key = (await ws.client.data('mutation { createApiKey(input: { name: "no audit", scopes: ["organizations:read"] }) { secret } }'))
      .createApiKey.secret;
    const denied = stream(key, { env });
    // Wait for the refusal itself, not a fixed time: a loaded machine answers later.
    await eventually(async () => denied.errors.length, (count) => count > 0);
    expect(JSON.stringify(denied.errors)).toMatch(/FORBIDDEN/);
    expect(denied.events).toEqual([]);
  });

  it('refuses another tenant\'s environment with NOT_FOUND and never sends its events', async () => {
    const other = await server.workspace();
    const intruder = stream(other.ownerKey, { env });
    await eventually(async () => intruder.errors.length, (count) => count > 0);
    await createOrganization('Private');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(JSON.stringify(intruder.errors)).toMatch(/NOT_FOUND/);
    expect(intruder.events).toEqual([]);
  });

  it('streams a pinned key only its own environment', async () => {
    const pinned = (
      await ws.client.data('mutation($env: ID) { createApiKey(input: { name: "pinned", scopes: ["audit:read"], environmentId: $env }) { secret } }', {
        env,
      })
    ).createApiKey.secret;
    const mine = stream(pinned, {});
    await settle();
    await createOrganization('Prod org', ws.client, ws.production.id);
    await createOrganization('Dev org');
    const [event] = await mine.waitFor(1);
    expect(event.environmentId).toBe(env);
    await settle();
    expect(mine.events).toHaveLength(1);
  });
});

describe('a stream whose key stops working', () => {
  it('is closed with 4403 soon after the key is revoked', async () => {
    const quick = await startServer({ subscriptionRevalidateMs: 200 });
    try {
      const owner = await quick.workspace();
      const key = (await owner.client.data('mutation { createApiKey(input: { name: "short", scopes: ["audit:read"] }) { secret apiKey { id } } }'))
        .createApiKey;
      const watcher = subscribe(quick.graphqlUrl, `Bearer ${key.secret}`, STREAM, { env: owner.development.id });
      await new Promise((resolve) => setTimeout(resolve, 300));
      await owner.client.data('mutation($id: ID!) { revokeApiKey(input: { id: $id }) { apiKey { revokedAt } } }', { id: key.apiKey.id });
      const closed = await Promise.race([watcher.closed, new Promise<null>((resolve) => setTimeout(() => resolve(null), 5000))]);
      expect(closed?.code).toBe(4403);
      await watcher.dispose();
    } finally {
      await quick.close();
    }
  });
});

describe('operations over the WebSocket', () => {
  it('are audited with the client address a trusted proxy forwards, like HTTP requests', async () => {
    const proxied = await startServer({ trustProxy: '127.0.0.1' });
    try {
      const owner = await proxied.workspace();
      class ForwardedWebSocket extends WebSocket {
        constructor(address: string, protocols?: string | string[]) {
          super(address, protocols, { headers: { 'x-forwarded-for': '203.0.113.9' } });
        }
      }
      const client = createClient({
        url: proxied.graphqlUrl.replace(/^http/, 'ws'),
        webSocketImpl: ForwardedWebSocket,
        connectionParams: { authorization: `Bearer ${owner.ownerKey}` },
        retryAttempts: 0,
      });
      const result = await new Promise<Record<string, any>>((resolve, reject) =>
        client.subscribe(
          { query: CREATE_ORG, variables: { input: { environmentId: owner.development.id, name: 'Over WS' } } },
          { next: (value) => resolve(value as Record<string, any>), error: reject, complete: () => undefined },
        ),
      );
      await client.dispose();
      const orgId = result.data.createOrganization.organization.id;
      const events = await owner.client.data('query($id: ID) { auditEvents(filter: { targetId: $id }) { nodes { action ip } } }', { id: orgId });
      expect(events.auditEvents.nodes).toEqual([{ action: 'organization.created', ip: '203.0.113.9' }]);
    } finally {
      await proxied.close();
    }
  });
});
