import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mutate } from '../helpers/oauth.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

/**
 * The SCIM server of a directory over HTTP: its bearer token and nothing else opens it, the
 * discovery documents tell the truth, and every failure is an RFC 7644 §3.12 error in
 * `application/scim+json`.
 */
const REQUESTS_PER_MINUTE = 40;
let server: TestServer;
let ws: TestWorkspace;
let orgId: string;

interface Directory {
  id: string;
  baseUrl: string;
  token: string;
}

async function newDirectory(workspace: TestWorkspace, organizationId: string, name: string): Promise<Directory> {
  const created = await mutate(workspace.client, 'createDirectory', 'CreateDirectoryInput', 'token directory { id baseUrl }', { organizationId, name, provider: 'OKTA' });
  return { id: created.directory.id, baseUrl: created.directory.baseUrl, token: created.token };
}

async function scim(url: string, token: string | null, init: { method?: string; body?: string; contentType?: string } = {}) {
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers: {
      ...(token !== null ? { authorization: `Bearer ${token}` } : {}),
      ...(init.body !== undefined ? { 'content-type': init.contentType ?? 'application/scim+json' } : {}),
    },
    body: init.body,
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const scimError = (status: number, scimType?: string) => ({ schemas: [ERROR], status: String(status), ...(scimType ? { scimType } : {}), detail: expect.any(String) });

beforeAll(async () => {
  server = await startServer({ scimRequestsPerMinute: REQUESTS_PER_MINUTE });
  ws = await server.workspace('SCIM server');
  orgId = (await mutate(ws.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId: ws.development.id, name: 'Acme' })).organization.id;
});
afterAll(() => server.close());

