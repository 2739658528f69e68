import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oneError, type GraphQLClient, type UserErrors } from '../helpers/graphql.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

const MEMBERSHIP_FIELDS = 'id status userId organizationId createdAt updatedAt roles { key builtIn } user { id email } organization { id name }';
const USER_ERRORS = 'userErrors { field code message }';

const CREATE = `mutation($input: CreateMembershipInput!) {
  createMembership(input: $input) { membership { ${MEMBERSHIP_FIELDS} } ${USER_ERRORS} }
}`;
const UPDATE = `mutation($input: UpdateMembershipInput!) {
  updateMembership(input: $input) { membership { ${MEMBERSHIP_FIELDS} } ${USER_ERRORS} }
}`;
const DELETE = `mutation($id: ID!) { deleteMembership(input: { id: $id }) { deletedId ${USER_ERRORS} } }`;
const ROLE_CHANGE = (name: 'addMembershipRoles' | 'removeMembershipRoles' | 'setMembershipRoles') => `
  mutation($input: MembershipRolesInput!) { ${name}(input: $input) { membership { id updatedAt roles { key } } ${USER_ERRORS} } }`;
const MEMBERSHIP = `query($id: ID!) { node(id: $id) { ... on Membership { ${MEMBERSHIP_FIELDS} } } }`;
const USER_MEMBERSHIPS = `query($id: ID, $first: Int, $after: String) {
  user(id: $id) {
    memberships(first: $first, after: $after) {
      totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { id } }
      nodes { id createdAt organization { id name } }
    }
  }
}`;
const ORG_MEMBERSHIPS = `query($id: ID, $first: Int, $after: String) {
  organization(id: $id) {
    memberships(first: $first, after: $after) {
      totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      nodes { id createdAt user { id email } roles { key } }
    }
  }
}`;


let server: TestServer;
let ws: TestWorkspace;
let dev: string;
let prod: string;
let counter = 0;

async function newOrg(env = dev, client: GraphQLClient = ws.client, name?: string): Promise<string> {
  counter += 1;
  const result = await client.data(
    `mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } userErrors { code } } }`,
    { input: { environmentId: env, name: name ?? `Org ${counter}` } },
  );
  expect(result.createOrganization.userErrors).toEqual([]);
  return result.createOrganization.organization.id;
}

async function newUser(env = dev, client: GraphQLClient = ws.client, email?: string): Promise<string> {
  counter += 1;
  const result = await client.data(
    `mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } userErrors { code } } }`,
    { input: { environmentId: env, email: email ?? `member${counter}@example.com` } },
  );
  expect(result.createUser.userErrors).toEqual([]);
  return result.createUser.user.id;
}

async function createMembership(input: Record<string, unknown>, client: GraphQLClient = ws.client) {
  return (await client.data(CREATE, { input })).createMembership as { membership: any; userErrors: UserErrors };
}

async function mustCreateMembership(input: Record<string, unknown>, client: GraphQLClient = ws.client) {
  const payload = await createMembership(input, client);
  expect(payload.userErrors).toEqual([]);
  return payload.membership;
}

async function changeRoles(name: 'addMembershipRoles' | 'removeMembershipRoles' | 'setMembershipRoles', membershipId: string, roleKeys: string[]) {
  return (await ws.client.data(ROLE_CHANGE(name), { input: { membershipId, roleKeys } }))[name] as { membership: any; userErrors: UserErrors };
}

async function rolesOf(membershipId: string): Promise<string[]> {
  return (await ws.client.data(MEMBERSHIP, { id: membershipId })).node.roles.map((r: { key: string }) => r.key);
}

const keys = (roles: { key: string }[]) => roles.map((r) => r.key);

beforeAll(async () => {
  server = await startServer();
  ws = await server.workspace('Memberships');
  dev = ws.development.id;
  prod = ws.production.id;
  const role = await ws.client.data(
    `mutation($input: CreateRoleInput!) { createRole(input: $input) { userErrors { code } } }`,
    { input: { environmentId: dev, key: 'billing', name: 'Billing' } },
  );
  expect(role.createRole.userErrors).toEqual([]);
});
afterAll(() => server.close());

