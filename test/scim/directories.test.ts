import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GraphQLClient } from '../helpers/graphql.js';
import { mutate } from '../helpers/oauth.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

/** Managing SCIM directories through GraphQL: the token shown once, rotation with overlap, mappings, the per-organization cap, audit. */
let server: TestServer;
let ws: TestWorkspace;
let env: string;
let orgId: string;

const DIRECTORY = 'id name environmentId organizationId provider status baseUrl tokenPrefix previousTokenExpiresAt groupRoleMappings { group roleKeys } connectionId lastRequestAt setupHint createdAt';
const payload = (operation: string, input: string, selection: string) =>
  `mutation($input: ${input}!) { ${operation}(input: $input) { ${selection} userErrors { code field message } } }`;

async function run(client: GraphQLClient, operation: string, input: string, selection: string, variables: Record<string, unknown>) {
  return (await client.data(payload(operation, input, selection), { input: variables }))[operation];
}

beforeAll(async () => {
  server = await startServer();
  ws = await server.workspace('Directories');
  env = ws.development.id;
  orgId = (await mutate(ws.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId: env, name: 'Acme' })).organization.id;
  await mutate(ws.client, 'createRole', 'CreateRoleInput', 'role { id }', { environmentId: env, key: 'engineer', name: 'Engineer' });
});
afterAll(() => server.close());