describe('discovery (RFC 7644 §4)', () => {
  let directory: Directory;
  beforeAll(async () => {
    directory = await newDirectory(ws, orgId, 'Discovery');
  });

  it('serves ServiceProviderConfig as application/scim+json, advertising only what is served', async () => {
    const response = await scim(`${directory.baseUrl}/ServiceProviderConfig`, directory.token);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/scim\+json/);
    expect(response.body).toMatchObject({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
      patch: { supported: true },
      bulk: { supported: true, maxOperations: 1000, maxPayloadSize: 1048576 },
      filter: { supported: true, maxResults: 100 },
      sort: { supported: true },
      etag: { supported: true },
      changePassword: { supported: false },
      authenticationSchemes: [{ type: 'oauthbearertoken', primary: true }],
      meta: { resourceType: 'ServiceProviderConfig', location: `${directory.baseUrl}/ServiceProviderConfig` },
    });
  });

  it('lists the resource types it serves (User, with the Enterprise extension, and Group), and each by id', async () => {
    const list = await scim(`${directory.baseUrl}/ResourceTypes`, directory.token);
    expect(list.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 2, startIndex: 1, itemsPerPage: 2 });
    expect(list.body.Resources.map((type: { id: string }) => type.id)).toEqual(['User', 'Group']);
    expect((await scim(`${directory.baseUrl}/ResourceTypes/Group`, directory.token)).body).toMatchObject({ id: 'Group', endpoint: '/Groups', schema: 'urn:ietf:params:scim:schemas:core:2.0:Group' });
    const user = await scim(`${directory.baseUrl}/ResourceTypes/User`, directory.token);
    expect(user.body).toMatchObject({
      id: 'User',
      endpoint: '/Users',
      schema: 'urn:ietf:params:scim:schemas:core:2.0:User',
      schemaExtensions: [{ schema: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', required: false }],
      meta: { location: `${directory.baseUrl}/ResourceTypes/User`, resourceType: 'ResourceType' },
    });
    expect(await scim(`${directory.baseUrl}/ResourceTypes/Printer`, directory.token)).toMatchObject({ status: 404, body: scimError(404) });
  });

  it('describes the schemas attribute by attribute, found by URN in any case', async () => {
    const list = await scim(`${directory.baseUrl}/Schemas`, directory.token);
    expect(list.body.Resources.map((schema: { id: string }) => schema.id)).toEqual([
      'urn:ietf:params:scim:schemas:core:2.0:User',
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
      'urn:ietf:params:scim:schemas:core:2.0:Group',
    ]);
    const group = list.body.Resources[2];
    expect(group.attributes.map((attribute: { name: string }) => attribute.name)).toEqual(['displayName', 'members']);
    const user = list.body.Resources[0];
    expect(user.attributes.find((attribute: { name: string }) => attribute.name === 'userName')).toEqual({
      name: 'userName',
      type: 'string',
      multiValued: false,
      description: expect.any(String),
      required: true,
      caseExact: false,
      mutability: 'readWrite',
      returned: 'default',
      uniqueness: 'server',
    });
    expect(user.attributes.find((attribute: { name: string }) => attribute.name === 'password')).toMatchObject({ mutability: 'writeOnly', returned: 'never' });
    const emails = user.attributes.find((attribute: { name: string }) => attribute.name === 'emails');
    expect(emails).toMatchObject({ type: 'complex', multiValued: true });
    expect(emails.subAttributes.map((sub: { name: string }) => sub.name)).toEqual(['value', 'display', 'type', 'primary']);

    const enterprise = await scim(`${directory.baseUrl}/Schemas/URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER`, directory.token);
    expect(enterprise.status).toBe(200);
    expect(enterprise.body.attributes.find((attribute: { name: string }) => attribute.name === 'manager').subAttributes.map((sub: { name: string }) => sub.name)).toEqual(['value', '$ref', 'displayName']);
    expect((await scim(`${directory.baseUrl}/Schemas/urn:example:nothing`, directory.token)).status).toBe(404);
  });

  it('answers what it does not serve with SCIM errors: an unknown endpoint 404, a write to discovery 405', async () => {
    expect(await scim(`${directory.baseUrl}/Printers`, directory.token)).toMatchObject({ status: 404, body: scimError(404) });
    expect(await scim(`${directory.baseUrl}/Schemas/a/b`, directory.token)).toMatchObject({ status: 404, body: scimError(404) });
    expect(await scim(`${directory.baseUrl}/%E0%A4%A`, directory.token)).toMatchObject({ status: 400, body: scimError(400, 'invalidSyntax') });
    // Outside SCIM the same refusal has the REST API's shape, not Fastify's own body.
    const rest = await fetch(`${server.url}/audit/%E0%A4%A`);
    expect(rest.status).toBe(400);
    expect(await rest.json()).toEqual({ error: { code: 'BAD_REQUEST', message: expect.any(String), requestId: expect.any(String) } });
    const write = await scim(`${directory.baseUrl}/ServiceProviderConfig`, directory.token, { method: 'PUT', body: '{}' });
    expect(write).toMatchObject({ status: 405, body: scimError(405) });
    expect(write.headers.get('allow')).toBe('GET');
  });

  it('refuses a body that is not JSON (invalidSyntax) or not JSON at all (415), before anything else', async () => {
    const broken = await scim(`${directory.baseUrl}/Users`, directory.token, { method: 'POST', body: '{"userName": ' });
    expect(broken).toMatchObject({ status: 400, body: scimError(400, 'invalidSyntax') });
    const plain = await scim(`${directory.baseUrl}/Users`, directory.token, { method: 'POST', body: 'userName=x', contentType: 'text/plain' });
    expect(plain.status).toBe(415);
    expect(plain.body).toMatchObject({ schemas: [ERROR], status: '415' });
    expect(plain.headers.get('content-type')).toMatch(/^application\/scim\+json/);
  });
});

