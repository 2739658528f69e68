import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

/**
 * A list of N organizations with nested domains, memberships, users, organizations, roles and
 * permissions must cost a constant number of SQL statements, whatever N is.
 */

const ORGANIZATIONS = 100;
const MEMBERS_PER_ORGANIZATION = 3;
const CONCURRENCY = 8;

const NESTED_QUERY = `query($env: ID, $n: Int) {
  organizations(environmentId: $env, first: $n, orderBy: { field: NAME, direction: ASC }) {
    nodes {
      name
      domains { domain }
      memberships(first: 10) {
        totalCount
        nodes {
          user { email }
          organization { name }
          roles { key permissions { key } }
        }
      }
    }
  }
}`;

let server: TestServer;
let ws: TestWorkspace;
let env: string;

/** Runs `work` for every item with at most `limit` in flight. */
async function inBatches<T>(items: T[], limit: number, work: (item: T, index: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const index = next++;
        await work(items[index], index);
      }
    }),
  );
}

const pad = (i: number) => String(i).padStart(3, '0');

async function mutate(document: string, input: Record<string, unknown>) {
  const data = await ws.client.data(document, { input });
  const payload = Object.values(data)[0] as { userErrors: unknown[] } & Record<string, any>;
  expect(payload.userErrors).toEqual([]);
  return payload;
}

async function measure(n: number) {
  // A warm-up request first, so per-key bookkeeping (last-used stamp) is not counted.
  await ws.client.data(`{ viewer { scopes } }`);
  server.sql.statements.length = 0;
  server.sql.count = 0;
  const result = await ws.client.request(NESTED_QUERY, { env, n });
  const count = server.sql.count;
  const statements = [...server.sql.statements];
  expect(result.errors).toBeUndefined();
  return { count, statements, organizations: result.data!.organizations.nodes as any[] };
}

beforeAll(async () => {
  // This file measures batching, not limits: priced at its worst case (20 roles of 100
  // permissions per membership), the nested query of 100 organizations is far over the default cost limit.
  server = await startServer({ maxQueryComplexity: 10_000_000 });
  ws = await server.workspace('N+1');
  env = ws.development.id;

  for (const key of ['invoices:read', 'invoices:write', 'reports:read']) {
    await mutate(`mutation($input: CreatePermissionInput!) { createPermission(input: $input) { userErrors { code } } }`, {
      environmentId: env,
      key,
    });
  }
  await mutate(`mutation($input: CreateRoleInput!) { createRole(input: $input) { userErrors { code } } }`, {
    environmentId: env,
    key: 'billing',
    name: 'Billing',
    permissionKeys: ['invoices:read', 'invoices:write'],
  });
  const member = (await ws.client.data(`query($env: ID) { role(key: "member", environmentId: $env) { id } }`, { env })).role;
  await mutate(`mutation($input: UpdateRoleInput!) { updateRole(input: $input) { userErrors { code } } }`, {
    id: member.id,
    permissionKeys: ['reports:read'],
  });

  const indexes = Array.from({ length: ORGANIZATIONS }, (_, i) => i);
  await inBatches(indexes, CONCURRENCY, async (i) => {
    const org = await mutate(
      `mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } userErrors { code } } }`,
      { environmentId: env, name: `Org ${pad(i)}`, domains: [{ domain: `org${i}.example` }, { domain: `org${i}.example.net` }] },
    );
    for (let m = 0; m < MEMBERS_PER_ORGANIZATION; m += 1) {
      const user = await mutate(`mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } userErrors { code } } }`, {
        environmentId: env,
        email: `u${m}@org${i}.example`,
      });
      await mutate(`mutation($input: CreateMembershipInput!) { createMembership(input: $input) { userErrors { code } } }`, {
        organizationId: org.organization.id,
        userId: user.user.id,
        roleKeys: m === 0 ? ['admin', 'billing'] : ['member'],
      });
    }
  });
}, 120_000);
afterAll(() => server.close());

