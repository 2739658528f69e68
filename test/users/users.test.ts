import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oneError, type GraphQLClient, type UserErrors } from '../helpers/graphql.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

const USER_FIELDS = 'id email emailVerified givenName familyName externalId status customAttributes environmentId createdAt updatedAt';
const USER_ERRORS = 'userErrors { field code message }';

const CREATE_USER = `mutation($input: CreateUserInput!) { createUser(input: $input) { user { ${USER_FIELDS} } ${USER_ERRORS} } }`;
const UPDATE_USER = `mutation($input: UpdateUserInput!) { updateUser(input: $input) { user { ${USER_FIELDS} } ${USER_ERRORS} } }`;
const DELETE_USER = `mutation($id: ID!) { deleteUser(input: { id: $id }) { deletedId ${USER_ERRORS} } }`;
const SUSPEND = `mutation($id: ID!) { suspendUser(input: { id: $id }) { user { id status } ${USER_ERRORS} } }`;
const REACTIVATE = `mutation($id: ID!) { reactivateUser(input: { id: $id }) { user { id status } ${USER_ERRORS} } }`;
const USER_BY_ID = `query($id: ID) { user(id: $id) { ${USER_FIELDS} } }`;
const USER_BY_EMAIL = `query($email: String, $env: ID) { user(email: $email, environmentId: $env) { id email } }`;
const USERS = `query($env: ID, $filter: UserFilter, $first: Int, $after: String) {
  users(environmentId: $env, filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { id email status }
  }
}`;
const CREATE_DEFINITION = `mutation($input: CreateCustomAttributeDefinitionInput!) {
  createCustomAttributeDefinition(input: $input) { customAttributeDefinition { id key type required description } ${USER_ERRORS} }
}`;
const UPDATE_DEFINITION = `mutation($input: UpdateCustomAttributeDefinitionInput!) {
  updateCustomAttributeDefinition(input: $input) { customAttributeDefinition { id key type required description } ${USER_ERRORS} }
}`;
const DELETE_DEFINITION = `mutation($id: ID!) { deleteCustomAttributeDefinition(input: { id: $id }) { deletedId ${USER_ERRORS} } }`;
const DEFINITIONS = `query($env: ID) { customAttributeDefinitions(environmentId: $env) { id key type required description } }`;


let server: TestServer;
let ws: TestWorkspace;
let dev: string;
let prod: string;

async function createUser(input: Record<string, unknown>, client: GraphQLClient = ws.client, env = dev) {
  const result = await client.data(CREATE_USER, { input: { environmentId: env, ...input } });
  return result.createUser as { user: any; userErrors: UserErrors };
}

async function mustCreateUser(input: Record<string, unknown>, client: GraphQLClient = ws.client, env = dev) {
  const payload = await createUser(input, client, env);
  expect(payload.userErrors).toEqual([]);
  return payload.user;
}

async function updateUser(input: Record<string, unknown>, client: GraphQLClient = ws.client) {
  return (await client.data(UPDATE_USER, { input })).updateUser as { user: any; userErrors: UserErrors };
}

async function defineAttribute(client: GraphQLClient, env: string, input: Record<string, unknown>) {
  const result = await client.data(CREATE_DEFINITION, { input: { environmentId: env, ...input } });
  return result.createCustomAttributeDefinition as { customAttributeDefinition: any; userErrors: UserErrors };
}


beforeAll(async () => {
  server = await startServer();
  ws = await server.workspace('Users');
  dev = ws.development.id;
  prod = ws.production.id;
});
afterAll(() => server.close());

