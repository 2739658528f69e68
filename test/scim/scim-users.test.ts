import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mutate } from '../helpers/oauth.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

/** SCIM Users of a directory over HTTP: what Okta and Entra send, the filter, paging, projection, and every refusal as a SCIM error. */
let server: TestServer;
let ws: TestWorkspace;
let orgId: string;
let directory: { id: string; baseUrl: string; token: string };

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const scimError = (status: number, scimType?: string) => ({ schemas: [ERROR], status: String(status), ...(scimType ? { scimType } : {}), detail: expect.any(String) });

async function newDirectory(name: string) {
  const created = await mutate(ws.client, 'createDirectory', 'CreateDirectoryInput', 'token directory { id baseUrl }', { organizationId: orgId, name, provider: 'OKTA' });
  return { id: created.directory.id, baseUrl: created.directory.baseUrl, token: created.token };
}

async function scim(path: string, init: { method?: string; body?: unknown; token?: string; base?: string; headers?: Record<string, string> } = {}) {
  const response = await fetch(`${init.base ?? directory.baseUrl}${path}`, {
    method: init.method ?? (init.body !== undefined ? 'POST' : 'GET'),
    headers: { authorization: `Bearer ${init.token ?? directory.token}`, ...(init.body !== undefined ? { 'content-type': 'application/scim+json' } : {}), ...init.headers },
    body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

/** Okta's POST /Users, as its SCIM 2.0 guide shows it. */
const oktaUser = (userName: string, extra: Record<string, unknown> = {}) => ({
  schemas: [USER],
  userName,
  name: { givenName: 'Ada', familyName: 'Lovelace' },
  emails: [{ primary: true, value: userName, type: 'work' }],
  displayName: 'Ada Lovelace',
  locale: 'en-US',
  externalId: `00u${userName.length}abc`,
  groups: [],
  password: 'not-kept',
  active: true,
  ...extra,
});

beforeAll(async () => {
  server = await startServer();
  ws = await server.workspace('SCIM users');
  orgId = (await mutate(ws.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId: ws.development.id, name: 'Acme' })).organization.id;
  directory = await newDirectory('Acme Okta');
});
afterAll(() => server.close());

describe('SCIM Users', () => {
  it('creates a User as Okta sends it: 201 with Location and ETag, the password not kept, audited with the directory as actor', async () => {
    // Entra and Okta probe for the user before creating it.
    const probe = await scim(`/Users?filter=${encodeURIComponent('userName eq "ada@acme.test"')}`);
    expect(probe.body).toMatchObject({ totalResults: 0, Resources: [] });

    const created = await scim('/Users', { body: oktaUser('ada@acme.test') });
    expect(created.status).toBe(201);
    const user = created.body;
    expect(user).toMatchObject({
      schemas: [USER],
      userName: 'ada@acme.test',
      externalId: '00u13abc',
      name: { givenName: 'Ada', familyName: 'Lovelace' },
      emails: [{ primary: true, value: 'ada@acme.test', type: 'work' }],
      active: true,
      meta: { resourceType: 'User', location: `${directory.baseUrl}/Users/${user.id}`, version: 'W/"1"' },
    });
    expect(user.password).toBeUndefined();
    expect(user.groups).toBeUndefined();
    expect(created.headers.get('location')).toBe(user.meta.location);
    expect(created.headers.get('etag')).toBe('W/"1"');

    const read = await scim(`/Users/${user.id}`);
    expect(read.body).toEqual(user);
    const found = await scim(`/Users?filter=${encodeURIComponent('userName eq "ADA@ACME.TEST"')}`);
    expect(found.body).toMatchObject({ totalResults: 1, itemsPerPage: 1, startIndex: 1, Resources: [{ id: user.id }] });

    const events = await ws.client.data(`query { auditEvents(first: 5, environmentId: "${ws.development.id}", filter: { actions: ["directory.user.*"] }) { nodes { action actor { type id } targets { id } } } }`);
    expect(events.auditEvents.nodes[0]).toMatchObject({ action: 'directory.user.created', actor: { type: 'DIRECTORY', id: directory.id } });
    expect(events.auditEvents.nodes[0].targets.map((target: { id: string }) => target.id)).toEqual([user.id, directory.id]);
  });

  it('normalises what Entra sends: "True" booleans, the extension by URN, an extension attribute written flat', async () => {
    const created = await scim('/Users', {
      body: {
        schemas: [USER, ENTERPRISE],
        externalId: 'c3f2-entra',
        userName: 'grace@acme.test',
        active: 'True',
        emails: [{ primary: 'true', type: 'work', value: 'Grace@Acme.test' }],
        name: { formatted: 'Grace Hopper', familyName: 'Hopper', givenName: 'Grace' },
        title: 'Rear Admiral',
        [ENTERPRISE]: { employeeNumber: '1906', manager: { value: 'someone' } },
        [`${ENTERPRISE}:department`]: 'Navy',
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      schemas: [USER, ENTERPRISE],
      active: true,
      emails: [{ primary: true, type: 'work', value: 'Grace@Acme.test' }],
      [ENTERPRISE]: { employeeNumber: '1906', department: 'Navy', manager: { value: 'someone' } },
    });
    const byDepartment = await scim(`/Users?filter=${encodeURIComponent(`${ENTERPRISE}:department eq "navy" and emails[type eq "work" and primary eq true]`)}`);
    expect(byDepartment.body.Resources.map((user: { userName: string }) => user.userName)).toEqual(['grace@acme.test']);
  });

  it('refuses a second User with the same userName in any case (409 uniqueness), also when two race', async () => {
    expect(await scim('/Users', { body: oktaUser('ADA@acme.TEST') })).toMatchObject({ status: 409, body: scimError(409, 'uniqueness') });
    const raced = await Promise.all([0, 1, 2, 3].map(() => scim('/Users', { body: oktaUser('race@acme.test') })));
    expect(raced.map((response) => response.status).sort()).toEqual([201, 409, 409, 409]);
    for (const loser of raced.filter((response) => response.status === 409)) expect(loser.body).toMatchObject(scimError(409, 'uniqueness'));
  });

  it('pages with startIndex and count, the total from a count, and returns only the attributes asked for', async () => {
    for (const name of ['p1', 'p2', 'p3', 'p4', 'p5']) expect((await scim('/Users', { body: oktaUser(`${name}@paging.test`) })).status).toBe(201);
    const filter = encodeURIComponent('userName ew "@paging.test"');
    const page = await scim(`/Users?filter=${filter}&startIndex=2&count=2`);
    expect(page.body).toMatchObject({ totalResults: 5, itemsPerPage: 2, startIndex: 2 });
    expect(page.body.Resources.map((user: { userName: string }) => user.userName)).toEqual(['p2@paging.test', 'p3@paging.test']);
    const beyond = await scim(`/Users?filter=${filter}&startIndex=9`);
    expect(beyond.body).toMatchObject({ totalResults: 5, itemsPerPage: 0, Resources: [] });
    const none = await scim(`/Users?filter=${filter}&count=0`);
    expect(none.body).toMatchObject({ totalResults: 5, itemsPerPage: 0 });

    const slim = await scim(`/Users?filter=${filter}&count=1&attributes=userName,name.givenName`);
    expect(Object.keys(slim.body.Resources[0]).sort()).toEqual(['id', 'meta', 'name', 'schemas', 'userName']);
    expect(slim.body.Resources[0].name).toEqual({ givenName: 'Ada' });
    const without = await scim(`/Users?filter=${filter}&count=1&excludedAttributes=emails,NAME`);
    expect(without.body.Resources[0].emails).toBeUndefined();
    expect(without.body.Resources[0].name).toBeUndefined();
    expect(without.body.Resources[0].userName).toBe('p1@paging.test');
  });

  it('replaces a User with PUT (version up), refusing another\'s userName, and deletes it', async () => {
    const { body: user } = await scim('/Users', { body: oktaUser('linus@acme.test') });
    const replaced = await scim(`/Users/${user.id}`, { method: 'PUT', body: oktaUser('linus.t@acme.test', { active: false, displayName: 'Linus' }) });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ id: user.id, userName: 'linus.t@acme.test', active: false, displayName: 'Linus', meta: { version: 'W/"2"', created: user.meta.created } });
    expect(replaced.headers.get('etag')).toBe('W/"2"');
    expect(await scim(`/Users/${user.id}`, { method: 'PUT', body: oktaUser('ada@acme.test') })).toMatchObject({ status: 409, body: scimError(409, 'uniqueness') });

    expect((await scim(`/Users/${user.id}`, { method: 'DELETE' })).status).toBe(204);
    expect(await scim(`/Users/${user.id}`)).toMatchObject({ status: 404, body: scimError(404) });
    expect(await scim(`/Users/${user.id}`, { method: 'DELETE' })).toMatchObject({ status: 404, body: scimError(404) });
    expect(await scim(`/Users/${user.id}`, { method: 'PUT', body: oktaUser('gone@acme.test') })).toMatchObject({ status: 404, body: scimError(404) });
  });

  it('keeps each directory\'s Users to itself: another directory\'s token reads, changes and finds none of them', async () => {
    const { body: user } = await scim('/Users', { body: oktaUser('private@acme.test') });
    const other = await newDirectory('Other IdP');
    const as = { token: other.token, base: other.baseUrl };
    expect(await scim(`/Users/${user.id}`, as)).toMatchObject({ status: 404 });
    expect(await scim(`/Users/${user.id}`, { ...as, method: 'PUT', body: oktaUser('taken@acme.test') })).toMatchObject({ status: 404 });
    expect(await scim(`/Users/${user.id}`, { ...as, method: 'DELETE' })).toMatchObject({ status: 404 });
    expect((await scim('/Users', as)).body).toMatchObject({ totalResults: 0 });
    // The same userName is free in another directory.
    expect((await scim('/Users', { ...as, body: oktaUser('private@acme.test') })).status).toBe(201);
    // With the other directory's token, this directory's URL is refused outright.
    expect((await scim(`/Users/${user.id}`, { token: other.token })).status).toBe(401);
  });

  const BAD: [string, { path?: string; method?: string; body?: unknown }, number, string | undefined][] = [
    ['an unknown schema URN', { body: { ...oktaUser('x1@acme.test'), schemas: [USER, 'urn:example:custom'] } }, 400, 'invalidValue'],
    ['schemas without the core User', { body: { ...oktaUser('x2@acme.test'), schemas: [ENTERPRISE] } }, 400, 'invalidValue'],
    ['no schemas', { body: { userName: 'x3@acme.test' } }, 400, 'invalidSyntax'],
    ['an unknown attribute', { body: oktaUser('x4@acme.test', { favouriteColour: 'teal' }) }, 400, 'invalidSyntax'],
    ['an unknown sub-attribute', { body: oktaUser('x5@acme.test', { name: { givenName: 'A', nickname: 'B' } }) }, 400, 'invalidSyntax'],
    ['a number where a boolean goes', { body: oktaUser('x6@acme.test', { active: 5 }) }, 400, 'invalidValue'],
    ['an object where a string goes', { body: oktaUser('x7@acme.test', { displayName: { text: 'x' } }) }, 400, 'invalidValue'],
    ['no userName', { body: { schemas: [USER], name: { givenName: 'Nobody' } } }, 400, 'invalidValue'],
    ['a blank userName', { body: oktaUser('   ') }, 400, 'invalidValue'],
    ['a body that is an array', { body: [oktaUser('x8@acme.test')] }, 400, 'invalidSyntax'],
    ['an invalid filter', { path: `/Users?filter=${encodeURIComponent('userName eq')}` }, 400, 'invalidFilter'],
    ['a filter on an unknown attribute', { path: `/Users?filter=${encodeURIComponent('shoeSize gt 40')}` }, 400, 'invalidFilter'],
    ['count over the maximum', { path: '/Users?count=101' }, 400, 'invalidValue'],
    ['a count that is not a number', { path: '/Users?count=ten' }, 400, 'invalidValue'],
    ['a repeated parameter', { path: '/Users?filter=a&filter=b' }, 400, 'invalidValue'],
    ['attributes naming an unknown attribute', { path: '/Users?attributes=shoeSize' }, 400, 'invalidValue'],
    ['an unknown User id', { path: '/Users/dus_01jnothereatall000000000000' }, 404, undefined],
    ['PATCH of an unknown User', { path: '/Users/dus_01jnothereatall000000000000', method: 'PATCH', body: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] } }, 404, undefined],
    ['DELETE on the collection', { path: '/Users', method: 'DELETE' }, 405, undefined],
  ];

  it.each(BAD)('refuses %s with a SCIM error and changes nothing', async (_name, request, status, scimType) => {
    const before = (await scim('/Users?count=0')).body.totalResults;
    const response = await scim(request.path ?? '/Users', { method: request.method, body: request.body });
    expect(response).toMatchObject({ status, body: scimError(status, scimType) });
    expect(response.headers.get('content-type')).toMatch(/^application\/scim\+json/);
    expect((await scim('/Users?count=0')).body.totalResults).toBe(before);
  });

  describe('PATCH', () => {
    const patch = (id: string, Operations: unknown[]) => scim(`/Users/${id}`, { method: 'PATCH', body: { schemas: [PATCH_OP], Operations } });

    it('applies what Entra sends: "Replace" with "False", a filtered add used as a replace, path-less dotted names, an extension by URN', async () => {
      const { body: user } = await scim('/Users', { body: oktaUser('entra-patch@acme.test', { title: 'Engineer' }) });
      const deactivated = await patch(user.id, [{ op: 'Replace', path: 'active', value: 'False' }]);
      expect(deactivated).toMatchObject({ status: 200, body: { active: false, meta: { version: 'W/"2"' } } });

      const changed = await patch(user.id, [
        { op: 'Add', path: 'emails[type eq "work"].value', value: 'entra.patch@acme.test' },
        { op: 'Add', path: 'phoneNumbers[type eq "mobile"].value', value: '+44 20 7946 0000' },
        { op: 'Replace', value: { displayName: 'Entra Patched', 'name.givenName': 'Ent', active: true } },
        { op: 'Replace', path: `${ENTERPRISE}:department`, value: 'Sales' },
        { op: 'Remove', path: 'title' },
      ]);
      expect(changed.status).toBe(200);
      expect(changed.body).toMatchObject({
        active: true,
        displayName: 'Entra Patched',
        name: { givenName: 'Ent', familyName: 'Lovelace' },
        emails: [{ type: 'work', value: 'entra.patch@acme.test', primary: true }],
        phoneNumbers: [{ type: 'mobile', value: '+44 20 7946 0000' }],
        [ENTERPRISE]: { department: 'Sales' },
        schemas: [USER, ENTERPRISE],
      });
      expect(changed.body.title).toBeUndefined();
    });

    it('applies what Okta sends: a path-less replace with the id beside the change, and removes by value filter', async () => {
      const { body: user } = await scim('/Users', { body: oktaUser('okta-patch@acme.test', { emails: [{ value: 'okta-patch@acme.test', type: 'work', primary: true }, { value: 'home@else.test', type: 'home' }] }) });
      const changed = await patch(user.id, [
        { op: 'replace', value: { id: user.id, active: false } },
        { op: 'remove', path: 'emails[type eq "HOME"]' },
      ]);
      expect(changed.body.active).toBe(false);
      expect(changed.body.emails).toEqual([{ value: 'okta-patch@acme.test', type: 'work', primary: true }]);
      // Removing what is not there changes nothing.
      expect((await patch(user.id, [{ op: 'remove', path: 'emails[type eq "home"]' }])).status).toBe(200);
    });

    const refusals: [string, unknown, number, string][] = [
      ['an unknown attribute path', [{ op: 'replace', path: 'shoeSize', value: 44 }], 400, 'invalidPath'],
      ['an unknown sub-attribute after a filter', [{ op: 'replace', path: 'emails[type eq "work"].colour', value: 'x' }], 400, 'invalidPath'],
      ['a filter on a simple attribute', [{ op: 'replace', path: 'userName[value eq "x"]', value: 'x' }], 400, 'invalidPath'],
      ['an unparseable filter', [{ op: 'replace', path: 'emails[type eq].value', value: 'x' }], 400, 'invalidPath'],
      ['a read-only attribute', [{ op: 'replace', path: 'groups', value: [] }], 400, 'mutability'],
      ['removing the required userName', [{ op: 'remove', path: 'userName' }], 400, 'mutability'],
      ['a remove without a path', [{ op: 'remove' }], 400, 'noTarget'],
      ['a replace through a filter that matches nothing', [{ op: 'replace', path: 'emails[type eq "fax"]', value: { value: 'x' } }], 400, 'noTarget'],
      ['an unknown op', [{ op: 'merge', path: 'title', value: 'x' }], 400, 'invalidSyntax'],
      ['a value of the wrong type', [{ op: 'replace', path: 'active', value: 'maybe' }], 400, 'invalidValue'],
      ['a userName another User has', [{ op: 'replace', path: 'userName', value: 'ADA@acme.test' }], 409, 'uniqueness'],
    ];
    it.each(refusals)('refuses %s, and applies none of the operations', async (_name, operations, status, scimType) => {
      const { body: user } = await scim('/Users', { body: oktaUser(`refused-${Math.random().toString(36).slice(2, 8)}@acme.test`) });
      const response = await patch(user.id, [{ op: 'replace', path: 'displayName', value: 'Changed first' }, ...(operations as unknown[])]);
      expect(response).toMatchObject({ status, body: scimError(status, scimType) });
      expect((await scim(`/Users/${user.id}`)).body).toEqual(user);
    });

    it('refuses a body that is not a PatchOp message', async () => {
      const { body: user } = await scim('/Users', { body: oktaUser('not-patchop@acme.test') });
      expect(await scim(`/Users/${user.id}`, { method: 'PATCH', body: { Operations: [{ op: 'replace', path: 'active', value: false }] } })).toMatchObject({ status: 400, body: scimError(400, 'invalidSyntax') });
      expect(await scim(`/Users/${user.id}`, { method: 'PATCH', body: { schemas: [PATCH_OP], Operations: [] } })).toMatchObject({ status: 400, body: scimError(400, 'invalidSyntax') });
      expect(await scim(`/Users/${user.id}`, { method: 'PATCH', body: { schemas: [PATCH_OP], Operations: Array.from({ length: 101 }, () => ({ op: 'replace', path: 'title', value: 'x' })) } })).toMatchObject({ status: 400, body: scimError(400, 'invalidValue') });
    });
  });

  describe('versions (ETags, RFC 7644 §3.14)', () => {
    it('answers If-None-Match with 304 while the version holds, and refuses a change whose If-Match names another (412, nothing changed)', async () => {
      const { body: user } = await scim('/Users', { body: oktaUser('versioned@acme.test') });
      expect(user.meta.version).toBe('W/"1"');
      const unchanged = await scim(`/Users/${user.id}`, { headers: { 'if-none-match': 'W/"1"' } });
      expect(unchanged.status).toBe(304);
      expect(unchanged.headers.get('etag')).toBe('W/"1"');
      expect((await scim(`/Users/${user.id}`, { headers: { 'if-none-match': 'W/"7", W/"8"' } })).status).toBe(200);

      const stale = { 'if-match': 'W/"0"' };
      expect(await scim(`/Users/${user.id}`, { method: 'PUT', body: oktaUser('versioned@acme.test', { title: 'x' }), headers: stale })).toMatchObject({ status: 412, body: scimError(412) });
      expect(await scim(`/Users/${user.id}`, { method: 'PATCH', body: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'x' }] }, headers: stale })).toMatchObject({ status: 412 });
      expect(await scim(`/Users/${user.id}`, { method: 'DELETE', headers: stale })).toMatchObject({ status: 412 });
      expect((await scim(`/Users/${user.id}`)).body).toEqual(user);

      const changed = await scim(`/Users/${user.id}`, { method: 'PUT', body: oktaUser('versioned@acme.test', { title: 'Lead' }), headers: { 'if-match': 'W/"1"' } });
      expect(changed).toMatchObject({ status: 200, body: { title: 'Lead', meta: { version: 'W/"2"' } } });
      expect((await scim(`/Users/${user.id}`, { method: 'PATCH', body: { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: 'title' }] }, headers: { 'if-match': '*' } })).status).toBe(200);
      expect((await scim(`/Users/${user.id}`, { method: 'DELETE', headers: { 'if-match': '"3"' } })).status).toBe(204);
    });
  });
});