describe('the bearer token', () => {
  it('opens its own directory only: no token, a wrong one, another directory\'s, another workspace\'s, an unknown directory are the same 401', async () => {
    const own = await newDirectory(ws, orgId, 'Own');
    const sibling = await newDirectory(ws, orgId, 'Sibling');
    const other = await server.workspace('SCIM other');
    const otherOrg = (await mutate(other.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId: other.development.id, name: 'Initech' })).organization.id;
    const foreign = await newDirectory(other, otherOrg, 'Foreign');
    const url = `${own.baseUrl}/ServiceProviderConfig`;
    expect((await scim(url, own.token)).status).toBe(200);
    const refused = [
      await scim(url, null),
      await scim(url, 'gh_scim_not-the-token'),
      await scim(url, sibling.token),
      await scim(url, foreign.token),
      await scim(`${server.url}/scim/v2/dir_01jzzzzzzzzzzzzzzzzzzzzzzz/ServiceProviderConfig`, own.token),
      await scim(`${server.url}/scim/v2/not-a-directory/ServiceProviderConfig`, own.token),
    ];
    for (const response of refused) {
      expect(response).toMatchObject({ status: 401, body: scimError(401) });
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    expect(new Set(refused.map((response) => response.body.detail)).size).toBe(1);
  });

  it('keeps the replaced token working during its overlap only, and stops an INACTIVE directory at once', async () => {
    const directory = await newDirectory(ws, orgId, 'Rotating');
    const url = `${directory.baseUrl}/ServiceProviderConfig`;
    const rotated = await mutate(ws.client, 'rotateDirectoryToken', 'RotateDirectoryTokenInput', 'token', { id: directory.id, overlapSeconds: 600 });
    expect((await scim(url, directory.token)).status).toBe(200);
    expect((await scim(url, rotated.token)).status).toBe(200);
    const again = await mutate(ws.client, 'rotateDirectoryToken', 'RotateDirectoryTokenInput', 'token', { id: directory.id, overlapSeconds: 0 });
    expect((await scim(url, directory.token)).status).toBe(401);
    expect((await scim(url, rotated.token)).status).toBe(401);
    expect((await scim(url, again.token)).status).toBe(200);

    await mutate(ws.client, 'updateDirectory', 'UpdateDirectoryInput', 'directory { status }', { id: directory.id, status: 'INACTIVE' });
    expect((await scim(url, again.token)).status).toBe(401);
    await mutate(ws.client, 'updateDirectory', 'UpdateDirectoryInput', 'directory { status }', { id: directory.id, status: 'ACTIVE' });
    expect((await scim(url, again.token)).status).toBe(200);
  });

  it('records when the directory last called', async () => {
    const directory = await newDirectory(ws, orgId, 'Calling');
    const before = Date.now();
    await scim(`${directory.baseUrl}/ResourceTypes`, directory.token);
    const read = await ws.client.data(`query($id: ID!) { node(id: $id) { ... on Directory { lastRequestAt } } }`, { id: directory.id });
    expect(new Date(read.node.lastRequestAt).getTime()).toBeGreaterThanOrEqual(before - 1000);
  });

  it('holds each directory to its request budget: 429 with Retry-After, other directories unaffected', async () => {
    const org = (await mutate(ws.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId: ws.development.id, name: 'Busy Co' })).organization.id;
    const busy = await newDirectory(ws, org, 'Busy');
    const calm = await newDirectory(ws, org, 'Calm');
    const statuses: number[] = [];
    let limited;
    for (let i = 0; i <= REQUESTS_PER_MINUTE; i += 1) {
      const response = await scim(`${busy.baseUrl}/ServiceProviderConfig`, busy.token);
      statuses.push(response.status);
      if (response.status === 429) limited = response;
    }
    expect(statuses.filter((status) => status === 200)).toHaveLength(REQUESTS_PER_MINUTE);
    expect(limited).toMatchObject({ status: 429, body: scimError(429) });
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await scim(`${calm.baseUrl}/ServiceProviderConfig`, calm.token)).status).toBe(200);
  });
});