describe('email', () => {
  it('normalises the email to trimmed lower case', async () => {
    const user = await mustCreateUser({ email: '  Jane.DOE@Example.COM ', givenName: ' Jane ', familyName: 'Doe', emailVerified: true });
    expect(user).toMatchObject({
      email: 'jane.doe@example.com',
      givenName: 'Jane',
      familyName: 'Doe',
      emailVerified: true,
      status: 'ACTIVE',
      externalId: null,
      customAttributes: {},
      environmentId: dev,
    });
    expect(user.id).toMatch(/^usr_[0-9a-z]{26}$/);
    const defaults = await mustCreateUser({ email: 'defaults@example.com' });
    expect(defaults).toMatchObject({ emailVerified: false, givenName: null, familyName: null });

    const found = await ws.client.data(USER_BY_EMAIL, { email: 'JANE.doe@EXAMPLE.com ', env: dev });
    expect(found.user).toEqual({ id: user.id, email: 'jane.doe@example.com' });
    expect((await ws.client.data(USER_BY_EMAIL, { email: 'jane.doe@example.com', env: prod })).user).toBeNull();
  });

  it('treats emails as unique per environment regardless of case', async () => {
    const first = await mustCreateUser({ email: 'unique@example.com' });
    const dup = await createUser({ email: 'UNIQUE@example.COM' });
    expect(dup.user).toBeNull();
    expect(dup.userErrors).toEqual(oneError('user.email_taken', ['input', 'email']));

    // The other environment is separate.
    const inProd = await createUser({ email: 'Unique@Example.com' }, ws.client, prod);
    expect(inProd.userErrors).toEqual([]);
    expect(inProd.user.email).toBe('unique@example.com');

    // Changing another user's email to a taken one (in another case) is refused and changes nothing.
    const other = await mustCreateUser({ email: 'other@example.com' });
    const update = await updateUser({ id: other.id, email: 'Unique@EXAMPLE.com', givenName: 'Changed' });
    expect(update.user).toBeNull();
    expect(update.userErrors).toEqual(oneError('user.email_taken', ['input', 'email']));
    const unchanged = (await ws.client.data(USER_BY_ID, { id: other.id })).user;
    expect(unchanged).toMatchObject({ email: 'other@example.com', givenName: null });

    // A user may be updated to its own email in another case.
    const self = await updateUser({ id: first.id, email: 'UNIQUE@EXAMPLE.COM' });
    expect(self.userErrors).toEqual([]);
    expect(self.user.email).toBe('unique@example.com');
  });

  it('rejects invalid emails with validation.email', async () => {
    for (const email of ['not-an-email', 'a@b', 'two words@example.com', '@example.com', 'user@', '', `${'a'.repeat(320)}@example.com`]) {
      const result = await createUser({ email });
      expect(result.user, email).toBeNull();
      expect(result.userErrors, email).toEqual(oneError('validation.email', ['input', 'email']));
    }
    const user = await mustCreateUser({ email: 'valid@example.com' });
    const update = await updateUser({ id: user.id, email: 'broken' });
    expect(update.userErrors).toEqual(oneError('validation.email', ['input', 'email']));
  });

  it('rejects a duplicate external id and clears an external id with null', async () => {
    const a = await mustCreateUser({ email: 'ext-a@example.com', externalId: 'ext-user-1' });
    const b = await createUser({ email: 'ext-b@example.com', externalId: 'ext-user-1' });
    expect(b.userErrors).toEqual(oneError('user.external_id_taken', ['input', 'externalId']));
    const cleared = await updateUser({ id: a.id, externalId: null, familyName: 'Kept' });
    expect(cleared.userErrors).toEqual([]);
    expect(cleared.user).toMatchObject({ externalId: null, familyName: 'Kept', email: 'ext-a@example.com' });
  });
});

