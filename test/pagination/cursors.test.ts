import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GraphQLClient, GraphQLResponse } from '../helpers/graphql.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

/**
 * Cursors are opaque to clients, but a client can send anything: a cursor of another ordering,
 * an edited one, a made-up one. Each must be refused as the caller's input
 * (BAD_USER_INPUT, `pagination.invalid_cursor`), never reach the database as a failing query.
 */

const ORGS = `query($env: ID, $orderBy: OrganizationOrder, $first: Int, $after: String, $last: Int, $before: String) {
  organizations(environmentId: $env, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    nodes { id name }
  }
}`;
const MEMBERS = `query($id: ID, $first: Int, $after: String) {
  organization(id: $id) {
    memberships(first: $first, after: $after) { pageInfo { hasNextPage endCursor } nodes { id } }
  }
}`;
const EVENTS = `query($first: Int, $after: String, $before: String) {
  auditEvents(first: $first, after: $after, before: $before) { pageInfo { endCursor } nodes { id sequence } }
}`;

/** A cursor with the given parts, in the API's wire encoding (base64url JSON). */
const forge = (...parts: unknown[]) => Buffer.from(JSON.stringify(parts), 'utf8').toString('base64url');
const parts = (cursor: string): unknown[] => JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));

function expectInvalidCursor(result: GraphQLResponse, argument = 'after') {
  expect(result.errors, JSON.stringify(result.errors)).toHaveLength(1);
  expect(result.errors?.[0].extensions).toMatchObject({
    code: 'BAD_USER_INPUT',
    reason: 'pagination.invalid_cursor',
    field: [argument],
  });
}

async function createOrgs(client: GraphQLClient, env: string, names: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const name of names) {
    const result = await client.data(
      `mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } userErrors { code } } }`,
      { input: { environmentId: env, name } },
    );
    expect(result.createOrganization.userErrors).toEqual([]);
    ids.push(result.createOrganization.organization.id);
  }
  return ids;
}

async function addMembers(client: GraphQLClient, env: string, orgId: string, count: number, tag: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const user = await client.data(
      `mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } userErrors { code } } }`,
      { input: { environmentId: env, email: `${tag}-${i}@cursors.example` } },
    );
    expect(user.createUser.userErrors).toEqual([]);
    const membership = await client.data(
      `mutation($input: CreateMembershipInput!) { createMembership(input: $input) { membership { id } userErrors { code } } }`,
      { input: { organizationId: orgId, userId: user.createUser.user.id } },
    );
    expect(membership.createMembership.userErrors).toEqual([]);
    ids.push(membership.createMembership.membership.id);
  }
  return ids;
}

