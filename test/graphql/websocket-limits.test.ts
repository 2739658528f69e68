import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';
import { wsClient } from '../helpers/subscriptions.js';

let server: TestServer;
let ws: TestWorkspace;

// The periodic recheck stays at its default (30 s): what closes sockets here is the revocation itself.
beforeAll(async () => {
  server = await startServer({ wsConnectionsPerKey: 2, wsConnectionsPerAddress: 4 });
  ws = await server.workspace();
});
afterAll(() => server.close());

async function newKey(name: string, scopes = ['*']): Promise<{ id: string; secret: string }> {
  const created = await ws.client.data('mutation($name: String!, $scopes: [String!]!) { createApiKey(input: { name: $name, scopes: $scopes }) { secret apiKey { id } } }', {
    name,
    scopes,
  });
  return { id: created.createApiKey.apiKey.id, secret: created.createApiKey.secret };
}

/** Runs one operation on an open graphql-ws client and settles with its result or error. */
function run(client: ReturnType<typeof wsClient>['client'], query: string, variables: Record<string, unknown> = {}) {
  return new Promise<{ data?: any; errors?: any[]; error?: unknown }>((resolve) => {
    let result: { data?: any; errors?: any[] } = {};
    client.subscribe(
      { query, variables },
      { next: (value) => (result = value as typeof result), error: (error) => resolve({ error }), complete: () => resolve(result) },
    );
  });
}

const CONNECTED = (client: ReturnType<typeof wsClient>['client']) =>
  new Promise<void>((resolve) => {
    const off = client.on('connected', () => {
      off();
      resolve();
    });
  });

describe('a revoked key on an open WebSocket', () => {
  it('closes the key\'s sockets at once, so no operation runs after revokeApiKey', async () => {
    const key = await newKey('revoked soon');
    const socket = wsClient(server.graphqlUrl, `Bearer ${key.secret}`);
    await CONNECTED(socket.client);
    const before = await run(socket.client, '{ viewer { apiKey { id } } }');
    expect(before.data?.viewer.apiKey.id).toBe(key.id);

    await ws.client.data('mutation($id: ID!) { revokeApiKey(input: { id: $id }) { apiKey { revokedAt } } }', { id: key.id });
    const after = await run(socket.client, 'mutation($env: ID) { createOrganization(input: { name: "After revocation", environmentId: $env }) { organization { id } } }', {
      env: ws.development.id,
    });
    expect(after.data?.createOrganization?.organization ?? null).toBeNull();
    const closed = await Promise.race([socket.closed, new Promise<null>((resolve) => setTimeout(() => resolve(null), 5000))]);
    expect(closed?.code).toBe(4403);
    const orgs = await ws.client.data('query($env: ID) { organizations(environmentId: $env, first: 100) { nodes { name } } }', { env: ws.development.id });
    expect(orgs.organizations.nodes.map((org: { name: string }) => org.name)).not.toContain('After revocation');
    await socket.client.dispose();
  });
});

describe('connection caps', () => {
  it('refuses a third connection of one key with 4429, and accepts another once one closes', async () => {
    const key = await newKey('capped');
    const first = wsClient(server.graphqlUrl, `Bearer ${key.secret}`);
    const second = wsClient(server.graphqlUrl, `Bearer ${key.secret}`);
    await Promise.all([CONNECTED(first.client), CONNECTED(second.client)]);
    const third = wsClient(server.graphqlUrl, `Bearer ${key.secret}`);
    const refused = await third.closed;
    expect(refused.code).toBe(4429);
    expect(refused.reason).toMatch(/per API key/);
    // Another key from the same address is not affected by this key's cap.
    const other = wsClient(server.graphqlUrl, `Bearer ${ws.ownerKey}`);
    await CONNECTED(other.client);

    await first.client.dispose();
    await first.closed;
    const again = wsClient(server.graphqlUrl, `Bearer ${key.secret}`);
    await CONNECTED(again.client);
    for (const socket of [second, third, other, again]) await socket.client.dispose();
  });

  it('refuses connections past the cap per client address, whatever the key', async () => {
    const keys = await Promise.all([newKey('a'), newKey('b'), newKey('c')]);
    const open = [
      wsClient(server.graphqlUrl, `Bearer ${keys[0].secret}`),
      wsClient(server.graphqlUrl, `Bearer ${keys[0].secret}`),
      wsClient(server.graphqlUrl, `Bearer ${keys[1].secret}`),
      wsClient(server.graphqlUrl, `Bearer ${keys[1].secret}`),
    ];
    await Promise.all(open.map((socket) => CONNECTED(socket.client)));
    const fifth = wsClient(server.graphqlUrl, `Bearer ${keys[2].secret}`);
    const refused = await fifth.closed;
    expect(refused.code).toBe(4429);
    expect(refused.reason).toMatch(/per address/);
    for (const socket of [...open, fifth]) await socket.client.dispose();
  });
});

describe('strings that cannot be stored', () => {
  it('refuses an unpaired surrogate in a variable or a literal with BAD_USER_INPUT, and stores nothing', async () => {
    const lone = '\uD800';
    const variable = await ws.client.request('mutation($name: String!, $env: ID) { createOrganization(input: { name: $name, environmentId: $env }) { organization { id } } }', {
      env: ws.development.id,
      name: `bad ${lone} name`,
    });
    expect(variable.status).toBe(400);
    expect(variable.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'input.invalid' });
    const metadata = await ws.client.request('mutation($m: JSONObject, $env: ID) { createOrganization(input: { name: "Meta", metadata: $m, environmentId: $env }) { organization { id } } }', {
      env: ws.development.id,
      m: { [`k${lone}`]: 'v' },
    });
    expect(metadata.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'input.invalid' });
    const user = await ws.client.request('mutation($n: String, $env: ID) { createUser(input: { email: "surrogate@example.com", givenName: $n, environmentId: $env }) { user { id } } }', {
      env: ws.development.id,
      n: `\uDC00`,
    });
    expect(user.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
    const orgs = await ws.client.data('query($env: ID) { organizations(environmentId: $env, first: 100) { nodes { name } } }', { env: ws.development.id });
    expect(orgs.organizations.nodes.map((org: { name: string }) => org.name)).not.toContain('Meta');
  });

  it('refuses the same over the WebSocket', async () => {
    const socket = wsClient(server.graphqlUrl, `Bearer ${ws.ownerKey}`);
    const result = await run(socket.client, 'mutation($name: String!, $env: ID) { createOrganization(input: { name: $name, environmentId: $env }) { organization { id } } }', {
      env: ws.development.id,
      name: 'ws \uD800',
    });
    const errors = (result.error as { extensions?: unknown }[] | undefined) ?? result.errors ?? [];
    expect(errors[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', reason: 'input.invalid' } });
    await socket.client.dispose();
  });
});