describe('custom attributes', () => {
  let cws: TestWorkspace;
  let env: string;
  const definitions: Record<string, string> = {};

  beforeAll(async () => {
    cws = await server.workspace('Custom attributes');
    env = cws.development.id;
    for (const [key, type] of [
      ['department', 'STRING'],
      ['seats', 'NUMBER'],
      ['vip', 'BOOLEAN'],
      ['hired_at', 'DATETIME'],
    ] as const) {
      const created = await defineAttribute(cws.client, env, { key, type, description: `The ${key}` });
      expect(created.userErrors).toEqual([]);
      expect(created.customAttributeDefinition).toMatchObject({ key, type, required: false, description: `The ${key}` });
      expect(created.customAttributeDefinition.id).toMatch(/^cad_/);
      definitions[key] = created.customAttributeDefinition.id;
    }
  });

  it('lists the definitions of an environment by key', async () => {
    const { customAttributeDefinitions } = await cws.client.data(DEFINITIONS, { env });
    expect(customAttributeDefinitions.map((d: any) => [d.key, d.type])).toEqual([
      ['department', 'STRING'],
      ['hired_at', 'DATETIME'],
      ['seats', 'NUMBER'],
      ['vip', 'BOOLEAN'],
    ]);
    expect((await cws.client.data(DEFINITIONS, { env: cws.production.id })).customAttributeDefinitions).toEqual([]);
  });

  it('refuses duplicate and malformed definition keys', async () => {
    const dup = await defineAttribute(cws.client, env, { key: 'department', type: 'NUMBER' });
    expect(dup.userErrors).toEqual(oneError('custom_attribute.key_taken', ['input', 'key']));
    const bad = await defineAttribute(cws.client, env, { key: 'Has Spaces', type: 'STRING' });
    expect(bad.userErrors).toEqual(oneError('validation.key', ['input', 'key']));
  });

  it('stores values of each type, normalising DATETIME to UTC', async () => {
    const user = await mustCreateUser(
      {
        email: 'typed@example.com',
        customAttributes: { department: 'Sales', seats: 12.5, vip: true, hired_at: '2026-03-01T10:00:00+02:00' },
      },
      cws.client,
      env,
    );
    expect(user.customAttributes).toEqual({ department: 'Sales', seats: 12.5, vip: true, hired_at: '2026-03-01T08:00:00.000Z' });
    const fetched = (await cws.client.data(USER_BY_ID, { id: user.id })).user;
    expect(fetched.customAttributes).toEqual(user.customAttributes);

    for (const [input, stored] of [
      ['2026-03-01T08:00Z', '2026-03-01T08:00:00.000Z'],
      ['2026-12-31T23:30:00.123456-05:30', '2027-01-01T05:00:00.123Z'],
      ['2026-06-15T00:00:00.5Z', '2026-06-15T00:00:00.500Z'],
    ]) {
      const updated = await updateUser({ id: user.id, customAttributes: { hired_at: input } }, cws.client);
      expect(updated.userErrors, input).toEqual([]);
      expect(updated.user.customAttributes.hired_at, input).toBe(stored);
    }
    // Falsy values are values, not absences.
    const falsy = await updateUser({ id: user.id, customAttributes: { vip: false, seats: 0, department: '' } }, cws.client);
    expect(falsy.userErrors).toEqual([]);
    expect(falsy.user.customAttributes).toMatchObject({ vip: false, seats: 0, department: '' });
  });

  it('rejects values of the wrong type with user.invalid_attribute', async () => {
    const cases: [string, unknown][] = [
      ['department', 5],
      ['department', true],
      ['department', 'x'.repeat(2049)],
      ['seats', '5'],
      ['seats', true],
      ['vip', 'true'],
      ['vip', 1],
      ['hired_at', '2026-03-01'],
      ['hired_at', '2026-03-01T10:00:00'],
      ['hired_at', 'yesterday'],
      ['hired_at', 1767225600000],
      ['hired_at', '2026-13-45T10:00:00Z'],
      ['department', { nested: 'object' }],
      ['seats', [1, 2]],
    ];
    for (const [key, value] of cases) {
      const result = await createUser({ email: `wrong-${key}@example.com`, customAttributes: { [key]: value } }, cws.client, env);
      expect(result.user, `${key}=${JSON.stringify(value)}`).toBeNull();
      expect(result.userErrors, `${key}=${JSON.stringify(value)}`).toEqual(
        oneError('user.invalid_attribute', ['input', 'customAttributes', key]),
      );
    }
    const user = await mustCreateUser({ email: 'wrong-update@example.com', customAttributes: { seats: 3 } }, cws.client, env);
    const update = await updateUser({ id: user.id, customAttributes: { seats: 'three' } }, cws.client);
    expect(update.userErrors).toEqual(oneError('user.invalid_attribute', ['input', 'customAttributes', 'seats']));
    expect((await cws.client.data(USER_BY_ID, { id: user.id })).user.customAttributes).toEqual({ seats: 3 });
  });

  it('rejects unknown attributes with user.unknown_attribute', async () => {
    const created = await createUser({ email: 'unknown@example.com', customAttributes: { favourite_colour: 'blue' } }, cws.client, env);
    expect(created.user).toBeNull();
    expect(created.userErrors).toEqual(oneError('user.unknown_attribute', ['input', 'customAttributes', 'favourite_colour']));
    const user = await mustCreateUser({ email: 'known@example.com' }, cws.client, env);
    const update = await updateUser({ id: user.id, customAttributes: { department: 'R&D', nope: 1 } }, cws.client);
    expect(update.userErrors).toEqual(oneError('user.unknown_attribute', ['input', 'customAttributes', 'nope']));
    expect((await cws.client.data(USER_BY_ID, { id: user.id })).user.customAttributes).toEqual({});
    // Attributes of another environment are unknown here.
    const prodUser = await createUser({ email: 'known@example.com', customAttributes: { department: 'R&D' } }, cws.client, cws.production.id);
    expect(prodUser.userErrors).toEqual(oneError('user.unknown_attribute', ['input', 'customAttributes', 'department']));
  });

  it('merges changes on update and removes an attribute given null', async () => {
    const user = await mustCreateUser(
      { email: 'merge@example.com', customAttributes: { department: 'Ops', seats: 4, vip: true } },
      cws.client,
      env,
    );
    const merged = await updateUser({ id: user.id, customAttributes: { seats: 5 } }, cws.client);
    expect(merged.userErrors).toEqual([]);
    expect(merged.user.customAttributes).toEqual({ department: 'Ops', seats: 5, vip: true });

    const removed = await updateUser({ id: user.id, customAttributes: { vip: null, department: null } }, cws.client);
    expect(removed.userErrors).toEqual([]);
    expect(removed.user.customAttributes).toEqual({ seats: 5 });
    expect((await cws.client.data(USER_BY_ID, { id: user.id })).user.customAttributes).toEqual({ seats: 5 });

    // Removing an attribute the user does not have is fine.
    const noop = await updateUser({ id: user.id, customAttributes: { hired_at: null } }, cws.client);
    expect(noop.userErrors).toEqual([]);
    expect(noop.user.customAttributes).toEqual({ seats: 5 });

    // An update without customAttributes leaves them alone.
    const renamed = await updateUser({ id: user.id, givenName: 'Merge' }, cws.client);
    expect(renamed.user.customAttributes).toEqual({ seats: 5 });
  });

  it('deleting a definition drops its values from every user of the environment only', async () => {
    const key = 'team';
    const devDefinition = await defineAttribute(cws.client, env, { key, type: 'STRING' });
    const prodDefinition = await defineAttribute(cws.client, cws.production.id, { key, type: 'STRING' });
    expect(devDefinition.userErrors).toEqual([]);
    expect(prodDefinition.userErrors).toEqual([]);

    const a = await mustCreateUser({ email: 'team-a@example.com', customAttributes: { team: 'red', seats: 1 } }, cws.client, env);
    const b = await mustCreateUser({ email: 'team-b@example.com', customAttributes: { team: 'blue' } }, cws.client, env);
    const p = await mustCreateUser({ email: 'team-p@example.com', customAttributes: { team: 'green' } }, cws.client, cws.production.id);

    const deleted = (await cws.client.data(DELETE_DEFINITION, { id: devDefinition.customAttributeDefinition.id }))
      .deleteCustomAttributeDefinition;
    expect(deleted).toEqual({ deletedId: devDefinition.customAttributeDefinition.id, userErrors: [] });

    expect((await cws.client.data(USER_BY_ID, { id: a.id })).user.customAttributes).toEqual({ seats: 1 });
    expect((await cws.client.data(USER_BY_ID, { id: b.id })).user.customAttributes).toEqual({});
    expect((await cws.client.data(USER_BY_ID, { id: p.id })).user.customAttributes).toEqual({ team: 'green' });

    const keys = (await cws.client.data(DEFINITIONS, { env })).customAttributeDefinitions.map((d: any) => d.key);
    expect(keys).not.toContain('team');
    // The key is now unknown in this environment.
    const again = await updateUser({ id: a.id, customAttributes: { team: 'red' } }, cws.client);
    expect(again.userErrors).toEqual(oneError('user.unknown_attribute', ['input', 'customAttributes', 'team']));
  });

  it('enforces required attributes on create and on update', async () => {
    const rws = await server.workspace('Required attributes');
    const renv = rws.development.id;
    const legacy = await mustCreateUser({ email: 'legacy@example.com' }, rws.client, renv);

    const definition = await defineAttribute(rws.client, renv, { key: 'cost_center', type: 'STRING', required: true });
    expect(definition.customAttributeDefinition.required).toBe(true);
    await defineAttribute(rws.client, renv, { key: 'level', type: 'NUMBER' });

    const missing = await createUser({ email: 'missing@example.com', customAttributes: { level: 2 } }, rws.client, renv);
    expect(missing.user).toBeNull();
    expect(missing.userErrors).toEqual(oneError('user.missing_attribute', ['input', 'customAttributes', 'cost_center']));
    const missingNoAttributes = await createUser({ email: 'missing@example.com' }, rws.client, renv);
    expect(missingNoAttributes.userErrors).toEqual(oneError('user.missing_attribute', ['input', 'customAttributes', 'cost_center']));
    const nullValue = await createUser({ email: 'missing@example.com', customAttributes: { cost_center: null } }, rws.client, renv);
    expect(nullValue.userErrors).toEqual(oneError('user.missing_attribute', ['input', 'customAttributes', 'cost_center']));

    const ok = await mustCreateUser({ email: 'present@example.com', customAttributes: { cost_center: 'CC-1' } }, rws.client, renv);
    expect(ok.customAttributes).toEqual({ cost_center: 'CC-1' });

    const removeRequired = await updateUser({ id: ok.id, customAttributes: { cost_center: null } }, rws.client);
    expect(removeRequired.userErrors).toEqual(oneError('user.missing_attribute', ['input', 'customAttributes', 'cost_center']));
    expect((await rws.client.data(USER_BY_ID, { id: ok.id })).user.customAttributes).toEqual({ cost_center: 'CC-1' });

    // A user created before the attribute became required is not blocked from unrelated changes…
    const legacyRename = await updateUser({ id: legacy.id, givenName: 'Lee' }, rws.client);
    expect(legacyRename.userErrors).toEqual([]);
    const legacyUpdate = await updateUser({ id: legacy.id, customAttributes: { level: 1 } }, rws.client);
    expect(legacyUpdate.userErrors).toEqual([]);
    expect(legacyUpdate.user.customAttributes).toEqual({ level: 1 });
    // …and can be given the value later.
    const legacyFixed = await updateUser({ id: legacy.id, customAttributes: { level: 1, cost_center: 'CC-9' } }, rws.client);
    expect(legacyFixed.userErrors).toEqual([]);
    expect(legacyFixed.user.customAttributes).toEqual({ cost_center: 'CC-9', level: 1 });

    // Making it optional lifts the rule.
    const optional = (await rws.client.data(UPDATE_DEFINITION, { input: { id: definition.customAttributeDefinition.id, required: false } }))
      .updateCustomAttributeDefinition;
    expect(optional.customAttributeDefinition).toMatchObject({ key: 'cost_center', required: false });
    const now = await createUser({ email: 'missing@example.com' }, rws.client, renv);
    expect(now.userErrors).toEqual([]);
  });
});

