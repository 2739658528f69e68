import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

let server: TestServer;
let ws: TestWorkspace;

beforeAll(async () => {
  server = await startServer();
  ws = await server.workspace();
});
afterAll(() => server.close());

describe('GraphQL over HTTP (graphql-http server audits)', () => {
  it('passes every audit with no failure', async () => {
    // The audits are an independent client: every request carries a valid key, as any client's would.
    const fetchFn: typeof fetch = (input, init = {}) => {
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${ws.ownerKey}`);
      return fetch(input, { ...init, headers });
    };
    const audits = serverAudits({ url: server.graphqlUrl, fetchFn });
    const failures: string[] = [];
    let warnings = 0;
    for (const audit of audits) {
      const result = await audit.fn();
      if (result.status === 'error') failures.push(`${audit.name}: ${result.reason}`);
      if (result.status === 'warn') warnings += 1;
    }
    expect(failures).toEqual([]);
    expect(audits.length).toBeGreaterThan(20);
    expect(warnings).toBeLessThan(audits.length);
  });

  it('serves no landing page that loads third-party script', async () => {
    const page = await fetch(server.graphqlUrl, { headers: { accept: 'text/html' } });
    const body = await page.text();
    expect(page.headers.get('content-type') ?? '').not.toMatch(/text\/html/);
    expect(body).not.toMatch(/cdn\.apollographql\.com|<script/i);
  });

  it('answers queries over GET and refuses mutations over GET', async () => {
    const query = encodeURIComponent('{ viewer { scopes } }');
    const get = await fetch(`${server.graphqlUrl}?query=${query}`, { headers: { authorization: `Bearer ${ws.ownerKey}` } });
    expect(get.status).toBe(200);
    expect(((await get.json()) as { data: { viewer: { scopes: string[] } } }).data.viewer.scopes).toEqual(['*']);

    const mutation = encodeURIComponent('mutation { updateWorkspace(input: { name: "x" }) { userErrors { code } } }');
    const refused = await fetch(`${server.graphqlUrl}?query=${mutation}`, { headers: { authorization: `Bearer ${ws.ownerKey}` } });
    expect(refused.status).toBe(405);
  });
});

describe('server limits', () => {
  it('rejects a query nested deeper than the limit', async () => {
    let selection = 'id';
    for (let i = 0; i < 6; i += 1) selection = `organization { memberships(first: 1) { nodes { ${selection} } } }`;
    const result = await ws.client.request(`{ node(id: "mem_01") { ... on Membership { ${selection} } } }`);
    expect(result.status).toBe(400);
    expect(result.errors?.[0].extensions?.code).toBe('QUERY_TOO_DEEP');
  });

  it('rejects a query whose page sizes multiply past the complexity limit', async () => {
    const result = await ws.client.request(
      `query($env: ID) { organizations(environmentId: $env, first: 100) { nodes { memberships(first: 100) { nodes { user { memberships(first: 100) { nodes { id } } } } } } } }`,
      { env: ws.development.id },
    );
    expect(result.status).toBe(400);
    expect(result.errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(result.data ?? null).toBeNull();
  });

  it('prices a connection without a page size at the default page size', async () => {
    // Up to 20 × 20 × 20 rows: 1 + 20 × (1 + 1 + 20 × (1 + 1 + 1 + 1 + 20 × 4)) = 33241 > 20000.
    const unpaged = `query($env: ID) { organizations(environmentId: $env) { nodes { memberships { nodes {
      user { memberships { nodes { id organizationId createdAt } } } } } } } }`;
    const result = await ws.client.request(unpaged, { env: ws.development.id });
    expect(result.status).toBe(400);
    expect(result.errors?.[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', complexity: 33241 });
    expect(result.data ?? null).toBeNull();

    // The same shape with small pages is cheap and runs.
    const paged = await ws.client.request(unpaged.replace(/(organizations\(environmentId: \$env)\)/, '$1, first: 5)').replace(/memberships \{/g, 'memberships(first: 5) {'), {
      env: ws.development.id,
    });
    expect(paged.errors).toBeUndefined();
    expect(paged.data?.organizations.nodes).toEqual([]);
  });

  it('prices nodes(ids:) by the number of ids', async () => {
    const query = `query($ids: [ID!]!) { nodes(ids: $ids) { ... on Organization { memberships(first: 100) { nodes { id createdAt } } } } }`;
    const ids = (n: number) => Array.from({ length: n }, (_, i) => `org_${String(i).padStart(26, '0')}`);
    // 1 + 100 × (1 + 100 × 3) = 30101 > 20000.
    const many = await ws.client.request(query, { ids: ids(100) });
    expect(many.status).toBe(400);
    expect(many.errors?.[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', complexity: 30101 });
    // 1 + 2 × 301 = 603: runs (and finds nothing).
    const few = await ws.client.request(query, { ids: ids(2) });
    expect(few.errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });

  it('rejects a page size over the cap', async () => {
    const result = await ws.client.request(`query($env: ID) { organizations(environmentId: $env, first: 101) { totalCount } }`, {
      env: ws.development.id,
    });
    expect(result.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'pagination.page_too_large' });
  });

  it('rejects a body over the size limit with 413 and changes nothing', async () => {
    const name = 'x'.repeat(server.config.bodyLimit + 1);
    const response = await fetch(server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ws.ownerKey}` },
      body: JSON.stringify({ query: 'mutation($n: String!) { updateWorkspace(input: { name: $n }) { userErrors { code } } }', variables: { n: name } }),
    });
    expect(response.status).toBe(413);
    const workspace = await ws.client.data('{ workspace { name } }');
    expect(workspace.workspace.name).toBe(ws.workspace.name);
  });

  it('answers an unexpected failure with a generic error and a request id, never internals', async () => {
    const result = await ws.client.request(`{ node(id: "not-an-id") { id } }`);
    expect(result.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'node.invalid_id' });
    expect(result.errors?.[0].extensions?.requestId).toMatch(/^req_/);
    expect(JSON.stringify(result)).not.toMatch(/stack|at .*\.ts/);
  });

  it('makes its own request id unless a trusted proxy sent one', async () => {
    const direct = await ws.client.request('{ viewer { scopes } }', {}, { 'x-request-id': 'trace-123' });
    expect(direct.headers.get('x-request-id')).toMatch(/^req_[0-9a-z]{26}$/);

    const proxied = await startServer({ trustProxy: true });
    try {
      const client = (await proxied.workspace()).client;
      const ok = await client.request('{ viewer { scopes } }', {}, { 'x-request-id': 'trace-123' });
      expect(ok.headers.get('x-request-id')).toBe('trace-123');
      const unsafe = await client.request('{ viewer { scopes } }', {}, { 'x-request-id': 'bad id\twith spaces' });
      expect(unsafe.headers.get('x-request-id')).toMatch(/^req_/);
    } finally {
      await proxied.close();
    }
  });

  it('refuses input PostgreSQL cannot store (NUL) and absurd nesting with BAD_USER_INPUT, changing nothing', async () => {
    const create = 'mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } userErrors { code } } }';
    const nul = await ws.client.request(create, { input: { environmentId: ws.development.id, name: 'bad\u0000name' } });
    expect(nul.status).toBe(400);
    expect(nul.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'input.invalid' });
    const inline = await ws.client.request(
      `mutation { createOrganization(input: { environmentId: "${ws.development.id}", name: "x\\u0000y" }) { organization { id } } }`,
    );
    expect(inline.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'input.invalid' });
    let deep: unknown = 'leaf';
    for (let i = 0; i < 40; i += 1) deep = { nested: deep };
    const nested = await ws.client.request(create, { input: { environmentId: ws.development.id, name: 'Deep', metadata: deep } });
    expect(nested.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'input.invalid' });
    const list = await ws.client.data('query($env: ID) { organizations(environmentId: $env) { totalCount } }', { env: ws.development.id });
    expect(list.organizations.totalCount).toBe(0);
  });
});

describe('probes', () => {
  it('reports health and readiness without authentication', async () => {
    expect(await (await fetch(`${server.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });
});