describe('cursors', () => {
  let server: TestServer;
  let ws: TestWorkspace;
  let env: string;
  let orgIds: string[];
  let memberOrg: string;
  let membershipIds: string[];

  beforeAll(async () => {
    server = await startServer();
    ws = await server.workspace('Cursors');
    env = ws.development.id;
    orgIds = await createOrgs(ws.client, env, ['Delta', 'Alpha', 'Echo', 'Charlie', 'Bravo']);
    memberOrg = orgIds[0];
    membershipIds = await addMembers(ws.client, env, memberOrg, 3, 'm');
  });
  afterAll(() => server.close());

  const orgs = (variables: Record<string, unknown>) => ws.client.request(ORGS, { env, ...variables });

  it('page through every ordering forwards and backwards with the cursors the API returns', async () => {
    for (const orderBy of [
      { field: 'NAME', direction: 'ASC' },
      { field: 'CREATED_AT', direction: 'DESC' },
      { field: 'UPDATED_AT', direction: 'ASC' },
    ]) {
      const all = (await ws.client.data(ORGS, { env, orderBy, first: 100 })).organizations.nodes.map((n: { id: string }) => n.id);
      expect(all).toHaveLength(orgIds.length);
      const forward: string[] = [];
      let after: string | null = null;
      for (;;) {
        const page: any = (await ws.client.data(ORGS, { env, orderBy, first: 2, after })).organizations;
        forward.push(...page.nodes.map((n: { id: string }) => n.id));
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
      expect(forward).toEqual(all);
      const backward: string[] = [];
      let before: string | null = null;
      for (;;) {
        const page: any = (await ws.client.data(ORGS, { env, orderBy, last: 2, before })).organizations;
        backward.unshift(...page.nodes.map((n: { id: string }) => n.id));
        if (!page.pageInfo.hasPreviousPage) break;
        before = page.pageInfo.startCursor;
      }
      expect(backward).toEqual(all);
    }
  });

  it('refuses a cursor of another ordering', async () => {
    const byName = (await ws.client.data(ORGS, { env, orderBy: { field: 'NAME', direction: 'ASC' }, first: 1 })).organizations;
    const nameCursor = byName.pageInfo.endCursor as string;
    expectInvalidCursor(await orgs({ orderBy: { field: 'CREATED_AT', direction: 'ASC' }, first: 2, after: nameCursor }));
    expectInvalidCursor(await orgs({ orderBy: { field: 'UPDATED_AT', direction: 'DESC' }, last: 2, before: nameCursor }), 'before');

    const byDate = (await ws.client.data(ORGS, { env, orderBy: { field: 'CREATED_AT', direction: 'ASC' }, first: 1 })).organizations;
    expectInvalidCursor(await orgs({ orderBy: { field: 'NAME', direction: 'ASC' }, first: 2, after: byDate.pageInfo.endCursor }));

    // The same ordering in the other direction is still a valid position.
    const reversed = await orgs({ orderBy: { field: 'NAME', direction: 'DESC' }, first: 10, after: nameCursor });
    expect(reversed.errors).toBeUndefined();
    expect(reversed.data?.organizations.nodes).toEqual([]);
  });

  it('refuses date cursor values that are not ISO date-times', async () => {
    const id = orgIds[0];
    const orderBy = { field: 'CREATED_AT', direction: 'ASC' };
    for (const value of [
      '123',
      '2024',
      '2024-01-01',
      'Alpha',
      '2024-02-30T00:00:00.000Z',
      '2024-01-01T25:00:00.000Z',
      '0000-01-01T00:00:00.000Z',
      '',
      null,
      17,
    ]) {
      // With and without the sort field: a cursor that merely looks like an older format is refused too.
      expectInvalidCursor(await orgs({ orderBy, first: 2, after: forge('createdAt', value, id) }));
      expectInvalidCursor(await orgs({ orderBy, first: 2, after: forge(value, id) }));
    }
    const valid = await orgs({ orderBy, first: 10, after: forge('createdAt', '2000-01-01T00:00:00.000Z', id) });
    expect(valid.errors).toBeUndefined();
    expect(valid.data?.organizations.nodes).toHaveLength(orgIds.length);
    // Any real date is a position, however far off.
    for (const date of ['0001-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z']) {
      for (const direction of ['ASC', 'DESC']) {
        const far = await orgs({ orderBy: { field: 'CREATED_AT', direction }, first: 10, after: forge('createdAt', date, id) });
        expect(far.errors).toBeUndefined();
      }
      const members = await ws.client.request(MEMBERS, { id: memberOrg, first: 2, after: forge('createdAt', date, id) });
      expect(members.errors).toBeUndefined();
    }
  });

  it('refuses ids that are not strings of a sane length, and other shapes', async () => {
    const orderBy = { field: 'NAME', direction: 'ASC' };
    for (const id of ['x'.repeat(65), '', 42, null, 'org_\u0000', ['org_1']]) {
      expectInvalidCursor(await orgs({ orderBy, first: 2, after: forge('name', 'Alpha', id) }));
      expectInvalidCursor(await orgs({ orderBy, first: 2, after: forge('Alpha', id) }));
    }
    for (const cursor of ['not a cursor', forge(), forge('name'), forge('name', 'Alpha', orgIds[0], 'extra'), forge({ name: 'Alpha' })]) {
      expectInvalidCursor(await orgs({ orderBy, first: 2, after: cursor }));
    }
    expectInvalidCursor(await orgs({ orderBy, first: 2, after: forge('name', 'Al\u0000pha', orgIds[0]) }));
    expectInvalidCursor(await orgs({ orderBy, first: 2, after: forge('name', 'x'.repeat(5000), orgIds[0]) }));
  });

  it('refuses audit cursors whose sequence is not a digit string', async () => {
    const first = (await ws.client.data(EVENTS, { first: 1 })).auditEvents;
    const { id, sequence } = first.nodes[0];
    for (const value of ['abc', '12.5', '-1', '1e3', ' 1', '99999999999999999999', '', null, 12]) {
      expectInvalidCursor(await ws.client.request(EVENTS, { first: 2, before: forge(value, id) }), 'before');
      expectInvalidCursor(await ws.client.request(EVENTS, { first: 2, after: forge('seq', value, id) }));
    }
    // The API's own cursor is [sort field, value, id] and continues the list.
    expect(parts(first.pageInfo.endCursor)).toEqual(['seq', sequence, id]);
    const next = await ws.client.request(EVENTS, { first: 2, after: forge('seq', sequence, id) });
    expect(next.errors).toBeUndefined();
    expect(next.data?.auditEvents.nodes.length).toBeGreaterThan(0);
    expect(BigInt(next.data?.auditEvents.nodes[0].sequence)).toBeLessThan(BigInt(sequence));
  });

  it('pages memberships with their cursors and refuses anything else', async () => {
    const firstPage = (await ws.client.data(MEMBERS, { id: memberOrg, first: 2 })).organization.memberships;
    expect(firstPage.nodes).toHaveLength(2);
    expect(firstPage.pageInfo.hasNextPage).toBe(true);
    const rest = (await ws.client.data(MEMBERS, { id: memberOrg, first: 2, after: firstPage.pageInfo.endCursor })).organization.memberships;
    expect(rest.nodes).toHaveLength(1);
    expect(rest.pageInfo.hasNextPage).toBe(false);
    const seen = [...firstPage.nodes, ...rest.nodes].map((n: { id: string }) => n.id);
    expect(seen.sort()).toEqual([...membershipIds].sort());

    const [, createdAt, id] = parts(firstPage.pageInfo.endCursor);
    const nameCursor = (await ws.client.data(ORGS, { env, orderBy: { field: 'NAME', direction: 'ASC' }, first: 1 })).organizations.pageInfo
      .endCursor;
    for (const after of [
      forge('createdAt', null, id),
      forge(null, id),
      forge('createdAt', '123', id),
      forge('createdAt', '0000-01-01T00:00:00.000Z', id),
      forge('123', id),
      forge('name', createdAt, id),
      forge('createdAt', createdAt, 'x'.repeat(100)),
      forge(createdAt, 'x'.repeat(100)),
      nameCursor,
      'garbage',
    ]) {
      const result = await ws.client.request(MEMBERS, { id: memberOrg, first: 2, after });
      expectInvalidCursor(result);
      expect(result.errors?.[0].path).toEqual(['organization', 'memberships']);
    }
  });
});

describe('default page size under a lower page size cap', () => {
  let server: TestServer;
  let ws: TestWorkspace;
  let env: string;
  let orgIds: string[];

  beforeAll(async () => {
    server = await startServer({ maxPageSize: 5, maxQueryComplexity: 200 });
    ws = await server.workspace('Small pages');
    env = ws.development.id;
    orgIds = await createOrgs(ws.client, env, ['One', 'Two', 'Three', 'Four', 'Five', 'Six', 'Seven']);
    await addMembers(ws.client, env, orgIds[0], 7, 'small');
  });
  afterAll(() => server.close());

  it('lists at most the cap when no page size is given', async () => {
    const page = (await ws.client.data(`query($env: ID) { organizations(environmentId: $env) { pageInfo { hasNextPage } nodes { id } } }`, { env }))
      .organizations;
    expect(page.nodes).toHaveLength(5);
    expect(page.pageInfo.hasNextPage).toBe(true);

    const backward = (
      await ws.client.data(`query($env: ID, $before: String) { organizations(environmentId: $env, before: $before) { nodes { id } } }`, {
        env,
        before: (await ws.client.data(`query($env: ID) { organizations(environmentId: $env, last: 1) { pageInfo { startCursor } } }`, { env }))
          .organizations.pageInfo.startCursor,
      })
    ).organizations;
    expect(backward.nodes).toHaveLength(5);
  });

  it('pages nested memberships at most the cap when no page size is given', async () => {
    const memberships = (await ws.client.data(`query($id: ID) { organization(id: $id) { memberships { pageInfo { hasNextPage } nodes { id } } } }`, { id: orgIds[0] }))
      .organization.memberships;
    expect(memberships.nodes).toHaveLength(5);
    expect(memberships.pageInfo.hasNextPage).toBe(true);
  });

  it('prices connections without a page size at the capped default', async () => {
    // 1 + 5 × (1 + 1 + 5 × 2) = 61: within the limit of 200 (at 20 per page it would be 841).
    const result = await ws.client.request(
      `query($env: ID) { organizations(environmentId: $env) { nodes { memberships { nodes { id } } } } }`,
      { env },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data?.organizations.nodes).toHaveLength(5);
  });
});