describe('status', () => {
  it('suspends and reactivates a user; the same transition twice is refused', async () => {
    const user = await mustCreateUser({ email: 'status@example.com' });
    const suspended = (await ws.client.data(SUSPEND, { id: user.id })).suspendUser;
    expect(suspended).toEqual({ user: { id: user.id, status: 'SUSPENDED' }, userErrors: [] });
    expect((await ws.client.data(USER_BY_ID, { id: user.id })).user.status).toBe('SUSPENDED');

    const twice = (await ws.client.data(SUSPEND, { id: user.id })).suspendUser;
    expect(twice.user).toBeNull();
    expect(twice.userErrors).toEqual(oneError('user.status_unchanged', ['input', 'id']));

    const reactivated = (await ws.client.data(REACTIVATE, { id: user.id })).reactivateUser;
    expect(reactivated).toEqual({ user: { id: user.id, status: 'ACTIVE' }, userErrors: [] });
    const reactivateTwice = (await ws.client.data(REACTIVATE, { id: user.id })).reactivateUser;
    expect(reactivateTwice.userErrors).toEqual(oneError('user.status_unchanged', ['input', 'id']));

    const missing = await ws.client.request(SUSPEND, { id: 'usr_00000000000000000000000000' });
    expect(missing.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', reason: 'user.not_found' });
  });
});

describe('filters', () => {
  let fws: TestWorkspace;
  let env: string;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    fws = await server.workspace('User filters');
    env = fws.development.id;
    for (const email of ['ann@filter.example', 'bob@filter.example', 'cat@filter.example', 'dan@filter.example']) {
      ids[email.split('@')[0]] = (await mustCreateUser({ email }, fws.client, env)).id;
    }
    await fws.client.data(SUSPEND, { id: ids.bob });
    await fws.client.data(SUSPEND, { id: ids.dan });
    const org = await fws.client.data(
      `mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }`,
      { input: { environmentId: env, name: 'Filter Org' } },
    );
    ids.org = org.createOrganization.organization.id;
    for (const user of [ids.ann, ids.bob]) {
      const m = await fws.client.data(
        `mutation($input: CreateMembershipInput!) { createMembership(input: $input) { userErrors { code } } }`,
        { input: { organizationId: ids.org, userId: user } },
      );
      expect(m.createMembership.userErrors).toEqual([]);
    }
    // A user of the other environment with the same email must never show up.
    await mustCreateUser({ email: 'ann@filter.example' }, fws.client, fws.production.id);
  });

  const emails = (page: any) => page.nodes.map((n: any) => n.email).sort();

  it('filters by exact email, case-insensitively', async () => {
    const page = (await fws.client.data(USERS, { env, filter: { email: ' ANN@Filter.Example ' } })).users;
    expect(page.nodes.map((n: any) => n.id)).toEqual([ids.ann]);
    expect(page.totalCount).toBe(1);
    const partial = (await fws.client.data(USERS, { env, filter: { email: 'ann' } })).users;
    expect(partial.totalCount).toBe(0);
  });

  it('filters by status', async () => {
    const suspended = (await fws.client.data(USERS, { env, filter: { status: 'SUSPENDED' } })).users;
    expect(emails(suspended)).toEqual(['bob@filter.example', 'dan@filter.example']);
    expect(suspended.totalCount).toBe(2);
    const active = (await fws.client.data(USERS, { env, filter: { status: 'ACTIVE' } })).users;
    expect(emails(active)).toEqual(['ann@filter.example', 'cat@filter.example']);
    const deprovisioned = (await fws.client.data(USERS, { env, filter: { status: 'DEPROVISIONED' } })).users;
    expect(deprovisioned.totalCount).toBe(0);
  });

  it('filters by organization membership, alone and with other conditions', async () => {
    const members = (await fws.client.data(USERS, { env, filter: { organizationId: ids.org } })).users;
    expect(emails(members)).toEqual(['ann@filter.example', 'bob@filter.example']);
    expect(members.totalCount).toBe(2);
    const activeMembers = (await fws.client.data(USERS, { env, filter: { organizationId: ids.org, status: 'ACTIVE' } })).users;
    expect(activeMembers.nodes.map((n: any) => n.id)).toEqual([ids.ann]);
    expect(activeMembers.totalCount).toBe(1);
    const none = (await fws.client.data(USERS, { env, filter: { organizationId: 'org_00000000000000000000000000' } })).users;
    expect(none).toMatchObject({ totalCount: 0, nodes: [] });
  });

  it('lists every user of the environment across pages', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: any = (await fws.client.data(USERS, { env, first: 3, after })).users;
      expect(page.totalCount).toBe(4);
      seen.push(...page.nodes.map((n: any) => n.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen.sort()).toEqual([ids.ann, ids.bob, ids.cat, ids.dan].sort());
  });
});

