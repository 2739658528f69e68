import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';
import { wsClient } from '../helpers/subscriptions.js';

let server: TestServer;
let ws: TestWorkspace;

beforeAll(async () => {
  server = await startServer({ auditVerifyMaxEvents: 3, auditVerificationsPerMinute: 4 });
  ws = await server.workspace();
});
afterAll(() => server.close());

/** `count` fragments, each spreading the next one twice; the last selects `leaf`. */
function fragmentBomb(count: number, leaf: string): string {
  const fragments = Array.from({ length: count }, (_, i) =>
    i === count - 1 ? `fragment F${i} on Query { ${leaf} }` : `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`,
  );
  return `query { ...F0 }\n${fragments.join('\n')}`;
}

/** Runs one operation over graphql-ws and returns its errors (or data). */
async function overWebSocket(query: string): Promise<{ data?: unknown; errors?: { extensions?: Record<string, unknown> }[] }> {
  const { client } = wsClient(server.graphqlUrl, `Bearer ${ws.ownerKey}`);
  try {
    return await new Promise((resolve) => {
      let result: { data?: unknown; errors?: { extensions?: Record<string, unknown> }[] } = {};
      client.subscribe(
        { query },
        {
          next: (value) => (result = value as typeof result),
          error: (error) => resolve({ errors: Array.isArray(error) ? error : [{ extensions: { message: String(error) } }] }),
          complete: () => resolve(result),
        },
      );
    });
  } finally {
    await client.dispose();
  }
}

