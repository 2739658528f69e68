import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  execute,
  GraphQLID,
  GraphQLInt,
  GraphQLInterfaceType,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  parse,
  getOperationAST,
} from 'graphql';
import { GraphQLExecutor, jitSettings, jitStats } from '../../src/graphql/executor.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';
import type { GraphQLClient, GraphQLResponse } from '../helpers/graphql.js';

let server: TestServer;
let ws: TestWorkspace;
const initial = { ...jitSettings };

/** Drops what differs between two requests by design: the request id. */
function comparable(response: GraphQLResponse) {
  return {
    status: response.status,
    data: response.data,
    errors: response.errors?.map(({ extensions, ...rest }) => {
      const { requestId, ...other } = extensions ?? {};
      expect(requestId).toMatch(/^req_/);
      return { ...rest, extensions: other };
    }),
  };
}

/**
 * Sends the operation with graphql-js, then compiled (twice: compiling, then from the cache),
 * and expects the same response each time; returns it.
 */
async function same(client: GraphQLClient, query: string, variables?: Record<string, unknown>, { compiled = true } = {}) {
  jitSettings.enabled = false;
  const interpreted = comparable(await client.request(query, variables));
  jitSettings.enabled = true;
  jitSettings.compileAfter = 1;
  const before = jitStats.jitExecutions;
  const first = comparable(await client.request(query, variables));
  const second = comparable(await client.request(query, variables));
  expect(first).toEqual(interpreted);
  expect(second).toEqual(interpreted);
  // Same keys in the same order: the serialized answers are identical, byte for byte.
  expect(JSON.stringify(second)).toBe(JSON.stringify(interpreted));
  expect(jitStats.jitExecutions - before).toBe(compiled ? 2 : 0);
  return interpreted;
}

beforeAll(async () => {
  server = await startServer();
  ws = await server.workspace();
  const env = ws.development.id;
  const call = (query: string, variables: Record<string, unknown>) => ws.client.data(query, variables);
  for (const key of ['invoices:read', 'invoices:write', 'reports:read']) {
    await call('mutation($i: CreatePermissionInput!) { createPermission(input: $i) { permission { id } } }', { i: { environmentId: env, key } });
  }
  await call('mutation($i: CreateRoleInput!) { createRole(input: $i) { role { id } } }', {
    i: { environmentId: env, key: 'billing', name: 'Billing', permissionKeys: ['invoices:read', 'invoices:write'] },
  });
  for (let o = 0; o < 3; o += 1) {
    const { createOrganization } = await call(
      'mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) { organization { id } } }',
      { i: { environmentId: env, name: `Org ${o}`, domains: [{ domain: `org${o}.example.com` }] } },
    );
    for (let m = 0; m < 2; m += 1) {
      const { createUser } = await call('mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } } }', {
        i: { environmentId: env, email: `user${m}@org${o}.example.com`, givenName: m === 0 ? 'Ada' : null },
      });
      await call('mutation($i: CreateMembershipInput!) { createMembership(input: $i) { membership { id } } }', {
        i: { organizationId: createOrganization.organization.id, userId: createUser.user.id, roleKeys: m === 0 ? ['member', 'billing'] : ['member'] },
      });
    }
  }
});
afterEach(() => Object.assign(jitSettings, initial));
afterAll(() => server.close());

const NESTED = `query Nested($env: ID, $first: Int, $withRoles: Boolean!) {
  page: organizations(environmentId: $env, first: $first) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { ...org } }
  }
}
fragment org on Organization {
  __typename id name createdAt metadata
  domains { domain }
  memberships(first: 3) {
    totalCount
    nodes { id status user { ...person } roles @include(if: $withRoles) { key name builtIn permissions { key } } }
  }
}
fragment person on User { email givenName created: createdAt }`;

