import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemFork } from '../../src/db/tenant-scope.js';
import { DirectoryUser } from '../../src/modules/directory/directory-user.entity.js';
import { mutate } from '../helpers/oauth.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

/**
 * SCIM Groups of a directory over HTTP: what Okta and Entra send to push groups and their
 * members, members changed one by one in groups that have others, filters and sorting, and
 * every refusal as a SCIM error that changes nothing.
 */
let server: TestServer;
let ws: TestWorkspace;
let orgId: string;
let directory: { id: string; baseUrl: string; token: string };

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const scimError = (status: number, scimType?: string) => ({ schemas: [ERROR], status: String(status), ...(scimType ? { scimType } : {}), detail: expect.any(String) });
const patch = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });
const q = (filter: string) => encodeURIComponent(filter);

async function scim(path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const response = await fetch(`${directory.baseUrl}${path}`, {
    method: init.method ?? (init.body !== undefined ? 'POST' : 'GET'),
    headers: { authorization: `Bearer ${directory.token}`, ...(init.body !== undefined ? { 'content-type': 'application/scim+json' } : {}), ...init.headers },
    body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

async function newUser(userName: string, displayName?: string): Promise<string> {
  const created = await scim('/Users', { body: { schemas: [USER], userName, ...(displayName ? { displayName } : {}), emails: [{ value: userName, primary: true }] } });
  expect(created.status).toBe(201);
  return created.body.id;
}

const memberIds = (group: { members?: { value: string }[] }) => (group.members ?? []).map((member) => member.value).sort();
const read = async (id: string) => (await scim(`/Groups/${id}`)).body;

let ada: string;
let bob: string;
let cy: string;
let dee: string;

beforeAll(async () => {
  server = await startServer();
  ws = await server.workspace('SCIM groups');
  orgId = (await mutate(ws.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId: ws.development.id, name: 'Acme' })).organization.id;
  const created = await mutate(ws.client, 'createDirectory', 'CreateDirectoryInput', 'token directory { id baseUrl }', { organizationId: orgId, name: 'Acme IdP', provider: 'OKTA' });
  directory = { id: created.directory.id, baseUrl: created.directory.baseUrl, token: created.token };
  ada = await newUser('ada@acme.test', 'Ada Lovelace');
  bob = await newUser('bob@acme.test');
  cy = await newUser('cy@acme.test');
  dee = await newUser('dee@acme.test');
});
afterAll(() => server.close());

describe('Okta group push', () => {
  it('creates the group, renames it path-less with the id beside it, replaces and empties its members', async () => {
    // Okta's POST /Groups: members empty, sent without type.
    const created = await scim('/Groups', { body: { schemas: [GROUP], displayName: 'Engineering', members: [] } });
    expect(created.status).toBe(201);
    const group = created.body;
    expect(group).toMatchObject({ schemas: [GROUP], displayName: 'Engineering', members: [], meta: { resourceType: 'Group', location: `${directory.baseUrl}/Groups/${group.id}`, version: 'W/"1"' } });
    expect(created.headers.get('location')).toBe(group.meta.location);

    // Right after the create, Okta replaces path-less with {id, displayName}.
    const renamed = await scim(`/Groups/${group.id}`, { method: 'PATCH', body: patch({ op: 'replace', value: { id: group.id, displayName: 'Engineers' } }) });
    expect(renamed.status).toBe(204);
    expect(renamed.headers.get('etag')).toBe('W/"2"');

    // Membership changes: the full list, members without type.
    await scim(`/Groups/${group.id}`, { method: 'PATCH', body: patch({ op: 'replace', path: 'members', value: [{ value: ada, display: 'ada@acme.test' }, { value: bob }] }) });
    let now = await read(group.id);
    expect(now).toMatchObject({ displayName: 'Engineers', meta: { version: 'W/"3"' } });
    expect(now.members).toEqual(
      expect.arrayContaining([
        { value: ada, display: 'Ada Lovelace', type: 'User', $ref: `${directory.baseUrl}/Users/${ada}` },
        { value: bob, display: 'bob@acme.test', type: 'User', $ref: `${directory.baseUrl}/Users/${bob}` },
      ]),
    );
    await scim(`/Groups/${group.id}`, { method: 'PATCH', body: patch({ op: 'replace', path: 'members', value: [{ value: bob }, { value: cy }] }) });
    expect(memberIds(await read(group.id))).toEqual([bob, cy].sort());

    // The User shows its groups, and its version moved with them: an old ETag no longer answers 304.
    const user = (await scim(`/Users/${bob}`)).body;
    const before = user.meta.version;
    expect(user.groups).toEqual([{ value: group.id, display: 'Engineers', type: 'direct', $ref: `${directory.baseUrl}/Groups/${group.id}` }]);

    // `replace members []` empties the group.
    expect((await scim(`/Groups/${group.id}`, { method: 'PATCH', body: patch({ op: 'replace', path: 'members', value: [] }) })).status).toBe(204);
    now = await read(group.id);
    expect(now.members).toEqual([]);
    expect((await scim(`/Users/${bob}`)).body.groups).toBeUndefined();
    expect((await scim(`/Users/${bob}`, { headers: { 'if-none-match': before } })).status).toBe(200);
  });

  it('creates a group with its members in the POST, and replaces them with PUT', async () => {
    const created = await scim('/Groups', { body: { schemas: [GROUP], displayName: 'Design', externalId: '00g1', members: [{ value: ada }, { value: dee }] } });
    expect(created.status).toBe(201);
    expect(memberIds(created.body)).toEqual([ada, dee].sort());
    const replaced = await scim(`/Groups/${created.body.id}`, { method: 'PUT', body: { schemas: [GROUP], displayName: 'Design', externalId: '00g1', members: [{ value: cy }] } });
    expect(replaced.status).toBe(200);
    expect(memberIds(replaced.body)).toEqual([cy]);
    expect(replaced.body.meta.version).toBe('W/"2"');
    // A PUT without members keeps them.
    const renamed = await scim(`/Groups/${created.body.id}`, { method: 'PUT', body: { schemas: [GROUP], displayName: 'Product design' } });
    expect(renamed.body).toMatchObject({ displayName: 'Product design', members: [{ value: cy }] });
    expect(renamed.body.externalId).toBeUndefined();
  });
});

describe('Entra group provisioning', () => {
  it('probes by displayName without members, adds members one by one, checks one by filter, removes by value filter and by value', async () => {
    const probe = await scim(`/Groups?excludedAttributes=members&filter=${q('DisplayName eq "Sales"')}`);
    expect(probe.body).toMatchObject({ totalResults: 0, Resources: [] });
    const created = await scim('/Groups', { body: { schemas: [GROUP], externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159', displayName: 'Sales', members: [] } });
    const id = created.body.id;
    const found = await scim(`/Groups?excludedAttributes=members&filter=${q('displayName eq "sales"')}`);
    expect(found.body.Resources).toEqual([expect.objectContaining({ id, displayName: 'Sales' })]);
    expect(found.body.Resources[0].members).toBeUndefined();

    for (const member of [ada, bob, cy]) {
      const added = await scim(`/Groups/${id}`, { method: 'PATCH', body: patch({ op: 'Add', path: 'members', value: [{ value: member }] }) });
      expect(added.status).toBe(204);
    }
    expect(memberIds(await read(id))).toEqual([ada, bob, cy].sort());

    // Entra asks whether a user is a member with a filter on the group.
    const isMember = await scim(`/Groups?excludedAttributes=members&filter=${q(`id eq "${id}" and members[value eq "${bob}"]`)}`);
    expect(isMember.body.totalResults).toBe(1);
    const notMember = await scim(`/Groups?excludedAttributes=members&filter=${q(`id eq "${id}" and members[value eq "${dee}"]`)}`);
    expect(notMember.body.totalResults).toBe(0);
    expect((await scim(`/Groups?filter=${q(`members eq "${bob}"`)}&attributes=displayName`)).body.Resources.map((group: { displayName: string }) => group.displayName)).toContain('Sales');

    // A remove by value filter, then Entra's remove with a value list: only those members go.
    expect((await scim(`/Groups/${id}`, { method: 'PATCH', body: patch({ op: 'Remove', path: `members[value eq "${bob}"]` }) })).status).toBe(204);
    expect(memberIds(await read(id))).toEqual([ada, cy].sort());
    await scim(`/Groups/${id}`, { method: 'PATCH', body: patch({ op: 'Remove', path: 'members', value: [{ value: ada }] }) });
    expect(memberIds(await read(id))).toEqual([cy]);

    // Replace displayName, as Entra sends it; asking for the group in the response gives 200 with it.
    const renamed = await scim(`/Groups/${id}?excludedAttributes=members`, { method: 'PATCH', body: patch({ op: 'Replace', path: 'displayName', value: 'Sales EMEA' }) });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ id, displayName: 'Sales EMEA' });
    expect(renamed.body.members).toBeUndefined();
  });

  it('changes one member of a group that has others, and audits each member added or removed', async () => {
    const { body: group } = await scim('/Groups', { body: { schemas: [GROUP], displayName: 'Support', members: [{ value: ada }, { value: bob }, { value: cy }] } });
    await scim(`/Groups/${group.id}`, { method: 'PATCH', body: patch({ op: 'add', path: 'members', value: [{ value: dee }] }, { op: 'remove', path: `members[value eq "${ada}"]` }) });
    expect(memberIds(await read(group.id))).toEqual([bob, cy, dee].sort());
    const events = await ws.client.data(`query($env: ID) { auditEvents(environmentId: $env, first: 10, filter: { actions: ["directory.group.*"] }) { nodes { action actor { type id } targets { type id } } } }`, { env: ws.development.id });
    const [removed, added] = events.auditEvents.nodes;
    expect(removed).toMatchObject({ action: 'directory.group.member_removed', actor: { type: 'DIRECTORY', id: directory.id } });
    expect(removed.targets.map((item: { id: string }) => item.id)).toEqual([group.id, ada, directory.id]);
    expect(added).toMatchObject({ action: 'directory.group.member_added', targets: [{ type: 'directory_group', id: group.id }, { type: 'directory_user', id: dee }, { type: 'directory', id: directory.id }] });
  });

  it('forgets a deleted group, and a deleted user\'s memberships', async () => {
    const { body: group } = await scim('/Groups', { body: { schemas: [GROUP], displayName: 'Temporary', members: [{ value: ada }] } });
    const leaver = await newUser('leaver@acme.test');
    await scim(`/Groups/${group.id}`, { method: 'PATCH', body: patch({ op: 'add', path: 'members', value: [{ value: leaver }] }) });
    const version = (await read(group.id)).meta.version;
    expect((await scim(`/Users/${leaver}`, { method: 'DELETE' })).status).toBe(204);
    const after = await read(group.id);
    expect(memberIds(after)).toEqual([ada]);
    // The group lost a member: its version moved.
    expect(after.meta.version).not.toBe(version);
    expect((await scim(`/Groups/${group.id}`, { method: 'DELETE' })).status).toBe(204);
    expect(await scim(`/Groups/${group.id}`)).toMatchObject({ status: 404, body: scimError(404) });
    expect((await scim(`/Users/${ada}`)).body.groups?.map((item: { display: string }) => item.display) ?? []).not.toContain('Temporary');
  });
});

describe('lists', () => {
  it('sorts by displayName either way, case-insensitively, and pages', async () => {
    for (const name of ['zeta', 'Alpha', 'beta']) await scim('/Groups', { body: { schemas: [GROUP], displayName: `sort ${name}` } });
    const filter = q('displayName sw "sort "');
    const ascending = await scim(`/Groups?filter=${filter}&sortBy=displayName&excludedAttributes=members`);
    expect(ascending.body.Resources.map((group: { displayName: string }) => group.displayName)).toEqual(['sort Alpha', 'sort beta', 'sort zeta']);
    const descending = await scim(`/Groups?filter=${filter}&sortBy=DISPLAYNAME&sortOrder=descending&count=2&startIndex=2`);
    expect(descending.body).toMatchObject({ totalResults: 3, itemsPerPage: 2, startIndex: 2 });
    expect(descending.body.Resources.map((group: { displayName: string }) => group.displayName)).toEqual(['sort beta', 'sort Alpha']);
    const users = await scim(`/Users?sortBy=userName&sortOrder=descending&attributes=userName&filter=${q('userName ew "@acme.test"')}`);
    const names = users.body.Resources.map((user: { userName: string }) => user.userName);
    expect(names).toEqual([...names].sort().reverse());
    const byEmail = await scim(`/Users?sortBy=emails&attributes=userName&filter=${q('userName ew "@acme.test"')}`);
    expect(byEmail.body.Resources.map((user: { userName: string }) => user.userName)).toEqual([...names].sort());
  });

  it('refuses a sort it cannot do', async () => {
    expect(await scim('/Groups?sortBy=members')).toMatchObject({ status: 400, body: scimError(400, 'invalidValue') });
    expect(await scim('/Groups?sortBy=nothing')).toMatchObject({ status: 400, body: scimError(400, 'invalidValue') });
    expect(await scim('/Users?sortBy=name')).toMatchObject({ status: 400, body: scimError(400, 'invalidValue') });
    expect(await scim('/Users?sortBy=userName&sortOrder=sideways')).toMatchObject({ status: 400, body: scimError(400, 'invalidValue') });
  });
});

describe('bad input changes nothing', () => {
  let group: { id: string };
  beforeAll(async () => {
    group = (await scim('/Groups', { body: { schemas: [GROUP], displayName: 'Guarded', members: [{ value: ada }] } })).body;
  });

  it.each([
    ['an unknown member', patch({ op: 'add', path: 'members', value: [{ value: 'dus_nobody' }] }), 'invalidValue'],
    ['a group as a member', patch({ op: 'add', path: 'members', value: [{ value: bob, type: 'Group' }] }), 'invalidValue'],
    ['a member without value', patch({ op: 'add', path: 'members', value: [{ display: 'x' }] }), 'invalidValue'],
    ['a member filter on display', patch({ op: 'remove', path: 'members[display eq "Ada"]' }), 'invalidPath'],
    ['an add through a member filter', patch({ op: 'add', path: `members[value eq "${bob}"]`, value: [{ value: bob }] }), 'invalidPath'],
    ['a sub-attribute of members', patch({ op: 'replace', path: 'members.value', value: bob }), 'invalidPath'],
    ['an unknown attribute', patch({ op: 'replace', path: 'owner', value: 'x' }), 'invalidPath'],
    ['removing displayName', patch({ op: 'remove', path: 'displayName' }), 'mutability'],
    ['a good change beside a bad one', patch({ op: 'add', path: 'members', value: [{ value: bob }] }, { op: 'replace', path: 'displayName', value: 42 }), 'invalidValue'],
    ['no operations', patch(), 'invalidSyntax'],
  ])('%s', async (_name, body, scimType) => {
    const before = await read(group.id);
    expect(await scim(`/Groups/${group.id}`, { method: 'PATCH', body })).toMatchObject({ status: 400, body: scimError(400, scimType) });
    expect(await read(group.id)).toEqual(before);
  });

  it('refuses a Group without displayName, with unknown attributes or members, and a stale If-Match', async () => {
    expect(await scim('/Groups', { body: { schemas: [GROUP], members: [] } })).toMatchObject({ status: 400, body: scimError(400, 'invalidValue') });
    expect(await scim('/Groups', { body: { schemas: [GROUP], displayName: 'x', owner: 'y' } })).toMatchObject({ status: 400, body: scimError(400, 'invalidSyntax') });
    expect(await scim('/Groups', { body: { schemas: [USER], displayName: 'x' } })).toMatchObject({ status: 400, body: scimError(400, 'invalidValue') });
    const count = (await scim(`/Groups?filter=${q('displayName eq "Ghosts"')}`)).body.totalResults;
    expect(await scim('/Groups', { body: { schemas: [GROUP], displayName: 'Ghosts', members: [{ value: 'dus_nobody' }] } })).toMatchObject({ status: 400, body: scimError(400, 'invalidValue') });
    expect((await scim(`/Groups?filter=${q('displayName eq "Ghosts"')}`)).body.totalResults).toBe(count);
    const stale = await scim(`/Groups/${group.id}`, { method: 'PATCH', headers: { 'if-match': 'W/"999"' }, body: patch({ op: 'add', path: 'members', value: [{ value: bob }] }) });
    expect(stale).toMatchObject({ status: 412, body: scimError(412) });
    const version = (await read(group.id)).meta.version;
    const fresh = await scim(`/Groups/${group.id}`, { headers: { 'if-none-match': version } });
    expect(fresh.status).toBe(304);
    expect(await scim('/Groups/dgr_missing', { method: 'PATCH', body: patch({ op: 'add', path: 'members', value: [{ value: bob }] }) })).toMatchObject({ status: 404, body: scimError(404) });
    expect(await scim('/Groups/x/y')).toMatchObject({ status: 404, body: scimError(404) });
    expect(await scim(`/Groups/${group.id}`, { method: 'POST', body: {} })).toMatchObject({ status: 405 });
  });
});

describe('Bulk', () => {
  const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
  const bulk = (Operations: unknown[], extra: Record<string, unknown> = {}) => scim('/Bulk', { body: { schemas: [BULK], Operations, ...extra } });

  it('runs each operation, resolving bulkId references whatever their order, and reports each result', async () => {
    const deeVersion = (await scim(`/Users/${dee}`)).body.meta.version as string;
    const nextVersion = `W/"${Number(/\d+/.exec(deeVersion)![0]) + 1}"`;
    const response = await bulk([
      // The group refers to a user created after it in the request.
      { method: 'POST', path: '/Groups', bulkId: 'team', data: { schemas: [GROUP], displayName: 'Bulk team', members: [{ value: 'bulkId:kim' }] } },
      { method: 'POST', path: '/Users', bulkId: 'kim', data: { schemas: [USER], userName: 'kim@acme.test' } },
      { method: 'PATCH', path: '/Groups/bulkId:team', data: patch({ op: 'add', path: 'members', value: [{ value: ada }] }) },
      { method: 'PUT', path: `/Users/${dee}`, version: deeVersion, data: { schemas: [USER], userName: 'dee@acme.test', displayName: 'Dee' } },
    ]);
    expect(response.status).toBe(200);
    expect(response.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:BulkResponse']);
    const [team, kim, patched, put] = response.body.Operations;
    expect(kim).toMatchObject({ method: 'POST', bulkId: 'kim', status: '201', location: expect.stringContaining(`${directory.baseUrl}/Users/`), version: 'W/"1"' });
    expect(team).toMatchObject({ method: 'POST', bulkId: 'team', status: '201', location: expect.stringContaining(`${directory.baseUrl}/Groups/`) });
    expect(patched).toMatchObject({ method: 'PATCH', status: '204', version: 'W/"2"' });
    expect(put).toMatchObject({ method: 'PUT', status: '200', version: nextVersion });
    const kimId = kim.location.split('/').pop();
    const group = await read(team.location.split('/').pop());
    expect(memberIds(group)).toEqual([ada, kimId].sort());
  });

  it('reports failures per operation, fails what refers to them, and stops after failOnErrors', async () => {
    const response = await bulk([
      { method: 'POST', path: '/Users', bulkId: 'dup', data: { schemas: [USER], userName: 'ada@acme.test' } },
      { method: 'POST', path: '/Groups', bulkId: 'g', data: { schemas: [GROUP], displayName: 'Refers to a failure', members: [{ value: 'bulkId:dup' }] } },
      { method: 'PATCH', path: `/Users/${bob}`, version: 'W/"999"', data: patch({ op: 'replace', path: 'displayName', value: 'B' }) },
      { method: 'DELETE', path: '/Users/dus_nobody' },
    ]);
    expect(response.body.Operations.map((result: { status: string }) => result.status)).toEqual(['409', '409', '412', '404']);
    expect(response.body.Operations[0].response).toMatchObject({ scimType: 'uniqueness' });
    expect((await scim(`/Groups?filter=${q('displayName eq "Refers to a failure"')}`)).body.totalResults).toBe(0);

    const stopped = await bulk(
      [
        { method: 'DELETE', path: '/Users/dus_nobody1' },
        { method: 'DELETE', path: '/Users/dus_nobody2' },
        { method: 'POST', path: '/Users', bulkId: 'never', data: { schemas: [USER], userName: 'never@acme.test' } },
      ],
      { failOnErrors: 2 },
    );
    expect(stopped.body.Operations.map((result: { status: string }) => result.status)).toEqual(['404', '404']);
    expect((await scim(`/Users?filter=${q('userName eq "never@acme.test"')}`)).body.totalResults).toBe(0);

    const circular = await bulk([
      { method: 'POST', path: '/Groups', bulkId: 'a', data: { schemas: [GROUP], displayName: 'A', members: [{ value: 'bulkId:b' }] } },
      { method: 'POST', path: '/Groups', bulkId: 'b', data: { schemas: [GROUP], displayName: 'B', members: [{ value: 'bulkId:a' }] } },
    ]);
    expect(circular.body.Operations.map((result: { status: string }) => result.status)).toEqual(['409', '409']);
  });

  it('reads lower-case operations too, and audits a large member change as one counted event', async () => {
    const bulkLower = await scim('/Bulk', { body: { schemas: [BULK], operations: [{ method: 'DELETE', path: '/Users/dus_nobody' }] } });
    expect(bulkLower.body.Operations).toEqual([expect.objectContaining({ status: '404' })]);
    // A thousand Users, written as the server writes them (a thousand POSTs would only slow the suite).
    const em = systemFork(server.database.db.orm, 'test: seeds directory users');
    const people = Array.from({ length: 1000 }, (_, i) => `dus_many${String(i).padStart(4, '0')}`);
    const { environmentId, organizationId } = (await em.findOneOrFail(DirectoryUser, { id: ada })) as DirectoryUser;
    for (const [i, id] of people.entries()) {
      em.persist(em.create(DirectoryUser, { id, environmentId, organizationId, directoryId: directory.id, userName: `many${i}@acme.test`, resource: {} }));
    }
    await em.flush();
    const big = (await scim('/Groups', { body: { schemas: [GROUP], displayName: 'Big', members: [...people, ada].map((value) => ({ value })) } })).body;
    expect(big.members).toHaveLength(1001);
    const events = await ws.client.data(`query($env: ID) { auditEvents(environmentId: $env, first: 1, filter: { actions: ["directory.group.members_changed"] }) { nodes { targets { id } after } } }`, { env: ws.development.id });
    expect(events.auditEvents.nodes[0]).toMatchObject({ targets: [{ id: big.id }, { id: directory.id }], after: { added: 1001, removed: 0 } });
    expect(events.auditEvents.nodes[0].after.addedIds).toHaveLength(100);
  });

  it('refuses a request over its limits (413 tooMany) or malformed, running none of it', async () => {
    const config = (await scim('/ServiceProviderConfig')).body;
    expect(config.bulk).toEqual({ supported: true, maxOperations: 1000, maxPayloadSize: 1048576 });
    const many = Array.from({ length: 1001 }, () => ({ method: 'DELETE', path: `/Users/${ada}` }));
    expect(await bulk(many)).toMatchObject({ status: 413, body: scimError(413, 'tooMany') });
    expect((await scim(`/Users/${ada}`)).status).toBe(200);
    const huge = await bulk([{ method: 'POST', path: '/Users', bulkId: 'x', data: { schemas: [USER], userName: 'x'.repeat(1100 * 1024) } }]);
    expect(huge).toMatchObject({ status: 413, body: { status: '413' } });
    expect(await bulk([{ method: 'GET', path: '/Users' }])).toMatchObject({ status: 400, body: scimError(400, 'invalidValue') });
    expect(await bulk([{ method: 'POST', path: '/Users', data: { schemas: [USER], userName: 'nobulkid@acme.test' } }])).toMatchObject({ status: 400, body: scimError(400, 'invalidValue') });
    expect(await bulk([{ method: 'DELETE', path: '/Bulk' }])).toMatchObject({ status: 400, body: scimError(400, 'invalidPath') });
    expect(await bulk([{ method: 'POST', path: '/Users', bulkId: 'same', data: {} }, { method: 'POST', path: '/Users', bulkId: 'same', data: {} }])).toMatchObject({ status: 400, body: scimError(400, 'invalidValue') });
    expect(await scim('/Bulk', { body: { schemas: [PATCH_OP], Operations: [] } })).toMatchObject({ status: 400, body: scimError(400, 'invalidSyntax') });
    expect(await bulk([{ method: 'DELETE', path: `/Users/${ada}` }], { failOnErrors: 0 })).toMatchObject({ status: 400, body: scimError(400, 'invalidValue') });
    expect((await scim('/Bulk')).status).toBe(405);
    expect((await scim(`/Users/${ada}`)).status).toBe(200);
  });
});