describe('nested organization lists', () => {
  it('return the complete nested data', async () => {
    const { organizations } = await measure(ORGANIZATIONS);
    expect(organizations).toHaveLength(ORGANIZATIONS);
    organizations.forEach((org, i) => {
      expect(org.name).toBe(`Org ${pad(i)}`);
      expect(org.domains).toEqual([{ domain: `org${i}.example` }, { domain: `org${i}.example.net` }]);
      expect(org.memberships.totalCount).toBe(MEMBERS_PER_ORGANIZATION);
      expect(org.memberships.nodes.map((m: any) => m.user.email).sort()).toEqual(['u0', 'u1', 'u2'].map((u) => `${u}@org${i}.example`));
      for (const membership of org.memberships.nodes) {
        expect(membership.organization.name).toBe(org.name);
        const expectedRoles = membership.user.email.startsWith('u0@')
          ? [
              { key: 'admin', permissions: [] },
              { key: 'billing', permissions: [{ key: 'invoices:read' }, { key: 'invoices:write' }] },
            ]
          : [{ key: 'member', permissions: [{ key: 'reports:read' }] }];
        expect(membership.roles).toEqual(expectedRoles);
      }
    });
  });

  it('cost the same small number of SQL statements for 50 and for 100 organizations', async () => {
    const fifty = await measure(50);
    const hundred = await measure(100);
    expect(fifty.organizations).toHaveLength(50);
    expect(hundred.organizations).toHaveLength(100);
    expect(hundred.count, hundred.statements.join('\n')).toBe(fifty.count);
    expect(hundred.count, hundred.statements.join('\n')).toBeLessThan(20);
    // Authentication plus one statement per relation level; nothing per organization.
    expect(hundred.statements).toHaveLength(hundred.count);
    const small = await measure(5);
    expect(small.count).toBe(hundred.count);
  });

  it('the measurement is sensitive: without batching the count grows with N', async () => {
    server.config.dataLoaderBatching = false;
    try {
      const five = await measure(5);
      const ten = await measure(10);
      expect(ten.count).toBeGreaterThan(five.count + 10);
    } finally {
      server.config.dataLoaderBatching = true;
    }
    const batched = await measure(10);
    expect(batched.count).toBeLessThan(20);
  });

  it('count memberships in the statement that reads their first page, and exactly', async () => {
    const empty = await mutate(
      `mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } userErrors { code } } }`,
      { environmentId: env, name: 'Zz no members' },
    );
    const PAGE = `query($env: ID, $after: String) {
      organizations(environmentId: $env, first: 100, orderBy: { field: NAME, direction: DESC }) {
        nodes { id memberships(first: 2, after: $after) { COUNT nodes { id } pageInfo { hasNextPage endCursor } } }
      }
    }`;
    const run = async (withCount: boolean, after?: string) => {
      await ws.client.data(`{ viewer { scopes } }`);
      server.sql.count = 0;
      const data = await ws.client.data(PAGE.replace('COUNT', withCount ? 'totalCount' : ''), { env, after });
      return { count: server.sql.count, organizations: data.organizations.nodes as any[] };
    };
    const counted = await run(true);
    const uncounted = await run(false);
    // totalCount of a first page costs no statement of its own.
    expect(counted.count).toBe(uncounted.count);
    const [zero, ...others] = counted.organizations;
    expect(zero.id).toBe(empty.organization.id);
    expect(zero.memberships).toMatchObject({ totalCount: 0, nodes: [], pageInfo: { hasNextPage: false } });
    for (const org of others) {
      expect(org.memberships.totalCount).toBe(MEMBERS_PER_ORGANIZATION);
      expect(org.memberships.nodes).toHaveLength(2);
      expect(org.memberships.pageInfo.hasNextPage).toBe(true);
    }
    // After a cursor the page holds fewer rows, and totalCount still counts them all.
    const next = await run(true, others[0].memberships.pageInfo.endCursor);
    const continued = next.organizations.find((org) => org.id === others[0].id);
    expect(continued.memberships.totalCount).toBe(MEMBERS_PER_ORGANIZATION);
    expect(continued.memberships.nodes).toHaveLength(1);
    expect(next.count).toBe(counted.count + 1);
  });

  it('read members’ users and roles’ permissions in the statements that read memberships and roles', async () => {
    const statementsOf = async (query: string) => {
      await ws.client.data(`{ viewer { scopes } }`);
      server.sql.count = 0;
      const result = await ws.client.request(query, { env });
      expect(result.errors).toBeUndefined();
      return { count: server.sql.count, data: result.data as any };
    };
    const bare = await statementsOf(`query($env: ID) { organizations(environmentId: $env, first: 20) { nodes { memberships(first: 5) { nodes { roles { key } } } } } }`);
    const full = await statementsOf(
      `query($env: ID) { organizations(environmentId: $env, first: 20) { nodes { memberships(first: 5) { nodes { user { email } roles { key permissions { key } } } } } } }`,
    );
    // Through fragments, and through edges, the same.
    const fragments = await statementsOf(
      `query($env: ID) { organizations(environmentId: $env, first: 20) { nodes { memberships(first: 5) { edges { node { ...M } } } } } }
       fragment M on Membership { ... on Membership { user { ...U } } roles { ...R } }
       fragment U on User { email }
       fragment R on Role { key permissions { key } }`,
    );
    expect(full.count).toBe(bare.count);
    expect(fragments.count).toBe(bare.count);
    const members = full.data.organizations.nodes.flatMap((org: any) => org.memberships.nodes);
    expect(members.length).toBeGreaterThan(0);
    for (const member of members) {
      expect(member.user.email).toMatch(/^u\d@org\d+\.example$/);
      const expected = member.user.email.startsWith('u0@') ? { admin: [], billing: ['invoices:read', 'invoices:write'] } : { member: ['reports:read'] };
      expect(Object.fromEntries(member.roles.map((role: any) => [role.key, role.permissions.map((p: any) => p.key)]))).toEqual(expected);
    }
    const viaFragments = fragments.data.organizations.nodes.flatMap((org: any) => org.memberships.edges.map((edge: any) => edge.node));
    expect(viaFragments).toEqual(members);
  });

  it('count a top-level list with its first page only when the query reads totalCount', async () => {
    const run = async (selection: string) => {
      await ws.client.data(`{ viewer { scopes } }`);
      server.sql.count = 0;
      server.sql.statements.length = 0;
      const data = await ws.client.data(`query($env: ID) { organizations(environmentId: $env, first: 5) { ${selection} } }`, { env });
      return { count: server.sql.count, statements: [...server.sql.statements], data: data.organizations };
    };
    const counted = await run('totalCount nodes { id }');
    const bare = await run('nodes { id }');
    expect(counted.count).toBe(bare.count);
    expect(counted.data.totalCount).toBeGreaterThanOrEqual(ORGANIZATIONS);
    // A page without totalCount stops at its LIMIT: no window count reads every matching row.
    expect(bare.statements.some((statement) => /count\(\*\) over \(\)/.test(statement))).toBe(false);
    expect(counted.statements.some((statement) => /count\(\*\) over \(\)/.test(statement))).toBe(true);
  });
});