describe('fragments are measured once', () => {
  it('answers a document of 60 fragments that spread each other twice without expanding them', async () => {
    // 2^59 expansions: before, measuring depth followed every spread and never finished.
    const result = await ws.client.request(fragmentBomb(60, '__typename'));
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({ __typename: 'Query' });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('prices the expansion and refuses it when the leaf costs anything, over HTTP and WebSocket', async () => {
    const query = fragmentBomb(60, 'viewer { workspaceId }');
    const http = await ws.client.request(query);
    expect(http.status).toBe(400);
    expect(http.errors?.[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', reason: 'query.cost' });
    const socket = await overWebSocket(query);
    expect(socket.errors?.[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', reason: 'query.cost' });
  });
});

describe('lists are priced by their largest size', () => {
  let membershipId: string;
  beforeAll(async () => {
    const env = ws.development.id;
    const org = (await ws.client.data('mutation($env: ID) { createOrganization(input: { name: "Priced", environmentId: $env }) { organization { id } } }', { env }))
      .createOrganization.organization.id;
    const user = (await ws.client.data('mutation($env: ID) { createUser(input: { email: "priced@example.com", environmentId: $env }) { user { id } } }', { env }))
      .createUser.user.id;
    await ws.client.data('mutation($env: ID) { createPermission(input: { key: "docs:read", environmentId: $env }) { permission { id } } }', { env });
    await ws.client.data('mutation($env: ID) { createRole(input: { key: "reader", name: "Reader", permissionKeys: ["docs:read"], environmentId: $env }) { role { id } } }', {
      env,
    });
    membershipId = (
      await ws.client.data('mutation($org: ID!, $user: ID!) { createMembership(input: { organizationId: $org, userId: $user, roleKeys: ["reader"] }) { membership { id } } }', {
        org,
        user,
      })
    ).createMembership.membership.id;
  });

  it('refuses many aliases of nodes(ids:) over roles and permissions before running them', async () => {
    const ids = Array.from({ length: 100 }, () => membershipId);
    const selection = (alias: string) => `${alias}: nodes(ids: $ids) { ... on Membership { roles { permissions { key } } } }`;
    const query = `query($ids: [ID!]!) { ${Array.from({ length: 20 }, (_, i) => selection(`a${i}`)).join(' ')} }`;
    const result = await ws.client.request(query, { ids });
    expect(result.status).toBe(400);
    // 20 × (1 + 100 × (1 + 20 roles × (1 + 100 permissions × 2))): far past the limit.
    expect(result.errors?.[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', reason: 'query.cost' });
    expect(result.errors?.[0].extensions?.complexity).toBeGreaterThan(1_000_000);
  });

  it('still answers one membership with its roles and their permissions', async () => {
    const data = await ws.client.data('query($id: ID!) { node(id: $id) { ... on Membership { roles { key permissions { key } } } } }', { id: membershipId });
    expect(data.node.roles).toEqual([{ key: 'reader', permissions: [{ key: 'docs:read' }] }]);
  });

  it('refuses a membership a 21st role: the price of `roles` holds', async () => {
    const env = ws.development.id;
    const keys = Array.from({ length: 21 }, (_, i) => `role_${i}`);
    for (const key of keys) {
      await ws.client.data('mutation($env: ID, $key: String!) { createRole(input: { key: $key, name: $key, environmentId: $env }) { role { id } } }', { env, key });
    }
    const added = await ws.client.data('mutation($id: ID!, $keys: [String!]!) { addMembershipRoles(input: { membershipId: $id, roleKeys: $keys }) { userErrors { code } } }', {
      id: membershipId,
      keys: keys.slice(0, 19),
    });
    expect(added.addMembershipRoles.userErrors).toEqual([]);
    const over = await ws.client.data('mutation($id: ID!, $keys: [String!]!) { addMembershipRoles(input: { membershipId: $id, roleKeys: $keys }) { userErrors { code } } }', {
      id: membershipId,
      keys: keys.slice(19),
    });
    expect(over.addMembershipRoles.userErrors).toEqual([{ code: 'role.too_many' }]);
    const roles = await ws.client.data('query($id: ID!) { node(id: $id) { ... on Membership { roles { key } } } }', { id: membershipId });
    expect(roles.node.roles).toHaveLength(20);
  });
});

describe('whole-table work has a price', () => {
  it('prices totalCount: eleven audit counts in one operation are refused', async () => {
    const counts = Array.from({ length: 11 }, (_, i) => `c${i}: auditEvents(environmentId: $env, first: 1) { totalCount }`).join(' ');
    const result = await ws.client.request(`query($env: ID) { ${counts} }`, { env: ws.development.id });
    expect(result.errors?.[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', reason: 'query.cost' });
    const one = await ws.client.request('query($env: ID) { auditEvents(environmentId: $env, first: 1) { totalCount } }', { env: ws.development.id });
    expect(one.errors).toBeUndefined();
  });

  it('runs one chain verification per operation, bounded per call and per minute', async () => {
    const env = ws.development.id;
    const twice = await ws.client.request(
      'query($env: ID) { a: auditChainVerification(environmentId: $env) { valid } b: auditChainVerification(environmentId: $env) { valid } }',
      { env },
    );
    expect(twice.status).toBe(400);
    expect(twice.errors?.[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', reason: 'query.field_repeated' });

    // This server checks 3 events per call; the chain is walked in steps, each continuing after the last.
    const verify = 'query($env: ID, $after: String) { auditChainVerification(environmentId: $env, afterSequence: $after) { valid complete eventsChecked headSequence } }';
    const first = (await ws.client.data(verify, { env })).auditChainVerification;
    expect(first).toMatchObject({ valid: true, complete: false, eventsChecked: 3 });
    const second = (await ws.client.data(verify, { env, after: first.headSequence })).auditChainVerification;
    expect(second.valid).toBe(true);
    expect(BigInt(second.headSequence)).toBeGreaterThan(BigInt(first.headSequence));

    const bad = await ws.client.request(verify, { env, after: 'x' });
    expect(bad.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'audit.invalid_sequence' });
    // Four calls a minute on this server: two ran above (the refused operation and the bad input ran none).
    await ws.client.data(verify, { env });
    await ws.client.data(verify, { env });
    const limited = await ws.client.request(verify, { env });
    expect(limited.errors?.[0].extensions).toMatchObject({ code: 'RATE_LIMITED', reason: 'audit.verification_rate_limited' });
  });

  it('runs at most one key generation and a few DNS lookups per operation', async () => {
    const env = ws.development.id;
    const rotate = (alias: string) => `${alias}: rotateSigningKey(input: { environmentId: $env }) { signingKey { id } }`;
    const twice = await ws.client.request(`mutation($env: ID) { ${rotate('a')} ${rotate('b')} }`, { env });
    expect(twice.status).toBe(400);
    expect(twice.errors?.[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', reason: 'query.field_repeated', limit: 1 });
    const verify = (i: number) => `v${i}: verifyOrganizationDomain(input: { id: "dom_x" }) { userErrors { code } }`;
    const six = await ws.client.request(`mutation { ${Array.from({ length: 6 }, (_, i) => verify(i)).join(' ')} }`);
    expect(six.errors?.[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', reason: 'query.field_repeated', limit: 5 });
    const keys = await ws.client.data('query($env: ID) { signingKeys(environmentId: $env) { id } }', { env });
    expect(keys.signingKeys).toEqual([]); // nothing ran: the first key is made on first use
  });

  it('answers the standard introspection query but not two __schema or a recursive walk', async () => {
    const standard = await ws.client.request(getIntrospectionQuery());
    expect(standard.errors).toBeUndefined();
    expect(standard.data?.__schema.types.length).toBeGreaterThan(50);

    const twice = await ws.client.request('{ a: __schema { types { name } } b: __schema { types { name } } }');
    expect(twice.status).toBe(400);
    expect(twice.errors?.[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', reason: 'query.introspection_repeated' });

    const recursive = await ws.client.request('{ __schema { types { fields { type { fields { name } } } } } }');
    expect(recursive.errors?.[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', reason: 'query.introspection_too_deep' });
    const viaType = await ws.client.request('{ __type(name: "Query") { fields { type { ofType { fields { name } } } } } }');
    expect(viaType.errors?.[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', reason: 'query.introspection_too_deep' });
  });

  it('refuses 2,000 aliases of a cheap field before validating them, over HTTP and WebSocket', async () => {
    const query = `{ ${Array.from({ length: 2000 }, (_, i) => `v${i}: viewer { workspaceId }`).join(' ')} }`;
    const http = await ws.client.request(query);
    expect(http.status).toBe(400);
    expect(http.errors?.[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', reason: 'query.too_many_aliases', maxAliases: 100 });
    const socket = await overWebSocket(query);
    expect(socket.errors?.[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', reason: 'query.too_many_aliases' });
  });

  it('refuses a document of more selections than the cap, even without aliases', async () => {
    const query = `{ viewer { ${Array.from({ length: 1500 }, () => 'workspaceId').join(' ')} } }`;
    const result = await ws.client.request(query);
    expect(result.status).toBe(400);
    expect(result.errors?.[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', reason: 'query.too_many_selections' });
  });

  it('refuses a document past the token cap as a parse failure', async () => {
    const query = `{ viewer { workspaceId } } ${Array.from({ length: 5000 }, (_, i) => `fragment f${i} on Query { __typename }`).join(' ')}`;
    const result = await ws.client.request(query);
    expect(result.status).toBe(400);
    expect(result.errors?.[0].message).toMatch(/tokens/);
  });
});

describe('response size', () => {
  it('replaces a response larger than the configured bound with an error', async () => {
    const small = await startServer({ maxResponseBytes: 2048 });
    try {
      const owner = await small.workspace();
      const result = await owner.client.request(getIntrospectionQuery());
      expect(result.data ?? null).toBeNull();
      expect(result.errors?.[0].extensions).toMatchObject({ code: 'RESPONSE_TOO_LARGE', maxBytes: 2048 });
      const fits = await owner.client.request('{ viewer { workspaceId } }');
      expect(fits.data?.viewer.workspaceId).toBe(owner.workspace.id);
    } finally {
      await small.close();
    }
  });
});