describe('compiled execution (graphql-jit) answers as graphql-js does', () => {
  it('nested reads with fragments, aliases, variables, @include, custom scalars and cursors', async () => {
    const env = ws.development.id;
    const result = await same(ws.client, NESTED, { env, first: 2, withRoles: true });
    expect(result.errors).toBeUndefined();
    const page = (result.data as any).page;
    expect(page.totalCount).toBe(3);
    expect(page.edges).toHaveLength(2);
    expect(page.pageInfo.hasNextPage).toBe(true);
    expect(page.edges[1].cursor).toBe(page.pageInfo.endCursor);
    expect(page.edges[0].node.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(page.edges[0].node.memberships.nodes[0].roles.length).toBeGreaterThan(0);
    // The cursor leads on: the next page has the last organization.
    const next = await same(ws.client, 'query($env: ID, $after: String) { organizations(environmentId: $env, first: 5, after: $after) { nodes { name } pageInfo { hasNextPage hasPreviousPage } } }', {
      env,
      after: page.pageInfo.endCursor,
    });
    expect((next.data as any).organizations).toEqual({ nodes: [{ name: 'Org 0' }], pageInfo: { hasNextPage: false, hasPreviousPage: true } });
    const skipped = await same(ws.client, NESTED, { env, first: 1, withRoles: false });
    expect((skipped.data as any).page.edges[0].node.memberships.nodes[0]).not.toHaveProperty('roles');
  });

  it('node(id:) and nodes(ids:) resolve abstract types, with inline fragments and __typename', async () => {
    const orgs = await ws.client.data<any>('query($env: ID) { organizations(environmentId: $env, first: 1) { nodes { id memberships { nodes { id user { id } } } } } }', {
      env: ws.development.id,
    });
    const org = orgs.organizations.nodes[0];
    const membership = org.memberships.nodes[0];
    const query = `query($org: ID!, $ids: [ID!]!) {
      node(id: $org) { __typename id ... on Organization { name domains { domain } } ... on User { email } }
      nodes(ids: $ids) { __typename ... on Membership { status organization { name } } ... on User { email } ... on Node { id } }
    }`;
    const result = await same(ws.client, query, { org: org.id, ids: [membership.id, membership.user.id, org.id] });
    expect(result.errors).toBeUndefined();
    expect((result.data as any).node.__typename).toBe('Organization');
    expect((result.data as any).nodes.map((n: { __typename: string }) => n.__typename)).toEqual(['Membership', 'User', 'Organization']);
    // An id of nothing: null, or the API's error, the same either way.
    await same(ws.client, query, { org: 'org_01JZZZZZZZZZZZZZZZZZZZZZZZ', ids: ['usr_01JZZZZZZZZZZZZZZZZZZZZZZZ', 'nonsense'] });
  });

  it('resolver errors keep their code, reason, path and locations, with partial data', async () => {
    // Invalid page arguments and cursors are the caller's mistake (AppError → BAD_USER_INPUT).
    const env = ws.development.id;
    const tooLarge = await same(ws.client, 'query($env: ID) { organizations(environmentId: $env, first: 1000) { nodes { id } } }', { env });
    expect(tooLarge.errors?.[0]).toMatchObject({ path: ['organizations'], extensions: { code: 'BAD_USER_INPUT', reason: 'pagination.page_too_large' } });
    const badCursor = await same(ws.client, 'query($env: ID) {\n ok: viewer { workspaceId }\n organizations(environmentId: $env, after: "nope") { nodes { id } } }', { env });
    expect(badCursor.errors?.[0]).toMatchObject({ locations: [{ line: 3, column: 2 }], extensions: { reason: 'pagination.invalid_cursor' } });
    // `organizations` is non-null: its error nulls the whole answer.
    expect(badCursor.data).toBeNull();
    // A key without the scope: FORBIDDEN where it is needed, the rest of the answer kept.
    const { createApiKey } = await ws.client.data<any>('mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret } }', {
      i: { name: 'orgs only', scopes: ['organizations:read'] },
    });
    const limited = ws.client.withKey(createApiKey.secret);
    const forbidden = await same(limited, `query($env: ID) { viewer { scopes } users(environmentId: $env) { nodes { email } } }`, { env });
    expect(forbidden.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const { users } = await ws.client.data<any>('query($env: ID) { users(environmentId: $env, first: 1) { nodes { id } } }', { env });
    // Every root field is non-null: an error in one nulls the whole answer (partial data is
    // covered on the hand-made schema below).
    const partial = await same(limited, `query($env: ID, $user: ID!) { organizations(environmentId: $env, first: 2) { nodes { name } } node(id: $user) { id } }`, {
      env,
      user: users.nodes[0].id,
    });
    expect(partial.errors?.[0]).toMatchObject({ path: ['node'], extensions: { code: 'FORBIDDEN', reason: 'auth.missing_scope' } });
    expect(partial.data).toBeNull();
    // Null propagation through non-null fields, whatever the nested failure is.
    await same(limited, NESTED, { env, first: 2, withRoles: true });
  });

  it('several operations in one document: the named one runs', async () => {
    const document = `query A { viewer { workspaceId } } query B($env: ID) { roles(environmentId: $env) { nodes { key } } }`;
    jitSettings.compileAfter = 1;
    const a = await ws.client.request(`${document}`, undefined, {});
    expect(a.errors?.[0]?.extensions?.code).toBeDefined();
    // Named operations go through the HTTP body's operationName.
    const body = (operationName: string) =>
      fetch(server.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ws.client.key}` },
        body: JSON.stringify({ query: document, operationName, variables: { env: ws.development.id } }),
      }).then((response) => response.json());
    jitSettings.enabled = false;
    const interpreted = [await body('A'), await body('B')];
    jitSettings.enabled = true;
    const compiled = [await body('A'), await body('B'), await body('A'), await body('B')];
    expect(compiled).toEqual([...interpreted, ...interpreted]);
    expect((interpreted[1] as any).data.roles.nodes.length).toBeGreaterThan(0);
  });

  it('limits, validation and variable errors are unchanged (checked before execution)', async () => {
    const deep = await same(ws.client, '{ organizations { nodes { memberships { nodes { user { memberships { nodes { organization { memberships { nodes { user { email } } } } } } } } } } } }', undefined, {
      compiled: false,
    });
    expect(deep.status).toBe(400);
    expect(deep.errors?.[0]?.extensions?.code).toMatch(/QUERY_TOO_(DEEP|COMPLEX)/);
    const costly = await same(ws.client, '{ organizations(first: 100) { nodes { memberships(first: 100) { nodes { roles { permissions { key } } } } } } }', undefined, {
      compiled: false,
    });
    expect(costly.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', reason: 'query.cost' });
    const invalid = await same(ws.client, '{ organizations { nodes { nope } } }', undefined, { compiled: false });
    expect(invalid.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const variable = await same(ws.client, 'query($n: Int) { organizations(first: $n) { nodes { id } } }', { n: 'ten' }, { compiled: false });
    expect(variable.status).toBe(400);
    expect(variable.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('introspection and mutations run on graphql-js', async () => {
    const introspection = await same(ws.client, '{ __schema { queryType { name } } __type(name: "Node") { kind possibleTypes { name } } }', undefined, {
      compiled: false,
    });
    expect((introspection.data as any).__schema.queryType.name).toBe('Query');
    jitSettings.compileAfter = 1;
    const before = jitStats.jitExecutions;
    const created = await ws.client.data<any>('mutation($i: CreatePermissionInput!) { createPermission(input: $i) { permission { key } } }', {
      i: { environmentId: ws.development.id, key: 'jit:test' },
    });
    expect(created.createPermission.permission.key).toBe('jit:test');
    expect(jitStats.jitExecutions).toBe(before);
  });

  it('is not compiled before it is asked compileAfter times', async () => {
    jitSettings.compileAfter = 3;
    const query = `{ viewer { workspaceId scopes } } # ${Math.random()}`;
    const compiledBefore = jitStats.compiled;
    for (let i = 0; i < 2; i += 1) expect((await ws.client.request(query)).errors).toBeUndefined();
    expect(jitStats.compiled).toBe(compiledBefore);
    expect((await ws.client.request(query)).errors).toBeUndefined();
    expect(jitStats.compiled).toBe(compiledBefore + 1);
  });

  it('never compiles on a server configured with graphqlJit: false (GATEHOUSE_GRAPHQL_JIT=false)', async () => {
    const plain = await startServer({ graphqlJit: false });
    try {
      const other = await plain.workspace();
      jitSettings.compileAfter = 1;
      const query = `{ viewer { workspaceId scopes } } # ${Math.random()}`;
      const before = { ...jitStats };
      const answers = [await other.client.request(query), await other.client.request(query), await other.client.request(query)];
      for (const answer of answers) expect(answer.data?.viewer.workspaceId).toBe(other.workspace.id);
      expect(jitStats.compiled).toBe(before.compiled);
      expect(jitStats.jitExecutions).toBe(before.jitExecutions);
      expect(jitStats.interpretedExecutions - before.interpretedExecutions).toBe(3);
    } finally {
      await plain.close();
    }
  });
});

describe('GraphQLExecutor on a hand-made schema', () => {
  // Errors and nulls in every position, compared field by field with graphql-js's result.
  const Named: GraphQLInterfaceType = new GraphQLInterfaceType({ name: 'Named', fields: { name: { type: GraphQLString } }, resolveType: () => 'Thing' });
  const Thing = new GraphQLObjectType({
    name: 'Thing',
    interfaces: [Named],
    fields: {
      name: { type: GraphQLString },
      id: { type: new GraphQLNonNull(GraphQLID) },
      fails: { type: GraphQLString, resolve: () => Promise.reject(Object.assign(new Error('boom'), { code: 'X' })) },
      failsNonNull: { type: new GraphQLNonNull(GraphQLString), resolve: () => { throw new Error('sync boom'); } },
      nullNonNull: { type: new GraphQLNonNull(GraphQLInt), resolve: () => null },
    },
  });
  const schema = new GraphQLSchema({
    types: [Thing],
    query: new GraphQLObjectType({
      name: 'Query',
      fields: {
        things: { type: new GraphQLList(Thing), resolve: () => [{ id: '1', name: 'a' }, { id: null, name: 'b' }, { id: '3', name: 'c' }] },
        named: { type: Named, resolve: () => ({ id: '9', name: 'n' }) },
        strict: { type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(Thing))), resolve: () => [{ id: '1', name: 'a' }, { id: null, name: 'b' }] },
      },
    }),
  });
  // graphql-jit runs every field of an object even once one of them failed non-null (graphql-js
  // stops at the failing one, in document order), so a failing field placed after a non-null
  // violation would be one more error in jit's answer; it is placed before.
  const queries = [
    '{ things { fails id name } }',
    '{ things { name failsNonNull } named { name ... on Thing { id } } }',
    '{ things { nullNonNull } }',
    '{ strict { id } named { __typename } }',
  ];
  it.each(queries)('%s', async (query) => {
    jitSettings.compileAfter = 1;
    const document = parse(query);
    const operation = getOperationAST(document)!;
    const executor = new GraphQLExecutor(schema);
    const expected = await execute({ schema, document, contextValue: {} });
    const actual = await executor.execute({ document, operation, contextValue: {}, cacheKey: query });
    expect(jitStats.compiled).toBeGreaterThan(0);
    expect(Object.keys(actual)).toEqual(Object.keys(expected));
    expect(JSON.stringify(actual.data)).toBe(JSON.stringify(expected.data));
    // The same errors; their order may differ (graphql-js lists them as they happen, graphql-jit
    // lists nulls in non-null fields after the resolvers' errors).
    const errors = (result: typeof actual) =>
      result.errors?.map((e) => JSON.stringify([e.message, e.path, e.locations, e.originalError?.message, e.originalError?.constructor.name, e.extensions])).sort();
    expect(errors(actual)).toEqual(errors(expected));
  });
});