describe('deleteUser', () => {
  it('deletes a user with their memberships and frees the email', async () => {
    const user = await mustCreateUser({ email: 'leaver@example.com' });
    const org = await ws.client.data(
      `mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }`,
      { input: { environmentId: dev, name: 'Left Behind' } },
    );
    const orgId = org.createOrganization.organization.id;
    const membership = await ws.client.data(
      `mutation($input: CreateMembershipInput!) { createMembership(input: $input) { membership { id } userErrors { code } } }`,
      { input: { organizationId: orgId, userId: user.id } },
    );
    const membershipId = membership.createMembership.membership.id;

    const deleted = (await ws.client.data(DELETE_USER, { id: user.id })).deleteUser;
    expect(deleted).toEqual({ deletedId: user.id, userErrors: [] });

    const byId = await ws.client.request(USER_BY_ID, { id: user.id });
    expect(byId.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', reason: 'user.not_found' });
    expect((await ws.client.data(USER_BY_EMAIL, { email: 'leaver@example.com', env: dev })).user).toBeNull();

    const orgMemberships = await ws.client.data(`query($id: ID) { organization(id: $id) { memberships { totalCount nodes { id } } } }`, {
      id: orgId,
    });
    expect(orgMemberships.organization.memberships).toEqual({ totalCount: 0, nodes: [] });
    const node = await ws.client.request(`query($id: ID!) { node(id: $id) { id } }`, { id: membershipId });
    expect(node.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');

    const again = await ws.client.request(DELETE_USER, { id: user.id });
    expect(again.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');

    const reused = await createUser({ email: 'leaver@example.com' });
    expect(reused.userErrors).toEqual([]);
    expect(reused.user.id).not.toBe(user.id);
  });
});