describe('SCIM directories (GraphQL)', () => {
  it('creates a directory with its base URL and a bearer token shown once, audited without the token', async () => {
    const created = await run(ws.client, 'createDirectory', 'CreateDirectoryInput', `token directory { ${DIRECTORY} }`, {
      organizationId: orgId,
      name: 'Acme Okta',
      provider: 'OKTA',
      groupRoleMappings: [{ group: 'Engineering', roleKeys: ['engineer'] }],
    });
    expect(created.userErrors).toEqual([]);
    const { directory, token } = created;
    expect(token).toMatch(/^gh_scim_[A-Za-z0-9_-]{43}$/);
    expect(directory).toMatchObject({
      name: 'Acme Okta',
      environmentId: env,
      organizationId: orgId,
      provider: 'OKTA',
      status: 'ACTIVE',
      baseUrl: `${server.url}/scim/v2/${directory.id}`,
      previousTokenExpiresAt: null,
      groupRoleMappings: [{ group: 'Engineering', roleKeys: ['engineer'] }],
      connectionId: null,
      lastRequestAt: null,
    });
    expect(directory.id).toMatch(/^dir_/);
    expect(token.startsWith(directory.tokenPrefix)).toBe(true);
    expect(directory.setupHint).toContain('SCIM connector base URL');

    // Read back by node and by organization; the token is nowhere.
    const read = await ws.client.data(`query($id: ID!, $org: ID) { node(id: $id) { ... on Directory { id name tokenPrefix } } directories(organizationId: $org, first: 10) { totalCount nodes { id } } }`, {
      id: directory.id,
      org: orgId,
    });
    expect(read.node).toMatchObject({ id: directory.id, name: 'Acme Okta' });
    expect(read.directories.nodes.map((node: { id: string }) => node.id)).toContain(directory.id);
    const events = await ws.client.data(`query($env: ID) { auditEvents(environmentId: $env, first: 5, filter: { actions: ["directory.*"] }) { nodes { action after targets { id } } } }`, { env });
    const event = events.auditEvents.nodes.find((node: { targets: { id: string }[] }) => node.targets.some((target) => target.id === directory.id));
    expect(event.action).toBe('directory.created');
    expect(JSON.stringify(event)).not.toContain(token);
    expect(JSON.stringify(event)).not.toContain(token.slice(directory.tokenPrefix.length, directory.tokenPrefix.length + 20));
  });

  it('rotates the token: the replaced one has an overlap window (default an hour, 0 for none, bounded)', async () => {
    const { directory, token } = await run(ws.client, 'createDirectory', 'CreateDirectoryInput', `token directory { id tokenPrefix }`, { organizationId: orgId, name: 'Rotating', provider: 'ENTRA_ID' });
    const before = Date.now();
    const rotated = await run(ws.client, 'rotateDirectoryToken', 'RotateDirectoryTokenInput', 'token directory { tokenPrefix previousTokenExpiresAt }', { id: directory.id });
    expect(rotated.userErrors).toEqual([]);
    expect(rotated.token).not.toBe(token);
    expect(rotated.token.startsWith(rotated.directory.tokenPrefix)).toBe(true);
    const overlapEnds = new Date(rotated.directory.previousTokenExpiresAt).getTime();
    expect(overlapEnds).toBeGreaterThanOrEqual(before + 3600_000 - 1000);
    expect(overlapEnds).toBeLessThanOrEqual(Date.now() + 3600_000 + 1000);

    const immediate = await run(ws.client, 'rotateDirectoryToken', 'RotateDirectoryTokenInput', 'token directory { previousTokenExpiresAt }', { id: directory.id, overlapSeconds: 0 });
    expect(immediate.directory.previousTokenExpiresAt).toBeNull();

    for (const overlapSeconds of [-1, 7 * 24 * 3600 + 1]) {
      const refused = await run(ws.client, 'rotateDirectoryToken', 'RotateDirectoryTokenInput', 'token', { id: directory.id, overlapSeconds });
      expect(refused).toEqual({ token: null, userErrors: [{ code: 'directory.invalid_overlap', field: ['input', 'overlapSeconds'], message: expect.any(String) }] });
    }
  });

  it('changes status, mappings and the linked SSO connection, and refuses what does not fit', async () => {
    const { directory } = await run(ws.client, 'createDirectory', 'CreateDirectoryInput', 'directory { id }', { organizationId: orgId, name: 'Changing', provider: 'GENERIC' });
    const connection = await mutate(ws.client, 'createOidcConnection', 'CreateOidcConnectionInput', 'ssoConnection { id }', {
      organizationId: orgId,
      name: 'Acme OIDC',
      issuer: 'https://idp.acme.example',
      clientId: 'acme',
      clientSecret: 'acme-secret',
    });
    const updated = await run(ws.client, 'updateDirectory', 'UpdateDirectoryInput', `directory { ${DIRECTORY} }`, {
      id: directory.id,
      name: 'Changed',
      status: 'INACTIVE',
      connectionId: connection.ssoConnection.id,
      groupRoleMappings: [{ group: 'Admins', roleKeys: ['admin'] }, { group: 'Engineering', roleKeys: ['engineer', 'member'] }],
    });
    expect(updated.userErrors).toEqual([]);
    expect(updated.directory).toMatchObject({
      name: 'Changed',
      status: 'INACTIVE',
      connectionId: connection.ssoConnection.id,
      groupRoleMappings: [{ group: 'Admins', roleKeys: ['admin'] }, { group: 'Engineering', roleKeys: ['engineer', 'member'] }],
    });

    const otherOrg = (await mutate(ws.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId: env, name: 'Globex' })).organization.id;
    const otherConnection = await mutate(ws.client, 'createOidcConnection', 'CreateOidcConnectionInput', 'ssoConnection { id }', {
      organizationId: otherOrg,
      name: 'Globex OIDC',
      issuer: 'https://idp.globex.example',
      clientId: 'globex',
      clientSecret: 'globex-secret',
    });
    const refusals: [Record<string, unknown>, string, string[]][] = [
      [{ connectionId: otherConnection.ssoConnection.id }, 'directory.connection_not_found', ['input', 'connectionId']],
      [{ groupRoleMappings: [{ group: 'X', roleKeys: ['no-such-role'] }] }, 'role.unknown', ['input', 'groupRoleMappings', '0', 'roleKeys']],
      [{ groupRoleMappings: [{ group: 'X', roleKeys: ['engineer'] }, { group: 'x', roleKeys: ['admin'] }] }, 'directory.duplicate_group', ['input', 'groupRoleMappings', '1', 'group']],
      [{ name: '  ' }, 'validation.required', ['input', 'name']],
    ];
    for (const [change, code, field] of refusals) {
      const refused = await run(ws.client, 'updateDirectory', 'UpdateDirectoryInput', 'directory { id }', { id: directory.id, ...change });
      expect(refused.userErrors.map((error: { code: string; field: string[] }) => [error.code, error.field]), JSON.stringify(change)).toEqual([[code, field]]);
    }
    const unlinked = await run(ws.client, 'updateDirectory', 'UpdateDirectoryInput', 'directory { connectionId name }', { id: directory.id, connectionId: null });
    expect(unlinked.directory).toEqual({ connectionId: null, name: 'Changed' });
  });

  it('keeps at most five directories per organization, also under concurrent creation, and deletes them', async () => {
    const org = (await mutate(ws.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId: env, name: 'Capped' })).organization.id;
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, index) => run(ws.client, 'createDirectory', 'CreateDirectoryInput', 'directory { id }', { organizationId: org, name: `D${index}`, provider: 'JUMPCLOUD' })),
    );
    const created = results.filter((result) => result.userErrors.length === 0);
    expect(created).toHaveLength(5);
    for (const refused of results.filter((result) => result.userErrors.length)) expect(refused.userErrors[0].code).toBe('directory.limit_reached');

    const deleted = await run(ws.client, 'deleteDirectory', 'DeleteInput', 'deletedId', { id: created[0].directory.id });
    expect(deleted).toEqual({ deletedId: created[0].directory.id, userErrors: [] });
    const gone = await ws.client.request(`query($id: ID!) { node(id: $id) { id } }`, { id: created[0].directory.id });
    expect(gone.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('needs organizations:read to read and organizations:write to change', async () => {
    const readOnly = (await ws.client.data('mutation { createApiKey(input: { name: "ro", scopes: ["organizations:read"] }) { secret } }')).createApiKey.secret;
    const client = ws.client.withKey(readOnly);
    const list = await client.request(`query($org: ID) { directories(organizationId: $org, first: 5) { totalCount } }`, { org: orgId });
    expect(list.errors).toBeUndefined();
    const refused = await client.request(payload('createDirectory', 'CreateDirectoryInput', 'token'), { input: { organizationId: orgId, name: 'Nope', provider: 'OKTA' } });
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('what a directory provisioned (GraphQL)', () => {
  const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
  const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
  let directory: { id: string; baseUrl: string; token: string };
  const scim = async (path: string, init: { method?: string; body?: unknown; token?: string } = {}) => {
    const response = await fetch(`${directory.baseUrl}${path}`, {
      method: init.method ?? (init.body !== undefined ? 'POST' : 'GET'),
      headers: { authorization: `Bearer ${init.token ?? directory.token}`, ...(init.body !== undefined ? { 'content-type': 'application/scim+json' } : {}) },
      body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };

  beforeAll(async () => {
    const created = await run(ws.client, 'createDirectory', 'CreateDirectoryInput', 'token directory { id baseUrl }', { organizationId: orgId, name: 'Acme Entra', provider: 'ENTRA_ID' });
    directory = { id: created.directory.id, baseUrl: created.directory.baseUrl, token: created.token };
  });

  it('lists its users and groups with their SCIM resources, members and counts, and reads each by node(id:)', async () => {
    const ada = (await scim('/Users', { body: { schemas: [USER], userName: 'ada@acme.test', displayName: 'Ada', emails: [{ value: 'ada@acme.test', primary: true }] } })).body;
    const bob = (await scim('/Users', { body: { schemas: [USER], userName: 'bob@acme.test', active: false } })).body;
    const group = (await scim('/Groups', { body: { schemas: [GROUP], displayName: 'Engineering', externalId: 'eng-1', members: [{ value: ada.id }] } })).body;

    const data = await ws.client.data(
      `query($dir: ID!, $group: ID!) {
        node(id: $dir) { ... on Directory { userCount groupCount } }
        all: directoryUsers(directoryId: $dir, first: 10) { totalCount nodes { id userName externalId active displayName email userId directoryId organizationId resource } }
        inactive: directoryUsers(directoryId: $dir, active: false, first: 10) { nodes { id } }
        members: directoryUsers(directoryId: $dir, groupId: $group, first: 10) { nodes { id } }
        groups: directoryGroups(directoryId: $dir, first: 10) { nodes { id displayName externalId memberCount members(first: 5) { nodes { userName } } resource } }
        ofAda: directoryGroups(directoryId: $dir, memberId: "${ada.id}", first: 10) { nodes { id } }
        ofBob: directoryGroups(directoryId: $dir, memberId: "${bob.id}", first: 10) { nodes { id } }
      }`,
      { dir: directory.id, group: group.id },
    );
    expect(data.node).toEqual({ userCount: 2, groupCount: 1 });
    expect(data.all.totalCount).toBe(2);
    expect(data.all.nodes[0]).toMatchObject({ id: ada.id, userName: 'ada@acme.test', active: true, displayName: 'Ada', email: 'ada@acme.test', directoryId: directory.id, organizationId: orgId });
    expect(data.all.nodes[0].resource).toMatchObject({ id: ada.id, userName: 'ada@acme.test', meta: { location: `${directory.baseUrl}/Users/${ada.id}` } });
    expect(data.inactive.nodes).toEqual([{ id: bob.id }]);
    expect(data.members.nodes).toEqual([{ id: ada.id }]);
    expect(data.groups.nodes).toEqual([
      {
        id: group.id,
        displayName: 'Engineering',
        externalId: 'eng-1',
        memberCount: 1,
        members: { nodes: [{ userName: 'ada@acme.test' }] },
        resource: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], id: group.id, externalId: 'eng-1', displayName: 'Engineering', meta: expect.objectContaining({ location: `${directory.baseUrl}/Groups/${group.id}` }) },
      },
    ]);
    expect(data.ofAda.nodes).toEqual([{ id: group.id }]);
    expect(data.ofBob.nodes).toEqual([]);

    const nodes = await ws.client.data(`query($u: ID!, $g: ID!) { u: node(id: $u) { ... on DirectoryUser { userName } } g: node(id: $g) { ... on DirectoryGroup { displayName } } }`, { u: ada.id, g: group.id });
    expect(nodes).toEqual({ u: { userName: 'ada@acme.test' }, g: { displayName: 'Engineering' } });

    // A group of another directory is not a filter of this one.
    const other = await run(ws.client, 'createDirectory', 'CreateDirectoryInput', 'directory { id }', { organizationId: orgId, name: 'Other', provider: 'GENERIC' });
    const refused = await ws.client.request(`query($dir: ID!, $group: ID!) { directoryUsers(directoryId: $dir, groupId: $group, first: 1) { totalCount } }`, { dir: other.directory.id, group: group.id });
    expect(refused.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('keeps its recent failed requests, and audits refused credentials without the token', async () => {
    expect((await scim('/Users', { body: { schemas: [USER], userName: 'ada@acme.test' } })).status).toBe(409);
    expect((await scim(`/Users?filter=${encodeURIComponent('userName eq')}`)).status).toBe(400);
    expect((await scim('/Users', { token: 'gh_scim_wrong' })).status).toBe(401);
    const data = await ws.client.data(`query($id: ID!) { node(id: $id) { ... on Directory { recentErrors { method path status scimType detail createdAt } } } }`, { id: directory.id });
    const errors = data.node.recentErrors;
    expect(errors.map((error: { status: number }) => error.status)).toEqual([401, 400, 409]);
    expect(errors[1]).toMatchObject({ method: 'GET', path: '/Users', status: 400, scimType: 'invalidFilter' });
    expect(errors[2]).toMatchObject({ method: 'POST', path: '/Users', status: 409, scimType: 'uniqueness', detail: expect.stringContaining('ada@acme.test') });

    const events = await ws.client.data(`query($env: ID) { auditEvents(environmentId: $env, first: 1, filter: { actions: ["directory.authentication_failed"] }) { nodes { actor { type } targets { id } after } } }`, { env });
    expect(events.auditEvents.nodes[0]).toMatchObject({ targets: [{ id: directory.id }], after: { reason: 'token_mismatch', method: 'GET', path: '/Users' } });
    expect(JSON.stringify(events)).not.toContain('gh_scim_wrong');
  });
});