describe('create', () => {
  it('grants the member role by default and is active', async () => {
    const [orgId, userId] = [await newOrg(), await newUser()];
    const membership = await mustCreateMembership({ organizationId: orgId, userId });
    expect(membership.id).toMatch(/^mem_/);
    expect(membership).toMatchObject({
      status: 'ACTIVE',
      userId,
      organizationId: orgId,
      roles: [{ key: 'member', builtIn: true }],
      user: { id: userId },
      organization: { id: orgId },
    });
    expect(await rolesOf(membership.id)).toEqual(['member']);
  });

  it('takes explicit roles and status; an empty role list grants nothing', async () => {
    const orgId = await newOrg();
    const withRoles = await mustCreateMembership({ organizationId: orgId, userId: await newUser(), roleKeys: ['billing', 'admin', 'admin'], status: 'PENDING' });
    expect(withRoles.status).toBe('PENDING');
    expect(keys(withRoles.roles)).toEqual(['admin', 'billing']);
    const none = await mustCreateMembership({ organizationId: orgId, userId: await newUser(), roleKeys: [] });
    expect(none.roles).toEqual([]);
  });

  it('refuses an unknown role key and creates nothing', async () => {
    const [orgId, userId] = [await newOrg(), await newUser()];
    const result = await createMembership({ organizationId: orgId, userId, roleKeys: ['member', 'ghost'] });
    expect(result.membership).toBeNull();
    expect(result.userErrors).toEqual(oneError('role.unknown', ['input', 'roleKeys']));
    expect(result.userErrors[0].message).toContain('ghost');
    // A custom role of another environment is unknown here too.
    const prodOrg = await newOrg(prod);
    const prodUser = await newUser(prod);
    const cross = await createMembership({ organizationId: prodOrg, userId: prodUser, roleKeys: ['billing'] });
    expect(cross.userErrors).toEqual(oneError('role.unknown', ['input', 'roleKeys']));
    const { user } = await ws.client.data(USER_MEMBERSHIPS, { id: userId });
    expect(user.memberships.totalCount).toBe(0);
  });

  it('refuses a user and an organization of different environments', async () => {
    const devOrg = await newOrg(dev);
    const prodUser = await newUser(prod);
    const result = await createMembership({ organizationId: devOrg, userId: prodUser });
    expect(result.membership).toBeNull();
    expect(result.userErrors).toEqual(oneError('membership.environment_mismatch', ['input', 'userId']));
    const reverse = await createMembership({ organizationId: await newOrg(prod), userId: await newUser(dev) });
    expect(reverse.userErrors).toEqual(oneError('membership.environment_mismatch', ['input', 'userId']));
  });

  it('refuses a second membership of the same user in the same organization', async () => {
    const [orgId, userId] = [await newOrg(), await newUser()];
    await mustCreateMembership({ organizationId: orgId, userId });
    const dup = await createMembership({ organizationId: orgId, userId, roleKeys: ['admin'] });
    expect(dup.membership).toBeNull();
    expect(dup.userErrors).toEqual(oneError('membership.already_exists', ['input', 'userId']));
    const { organization } = await ws.client.data(ORG_MEMBERSHIPS, { id: orgId });
    expect(organization.memberships.totalCount).toBe(1);
    expect(keys(organization.memberships.nodes[0].roles)).toEqual(['member']);
  });

  it('reports a missing user or organization, or one of another workspace, as not found', async () => {
    const orgId = await newOrg();
    const missingUser = await ws.client.request(CREATE, { input: { organizationId: orgId, userId: 'usr_00000000000000000000000000' } });
    expect(missingUser.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', reason: 'user.not_found' });

    const other = await server.workspace('Other memberships tenant');
    const foreignUser = await newUser(other.development.id, other.client);
    const foreign = await ws.client.request(CREATE, { input: { organizationId: orgId, userId: foreignUser } });
    expect(foreign.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', reason: 'user.not_found' });
  });
});

describe('roles of a membership', () => {
  it('adds roles; adding a role already held is a no-op', async () => {
    const membership = await mustCreateMembership({ organizationId: await newOrg(), userId: await newUser() });
    const added = await changeRoles('addMembershipRoles', membership.id, ['admin']);
    expect(added.userErrors).toEqual([]);
    expect(keys(added.membership.roles)).toEqual(['admin', 'member']);

    const again = await changeRoles('addMembershipRoles', membership.id, ['admin', 'member']);
    expect(again.userErrors).toEqual([]);
    expect(keys(again.membership.roles)).toEqual(['admin', 'member']);

    const mixed = await changeRoles('addMembershipRoles', membership.id, ['admin', 'billing']);
    expect(mixed.userErrors).toEqual([]);
    expect(keys(mixed.membership.roles)).toEqual(['admin', 'billing', 'member']);
    expect(await rolesOf(membership.id)).toEqual(['admin', 'billing', 'member']);
  });

  it('removes roles', async () => {
    const membership = await mustCreateMembership({ organizationId: await newOrg(), userId: await newUser(), roleKeys: ['admin', 'member', 'billing'] });
    const removed = await changeRoles('removeMembershipRoles', membership.id, ['member', 'billing']);
    expect(removed.userErrors).toEqual([]);
    expect(keys(removed.membership.roles)).toEqual(['admin']);
    // Removing a role not held changes nothing.
    const notHeld = await changeRoles('removeMembershipRoles', membership.id, ['member']);
    expect(notHeld.userErrors).toEqual([]);
    expect(keys(notHeld.membership.roles)).toEqual(['admin']);
    const last = await changeRoles('removeMembershipRoles', membership.id, ['admin']);
    expect(last.membership.roles).toEqual([]);
    expect(await rolesOf(membership.id)).toEqual([]);
  });

  it('sets roles, replacing the previous ones', async () => {
    const membership = await mustCreateMembership({ organizationId: await newOrg(), userId: await newUser(), roleKeys: ['admin', 'member'] });
    const set = await changeRoles('setMembershipRoles', membership.id, ['billing']);
    expect(set.userErrors).toEqual([]);
    expect(keys(set.membership.roles)).toEqual(['billing']);
    const same = await changeRoles('setMembershipRoles', membership.id, ['billing', 'billing', 'member']);
    expect(keys(same.membership.roles)).toEqual(['billing', 'member']);
    const cleared = await changeRoles('setMembershipRoles', membership.id, []);
    expect(cleared.userErrors).toEqual([]);
    expect(cleared.membership.roles).toEqual([]);
    expect(await rolesOf(membership.id)).toEqual([]);
  });

  it('refuses unknown role keys and empty add/remove lists, changing nothing', async () => {
    const membership = await mustCreateMembership({ organizationId: await newOrg(), userId: await newUser(), roleKeys: ['member'] });
    for (const name of ['addMembershipRoles', 'removeMembershipRoles', 'setMembershipRoles'] as const) {
      const result = await changeRoles(name, membership.id, ['admin', 'nonexistent']);
      expect(result.membership, name).toBeNull();
      expect(result.userErrors, name).toEqual(oneError('role.unknown', ['input', 'roleKeys']));
    }
    for (const name of ['addMembershipRoles', 'removeMembershipRoles'] as const) {
      const result = await changeRoles(name, membership.id, []);
      expect(result.userErrors, name).toEqual(oneError('validation.required', ['input', 'roleKeys']));
    }
    expect(await rolesOf(membership.id)).toEqual(['member']);
  });

  it('loses a custom role when the role is deleted', async () => {
    const role = await ws.client.data(
      `mutation($input: CreateRoleInput!) { createRole(input: $input) { role { id } userErrors { code } } }`,
      { input: { environmentId: dev, key: 'short-lived', name: 'Short lived' } },
    );
    const membership = await mustCreateMembership({ organizationId: await newOrg(), userId: await newUser(), roleKeys: ['member', 'short-lived'] });
    expect(keys(membership.roles)).toEqual(['member', 'short-lived']);
    const deleted = await ws.client.data(`mutation($id: ID!) { deleteRole(input: { id: $id }) { deletedId userErrors { code } } }`, {
      id: role.createRole.role.id,
    });
    expect(deleted.deleteRole.userErrors).toEqual([]);
    expect(await rolesOf(membership.id)).toEqual(['member']);
  });
});

describe('update and delete', () => {
  it('changes the status and keeps the roles', async () => {
    const membership = await mustCreateMembership({ organizationId: await newOrg(), userId: await newUser(), roleKeys: ['admin'] });
    for (const status of ['INACTIVE', 'PENDING', 'ACTIVE']) {
      const updated = (await ws.client.data(UPDATE, { input: { id: membership.id, status } })).updateMembership;
      expect(updated.userErrors).toEqual([]);
      expect(updated.membership).toMatchObject({ id: membership.id, status, roles: [{ key: 'admin' }] });
      expect((await ws.client.data(MEMBERSHIP, { id: membership.id })).node.status).toBe(status);
    }
    const missing = await ws.client.request(UPDATE, { input: { id: 'mem_00000000000000000000000000', status: 'ACTIVE' } });
    expect(missing.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', reason: 'membership.not_found' });
  });

  it('deletes a membership; the user can join again', async () => {
    const [orgId, userId] = [await newOrg(), await newUser()];
    const membership = await mustCreateMembership({ organizationId: orgId, userId, roleKeys: ['admin'] });
    const deleted = (await ws.client.data(DELETE, { id: membership.id })).deleteMembership;
    expect(deleted).toEqual({ deletedId: membership.id, userErrors: [] });

    const node = await ws.client.request(MEMBERSHIP, { id: membership.id });
    expect(node.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', reason: 'membership.not_found' });
    expect((await ws.client.data(USER_MEMBERSHIPS, { id: userId })).user.memberships.totalCount).toBe(0);
    expect((await ws.client.data(ORG_MEMBERSHIPS, { id: orgId })).organization.memberships.totalCount).toBe(0);

    const again = await ws.client.request(DELETE, { id: membership.id });
    expect(again.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');

    const rejoined = await mustCreateMembership({ organizationId: orgId, userId });
    expect(rejoined.id).not.toBe(membership.id);
    expect(keys(rejoined.roles)).toEqual(['member']);
  });
});

describe('membership connections', () => {
  let cws: TestWorkspace;
  let env: string;
  let hubUser: string;
  let hubOrg: string;
  const orgNames: string[] = [];

  beforeAll(async () => {
    cws = await server.workspace('Membership connections');
    env = cws.development.id;
    hubUser = await newUser(env, cws.client, 'hub@example.com');
    hubOrg = await newOrg(env, cws.client, 'Hub Org');
    // The hub user joins 7 organizations; the hub organization gets 7 members (one is the hub user).
    for (let i = 0; i < 7; i += 1) {
      const name = `Joined ${i}`;
      orgNames.push(name);
      const orgId = await newOrg(env, cws.client, name);
      await mustCreateMembership({ organizationId: orgId, userId: hubUser }, cws.client);
    }
    await mustCreateMembership({ organizationId: hubOrg, userId: hubUser, roleKeys: ['admin'] }, cws.client);
    for (let i = 0; i < 6; i += 1) {
      const userId = await newUser(env, cws.client, `hub-member-${i}@example.com`);
      await mustCreateMembership({ organizationId: hubOrg, userId }, cws.client);
    }
    // Noise: memberships of other users and organizations must not appear.
    const loneOrg = await newOrg(env, cws.client, 'Lone');
    await mustCreateMembership({ organizationId: loneOrg, userId: await newUser(env, cws.client, 'lone@example.com') }, cws.client);
  });

  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const oldestFirst = (nodes: { id: string; createdAt: string }[]) =>
    [...nodes].sort((a, b) => new Date(a.createdAt).getTime() - new Date(b.createdAt).getTime() || cmp(a.id, b.id)).map((n) => n.id);

  it('User.memberships lists every membership of the user, oldest first, with totalCount', async () => {
    const { user } = await cws.client.data(USER_MEMBERSHIPS, { id: hubUser, first: 100 });
    expect(user.memberships.totalCount).toBe(8);
    expect(user.memberships.nodes.map((n: any) => n.organization.name)).toEqual([...orgNames, 'Hub Org']);
    expect(user.memberships.nodes.map((n: any) => n.id)).toEqual(oldestFirst(user.memberships.nodes));
    expect(user.memberships.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: false });

    const byDefault = (await cws.client.data(USER_MEMBERSHIPS, { id: hubUser })).user.memberships;
    expect(byDefault.nodes).toHaveLength(8);
  });

  it('User.memberships pages forward with first/after, visiting each membership once', async () => {
    const all = (await cws.client.data(USER_MEMBERSHIPS, { id: hubUser, first: 100 })).user.memberships.nodes.map((n: any) => n.id);
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const page: any = (await cws.client.data(USER_MEMBERSHIPS, { id: hubUser, first: 3, after })).user.memberships;
      pages += 1;
      expect(page.totalCount).toBe(8);
      expect(page.pageInfo.hasPreviousPage).toBe(after !== null);
      expect(page.edges.map((e: any) => e.node.id)).toEqual(page.nodes.map((n: any) => n.id));
      expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)?.cursor ?? null);
      seen.push(...page.nodes.map((n: any) => n.id));
      if (!page.pageInfo.hasNextPage) break;
      expect(page.nodes).toHaveLength(3);
      after = page.pageInfo.endCursor;
      expect(pages).toBeLessThan(6);
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(all);
  });

  it('Organization.memberships lists and pages the members, with totalCount', async () => {
    const all = (await cws.client.data(ORG_MEMBERSHIPS, { id: hubOrg, first: 100 })).organization.memberships;
    expect(all.totalCount).toBe(7);
    expect(all.nodes.map((n: any) => n.user.email)).toEqual([
      'hub@example.com',
      ...Array.from({ length: 6 }, (_, i) => `hub-member-${i}@example.com`),
    ]);
    expect(all.nodes.map((n: any) => n.id)).toEqual(oldestFirst(all.nodes));
    expect(keys(all.nodes[0].roles)).toEqual(['admin']);
    expect(keys(all.nodes[1].roles)).toEqual(['member']);

    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: any = (await cws.client.data(ORG_MEMBERSHIPS, { id: hubOrg, first: 2, after })).organization.memberships;
      expect(page.totalCount).toBe(7);
      seen.push(...page.nodes.map((n: any) => n.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(all.nodes.map((n: any) => n.id));

    const firstFive = (await cws.client.data(ORG_MEMBERSHIPS, { id: hubOrg, first: 5 })).organization.memberships;
    expect(firstFive.nodes.map((n: any) => n.id)).toEqual(all.nodes.slice(0, 5).map((n: any) => n.id));
    expect(firstFive.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const zero = (await cws.client.data(ORG_MEMBERSHIPS, { id: hubOrg, first: 0 })).organization.memberships;
    expect(zero).toMatchObject({ totalCount: 7, nodes: [], pageInfo: { hasNextPage: true } });
  });

  it('rejects an invalid cursor and an oversized page', async () => {
    const badCursor = await cws.client.request(USER_MEMBERSHIPS, { id: hubUser, first: 2, after: 'garbage' });
    expect(badCursor.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'pagination.invalid_cursor' });
    const tooLarge = await cws.client.request(ORG_MEMBERSHIPS, { id: hubOrg, first: 101 });
    expect(tooLarge.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'pagination.page_too_large' });
  });
});
