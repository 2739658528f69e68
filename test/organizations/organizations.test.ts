import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GraphQLClient } from '../helpers/graphql.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

const DOMAIN_FIELDS = 'id domain state organizationId verificationToken verifiedAt createdAt';
const ORG_FIELDS = `id name externalId metadata environmentId createdAt updatedAt domains { ${DOMAIN_FIELDS} }`;
const USER_ERRORS = 'userErrors { field code message }';

const CREATE = `mutation($input: CreateOrganizationInput!) {
  createOrganization(input: $input) { organization { ${ORG_FIELDS} } ${USER_ERRORS} }
}`;
const UPDATE = `mutation($input: UpdateOrganizationInput!) {
  updateOrganization(input: $input) { organization { ${ORG_FIELDS} } ${USER_ERRORS} }
}`;
const DELETE = `mutation($id: ID!) { deleteOrganization(input: { id: $id }) { deletedId ${USER_ERRORS} } }`;
const ADD_DOMAIN = `mutation($input: AddOrganizationDomainInput!) {
  addOrganizationDomain(input: $input) { domain { ${DOMAIN_FIELDS} } ${USER_ERRORS} }
}`;
const REMOVE_DOMAIN = `mutation($id: ID!) {
  removeOrganizationDomain(input: { id: $id }) { domain { ${DOMAIN_FIELDS} } ${USER_ERRORS} }
}`;
const BY_ID = `query($id: ID) { organization(id: $id) { ${ORG_FIELDS} } }`;
const BY_EXTERNAL_ID = `query($externalId: String, $env: ID) {
  organization(externalId: $externalId, environmentId: $env) { id name externalId environmentId }
}`;
const LIST = `query($env: ID, $filter: OrganizationFilter, $orderBy: OrganizationOrder,
                   $first: Int, $after: String, $last: Int, $before: String) {
  organizations(environmentId: $env, filter: $filter, orderBy: $orderBy,
                first: $first, after: $after, last: $last, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id } }
    nodes { id name createdAt externalId }
  }
}`;

interface OrgNode {
  id: string;
  name: string;
  createdAt: string;
  externalId: string | null;
}

let server: TestServer;
let ws: TestWorkspace;
let dev: string;
let prod: string;

async function createOrg(input: Record<string, unknown>, client: GraphQLClient = ws.client, env = dev) {
  const result = await client.data(CREATE, { input: { environmentId: env, ...input } });
  return result.createOrganization as { organization: any; userErrors: { field: string[] | null; code: string; message: string }[] };
}

async function mustCreateOrg(input: Record<string, unknown>, client: GraphQLClient = ws.client, env = dev) {
  const payload = await createOrg(input, client, env);
  expect(payload.userErrors).toEqual([]);
  expect(payload.organization).toBeTruthy();
  return payload.organization;
}

async function list(client: GraphQLClient, variables: Record<string, unknown>) {
  const result = await client.data(LIST, variables);
  return result.organizations as {
    totalCount: number;
    pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
    edges: { cursor: string; node: { id: string } }[];
    nodes: OrgNode[];
  };
}

beforeAll(async () => {
  server = await startServer();
  ws = await server.workspace('Organizations');
  dev = ws.development.id;
  prod = ws.production.id;
});
afterAll(() => server.close());

describe('create, update, delete', () => {
  it('creates an organization with normalised fields and domains', async () => {
    const org = await mustCreateOrg({
      name: '  Initech  ',
      externalId: 'initech-1',
      metadata: { plan: 'enterprise', seats: 42, nested: { flag: true } },
      domains: [{ domain: 'Initech.COM.' }, { domain: 'initech.io', state: 'VERIFIED' }],
    });
    expect(org.id).toMatch(/^org_[0-9a-z]{26}$/);
    expect(org).toMatchObject({
      name: 'Initech',
      externalId: 'initech-1',
      metadata: { plan: 'enterprise', seats: 42, nested: { flag: true } },
      environmentId: dev,
    });
    expect(org.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(org.domains.map((d: any) => [d.domain, d.state])).toEqual([
      ['initech.com', 'PENDING'],
      ['initech.io', 'VERIFIED'],
    ]);
    const [pending, verified] = org.domains;
    expect(pending.verifiedAt).toBeNull();
    expect(verified.verifiedAt).not.toBeNull();
    expect(pending.organizationId).toBe(org.id);
    expect(pending.verificationToken).toMatch(/^gatehouse-verification=.{20,}$/);
    expect(pending.verificationToken).not.toBe(verified.verificationToken);
  });

  it('defaults metadata to an empty object and externalId to null', async () => {
    const org = await mustCreateOrg({ name: 'Bare' });
    expect(org).toMatchObject({ metadata: {}, externalId: null, domains: [] });
  });

  it('rejects an empty name as a user error', async () => {
    const payload = await createOrg({ name: '   ' });
    expect(payload.organization).toBeNull();
    expect(payload.userErrors).toEqual([{ field: ['input', 'name'], code: 'validation.required', message: expect.any(String) }]);
  });

  it('updates the name, replaces metadata, keeps an omitted externalId and clears it with null', async () => {
    const org = await mustCreateOrg({ name: 'Hooli', externalId: 'hooli-ext', metadata: { a: 1, b: { c: 2 } } });

    const renamed = (await ws.client.data(UPDATE, { input: { id: org.id, name: 'Hooli XYZ', metadata: { d: 3 } } })).updateOrganization;
    expect(renamed.userErrors).toEqual([]);
    // Metadata is replaced, not merged; the omitted externalId stays.
    expect(renamed.organization).toMatchObject({ id: org.id, name: 'Hooli XYZ', metadata: { d: 3 }, externalId: 'hooli-ext' });
    expect(new Date(renamed.organization.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(org.updatedAt).getTime());

    const cleared = (await ws.client.data(UPDATE, { input: { id: org.id, externalId: null } })).updateOrganization;
    expect(cleared.userErrors).toEqual([]);
    expect(cleared.organization).toMatchObject({ name: 'Hooli XYZ', externalId: null, metadata: { d: 3 } });

    // The change is persisted, not only echoed.
    const fetched = (await ws.client.data(BY_ID, { id: org.id })).organization;
    expect(fetched).toMatchObject({ name: 'Hooli XYZ', externalId: null, metadata: { d: 3 } });
    const byOldExternalId = await ws.client.data(BY_EXTERNAL_ID, { externalId: 'hooli-ext', env: dev });
    expect(byOldExternalId.organization).toBeNull();

    // The freed external id can be used again.
    const reuse = await createOrg({ name: 'Hooli 2', externalId: 'hooli-ext' });
    expect(reuse.userErrors).toEqual([]);
  });

  it('rejects metadata that is not a JSON object before it reaches the service', async () => {
    for (const metadata of [[1, 2, 3], 'text', 42]) {
      const result = await ws.client.request(CREATE, { input: { environmentId: dev, name: 'Bad Metadata Co', metadata } });
      expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(result.data ?? null).toBeNull();
    }
    const found = await list(ws.client, { env: dev, filter: { namePrefix: 'Bad Metadata Co' } });
    expect(found.totalCount).toBe(0);
  });

  it('accepts metadata of exactly 16 KiB and rejects larger metadata as a user error', async () => {
    // JSON.stringify({ b: "..." }) adds 8 bytes to the string.
    const exact = { b: 'x'.repeat(16 * 1024 - 8) };
    expect(Buffer.byteLength(JSON.stringify(exact))).toBe(16 * 1024);
    const ok = await createOrg({ name: 'Big Metadata', metadata: exact });
    expect(ok.userErrors).toEqual([]);
    expect(ok.organization.metadata.b).toHaveLength(16 * 1024 - 8);

    const tooLarge = { b: 'x'.repeat(16 * 1024 - 7) };
    const rejected = await createOrg({ name: 'Too Big Metadata', metadata: tooLarge });
    expect(rejected.organization).toBeNull();
    expect(rejected.userErrors).toEqual([
      { field: ['input', 'metadata'], code: 'validation.metadata_too_large', message: expect.any(String) },
    ]);
    // Multi-byte characters count as bytes, not characters.
    const multiByte = await createOrg({ name: 'Too Big Unicode', metadata: { b: 'é'.repeat(8200) } });
    expect(multiByte.userErrors.map((e) => e.code)).toEqual(['validation.metadata_too_large']);

    const update = (await ws.client.data(UPDATE, { input: { id: ok.organization.id, metadata: tooLarge } })).updateOrganization;
    expect(update.organization).toBeNull();
    expect(update.userErrors.map((e: any) => e.code)).toEqual(['validation.metadata_too_large']);
    const unchanged = (await ws.client.data(BY_ID, { id: ok.organization.id })).organization;
    expect(unchanged.metadata.b).toHaveLength(16 * 1024 - 8);

    const names = await list(ws.client, { env: dev, filter: { namePrefix: 'Too Big' } });
    expect(names.totalCount).toBe(0);
  });

  it('deletes an organization; it is then not found by id and null by external id', async () => {
    const org = await mustCreateOrg({ name: 'Doomed', externalId: 'doomed-1', domains: [{ domain: 'doomed.example' }] });
    const deleted = (await ws.client.data(DELETE, { id: org.id })).deleteOrganization;
    expect(deleted).toEqual({ deletedId: org.id, userErrors: [] });

    const byId = await ws.client.request(BY_ID, { id: org.id });
    expect(byId.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(byId.errors?.[0]?.extensions?.reason).toBe('organization.not_found');
    expect((await ws.client.data(BY_EXTERNAL_ID, { externalId: 'doomed-1', env: dev })).organization).toBeNull();

    // Its domain went with it: the domain is free again in the environment.
    const other = await createOrg({ name: 'Heir', domains: [{ domain: 'doomed.example' }] });
    expect(other.userErrors).toEqual([]);

    const again = await ws.client.request(DELETE, { id: org.id });
    expect(again.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('deleting an organization removes its memberships', async () => {
    const org = await mustCreateOrg({ name: 'Members Inc' });
    const users: string[] = [];
    for (const email of ['m1@members.example', 'm2@members.example']) {
      const created = await ws.client.data(
        `mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } userErrors { code } } }`,
        { input: { environmentId: dev, email } },
      );
      users.push(created.createUser.user.id);
    }
    const memberships: string[] = [];
    for (const userId of users) {
      const created = await ws.client.data(
        `mutation($input: CreateMembershipInput!) { createMembership(input: $input) { membership { id } userErrors { code } } }`,
        { input: { organizationId: org.id, userId } },
      );
      expect(created.createMembership.userErrors).toEqual([]);
      memberships.push(created.createMembership.membership.id);
    }
    const USER_MEMBERSHIPS = `query($id: ID) { user(id: $id) { memberships { totalCount nodes { id } } } }`;
    expect((await ws.client.data(USER_MEMBERSHIPS, { id: users[0] })).user.memberships.totalCount).toBe(1);

    expect((await ws.client.data(DELETE, { id: org.id })).deleteOrganization.deletedId).toBe(org.id);

    for (const userId of users) {
      const { user } = await ws.client.data(USER_MEMBERSHIPS, { id: userId });
      expect(user.memberships).toEqual({ totalCount: 0, nodes: [] });
    }
    for (const id of memberships) {
      const node = await ws.client.request(`query($id: ID!) { node(id: $id) { id } }`, { id });
      expect(node.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    }
    const byOrg = await ws.client.data(`query($env: ID, $org: ID) { users(environmentId: $env, filter: { organizationId: $org }) { totalCount } }`, {
      env: dev,
      org: org.id,
    });
    expect(byOrg.users.totalCount).toBe(0);
  });
});

describe('lookups', () => {
  it('finds an organization by id and by external id within an environment', async () => {
    const devOrg = await mustCreateOrg({ name: 'Lookup Dev', externalId: 'shared-ext' });
    const prodOrg = await mustCreateOrg({ name: 'Lookup Prod', externalId: 'shared-ext' }, ws.client, prod);

    expect((await ws.client.data(BY_ID, { id: devOrg.id })).organization).toMatchObject({ id: devOrg.id, name: 'Lookup Dev' });
    expect((await ws.client.data(BY_EXTERNAL_ID, { externalId: 'shared-ext', env: dev })).organization).toEqual({
      id: devOrg.id,
      name: 'Lookup Dev',
      externalId: 'shared-ext',
      environmentId: dev,
    });
    expect((await ws.client.data(BY_EXTERNAL_ID, { externalId: 'shared-ext', env: prod })).organization).toEqual({
      id: prodOrg.id,
      name: 'Lookup Prod',
      externalId: 'shared-ext',
      environmentId: prod,
    });
    expect((await ws.client.data(BY_EXTERNAL_ID, { externalId: 'no-such-ext', env: dev })).organization).toBeNull();
  });

  it('needs an id or an external id, and an environment for an external id with a workspace key', async () => {
    const neither = await ws.client.request(`{ organization { id } }`);
    expect(neither.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(neither.errors?.[0]?.extensions?.reason).toBe('organization.lookup');

    const noEnv = await ws.client.request(`{ organization(externalId: "shared-ext") { id } }`);
    expect(noEnv.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(noEnv.errors?.[0]?.extensions?.reason).toBe('environment.required');
  });

  it('does not reveal organizations of another workspace', async () => {
    const other = await server.workspace('Other tenant');
    const foreign = await mustCreateOrg({ name: 'Foreign', externalId: 'foreign-ext' }, other.client, other.development.id);
    const byId = await ws.client.request(BY_ID, { id: foreign.id });
    expect(byId.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const byExt = await ws.client.request(BY_EXTERNAL_ID, { externalId: 'foreign-ext', env: other.development.id });
    expect(byExt.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});

describe('filters', () => {
  let fws: TestWorkspace;
  let env: string;
  const byName = new Map<string, string>();

  beforeAll(async () => {
    fws = await server.workspace('Filters');
    env = fws.development.id;
    const specs: Record<string, unknown>[] = [
      { name: 'Acme Corp', externalId: 'acme-corp', domains: [{ domain: 'acme.com' }] },
      { name: 'acme labs', domains: [{ domain: 'acmelabs.io' }, { domain: 'labs.acme.com' }] },
      { name: 'ACMEX' },
      { name: 'Beta' },
      { name: '50% Off' },
      { name: '50 Percent' },
      { name: '50_50' },
      { name: '50x50' },
      { name: '5000' },
      { name: 'back\\slash' },
      { name: 'backXslash' },
    ];
    for (const spec of specs) {
      const org = await mustCreateOrg(spec, fws.client, env);
      byName.set(org.name, org.id);
    }
    // Same domain and external id in the other environment must not leak into this one.
    await mustCreateOrg({ name: 'Acme Prod', externalId: 'acme-corp', domains: [{ domain: 'acme.com' }] }, fws.client, fws.production.id);
  });

  const names = (nodes: OrgNode[]) => nodes.map((n) => n.name).sort();

  it('namePrefix is case-insensitive', async () => {
    const page = await list(fws.client, { env, filter: { namePrefix: 'aCmE' } });
    expect(names(page.nodes)).toEqual(['ACMEX', 'Acme Corp', 'acme labs']);
    expect(page.totalCount).toBe(3);
    const narrower = await list(fws.client, { env, filter: { namePrefix: 'ACME ' } });
    expect(names(narrower.nodes)).toEqual(['Acme Corp', 'acme labs']);
    expect(narrower.totalCount).toBe(2);
  });

  it('namePrefix matches LIKE wildcards literally', async () => {
    const percent = await list(fws.client, { env, filter: { namePrefix: '50%' } });
    expect(names(percent.nodes)).toEqual(['50% Off']);
    expect(percent.totalCount).toBe(1);

    const underscore = await list(fws.client, { env, filter: { namePrefix: '50_' } });
    expect(names(underscore.nodes)).toEqual(['50_50']);
    expect(underscore.totalCount).toBe(1);

    const backslash = await list(fws.client, { env, filter: { namePrefix: 'back\\' } });
    expect(names(backslash.nodes)).toEqual(['back\\slash']);

    const plain = await list(fws.client, { env, filter: { namePrefix: '50' } });
    expect(plain.totalCount).toBe(5);

    const none = await list(fws.client, { env, filter: { namePrefix: '%' } });
    expect(none).toMatchObject({ totalCount: 0, nodes: [] });
  });

  it('filters by exact external id', async () => {
    const page = await list(fws.client, { env, filter: { externalId: 'acme-corp' } });
    expect(page.nodes.map((n) => n.id)).toEqual([byName.get('Acme Corp')]);
    expect(page.totalCount).toBe(1);
    expect((await list(fws.client, { env, filter: { externalId: 'ACME-CORP' } })).totalCount).toBe(0);
    expect((await list(fws.client, { env, filter: { externalId: 'acme' } })).totalCount).toBe(0);
  });

  it('filters by domain, normalising the argument', async () => {
    const page = await list(fws.client, { env, filter: { domain: 'ACME.com.' } });
    expect(page.nodes.map((n) => n.id)).toEqual([byName.get('Acme Corp')]);
    expect(page.totalCount).toBe(1);
    const labs = await list(fws.client, { env, filter: { domain: 'labs.acme.com' } });
    expect(labs.nodes.map((n) => n.id)).toEqual([byName.get('acme labs')]);
    const none = await list(fws.client, { env, filter: { domain: 'nobody.example' } });
    expect(none).toMatchObject({ totalCount: 0, nodes: [] });
  });

  it('combines conditions (all must hold)', async () => {
    const both = await list(fws.client, { env, filter: { namePrefix: 'acme', domain: 'acmelabs.io' } });
    expect(both.nodes.map((n) => n.id)).toEqual([byName.get('acme labs')]);
    expect(both.totalCount).toBe(1);
    const contradiction = await list(fws.client, { env, filter: { namePrefix: 'beta', domain: 'acme.com' } });
    expect(contradiction.totalCount).toBe(0);
    const prefixAndExt = await list(fws.client, { env, filter: { namePrefix: 'ACMEX', externalId: 'acme-corp' } });
    expect(prefixAndExt.totalCount).toBe(0);
  });
});

describe('order and pagination', () => {
  let pws: TestWorkspace;
  let env: string;
  let all: OrgNode[];

  beforeAll(async () => {
    pws = await server.workspace('Pagination');
    env = pws.development.id;
    // Duplicate names make the id tie-breaker matter, also across page boundaries.
    const seedNames = ['Kilo', 'Alpha', 'Echo', 'Bravo', 'Kilo', 'Delta', 'Charlie', 'Kilo', 'Foxtrot', 'Golf', 'Echo'];
    for (const name of seedNames) await mustCreateOrg({ name }, pws.client, env);
    all = (await list(pws.client, { env, first: 100 })).nodes;
    expect(all).toHaveLength(seedNames.length);
  });

  const cmp = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0);
  function expected(field: 'NAME' | 'CREATED_AT', direction: 'ASC' | 'DESC') {
    const key = (n: OrgNode) => (field === 'NAME' ? n.name : new Date(n.createdAt).getTime());
    const sorted = [...all].sort((a, b) => cmp(key(a), key(b)) || cmp(a.id, b.id));
    return (direction === 'ASC' ? sorted : sorted.reverse()).map((n) => n.id);
  }

  it('orders newest first by default', async () => {
    const page = await list(pws.client, { env, first: 100 });
    expect(page.nodes.map((n) => n.id)).toEqual(expected('CREATED_AT', 'DESC'));
  });

  for (const field of ['NAME', 'CREATED_AT'] as const) {
    for (const direction of ['ASC', 'DESC'] as const) {
      it(`orders by ${field} ${direction}, ties broken by id`, async () => {
        const page = await list(pws.client, { env, first: 100, orderBy: { field, direction } });
        expect(page.nodes.map((n) => n.id)).toEqual(expected(field, direction));
        expect(page.totalCount).toBe(all.length);
        if (field === 'NAME' && direction === 'ASC') {
          // Ordered by the stored name; the id breaks ties between the three "Kilo".
          expect(page.nodes.map((n) => n.name)).toEqual(['Alpha', 'Bravo', 'Charlie', 'Delta', 'Echo', 'Echo', 'Foxtrot', 'Golf', 'Kilo', 'Kilo', 'Kilo']);
        }
      });

      it(`pages forward and backward over ${field} ${direction}, visiting every item once`, async () => {
        const orderBy = { field, direction };
        const want = expected(field, direction);

        const forward: string[] = [];
        let after: string | null = null;
        let pages = 0;
        for (;;) {
          const page = await list(pws.client, { env, orderBy, first: 3, after });
          pages += 1;
          expect(page.totalCount).toBe(all.length);
          expect(page.pageInfo.hasPreviousPage).toBe(after !== null);
          expect(page.edges.map((e) => e.node.id)).toEqual(page.nodes.map((n) => n.id));
          expect(page.pageInfo.startCursor).toBe(page.edges[0]?.cursor ?? null);
          expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)?.cursor ?? null);
          forward.push(...page.nodes.map((n) => n.id));
          if (!page.pageInfo.hasNextPage) break;
          expect(page.nodes).toHaveLength(3);
          after = page.pageInfo.endCursor;
          expect(pages).toBeLessThan(10);
        }
        expect(forward).toEqual(want);
        expect(pages).toBe(Math.ceil(all.length / 3));

        const backward: string[] = [];
        let before: string | null = null;
        pages = 0;
        for (;;) {
          const page = await list(pws.client, { env, orderBy, last: 3, before });
          pages += 1;
          expect(page.totalCount).toBe(all.length);
          expect(page.pageInfo.hasNextPage).toBe(before !== null);
          backward.unshift(...page.nodes.map((n) => n.id));
          if (!page.pageInfo.hasPreviousPage) break;
          expect(page.nodes).toHaveLength(3);
          before = page.pageInfo.startCursor;
          expect(pages).toBeLessThan(10);
        }
        expect(backward).toEqual(want);
        expect(new Set(backward).size).toBe(all.length);

        // A cursor from the middle works in both directions around the same item.
        const middle = await list(pws.client, { env, orderBy, first: 5 });
        const cursor = middle.edges[4].cursor;
        const next = await list(pws.client, { env, orderBy, first: 2, after: cursor });
        expect(next.nodes.map((n) => n.id)).toEqual(want.slice(5, 7));
        const previous = await list(pws.client, { env, orderBy, last: 2, before: cursor });
        expect(previous.nodes.map((n) => n.id)).toEqual(want.slice(2, 4));
        expect(previous.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: true });
      });
    }
  }

  it('pages over a filtered list with the filtered totalCount', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page = await list(pws.client, { env, filter: { namePrefix: 'k' }, orderBy: { field: 'NAME', direction: 'ASC' }, first: 2, after });
      expect(page.totalCount).toBe(3);
      seen.push(...page.nodes.map((n) => n.name));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(['Kilo', 'Kilo', 'Kilo']);
  });

  it('defaults to 20 items and allows first: 0', async () => {
    const zero = await list(pws.client, { env, first: 0 });
    expect(zero).toMatchObject({ nodes: [], totalCount: all.length, pageInfo: { startCursor: null, endCursor: null } });
    const hundred = await list(pws.client, { env, first: 100 });
    expect(hundred.nodes).toHaveLength(all.length);
  });

  it('rejects an invalid cursor with BAD_USER_INPUT', async () => {
    const wellFormedButWrong = Buffer.from(JSON.stringify({ a: 1 })).toString('base64url');
    for (const cursor of ['not-a-cursor', wellFormedButWrong]) {
      const after = await pws.client.request(LIST, { env, first: 2, after: cursor });
      expect(after.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'pagination.invalid_cursor' });
      expect(after.data ?? null).toBeNull();
      const before = await pws.client.request(LIST, { env, last: 2, before: cursor });
      expect(before.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'pagination.invalid_cursor' });
    }
  });

  it('rejects first > 100, negative sizes and first together with last', async () => {
    const tooLarge = await pws.client.request(LIST, { env, first: 101 });
    expect(tooLarge.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'pagination.page_too_large' });
    const lastTooLarge = await pws.client.request(LIST, { env, last: 101 });
    expect(lastTooLarge.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'pagination.page_too_large' });
    const negative = await pws.client.request(LIST, { env, first: -1 });
    expect(negative.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'pagination.page_too_large' });
    const both = await pws.client.request(LIST, { env, first: 2, last: 2 });
    expect(both.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'pagination.first_and_last' });
    for (const result of [tooLarge, lastTooLarge, negative, both]) {
      expect(result.errors?.[0]?.extensions?.requestId).toEqual(expect.any(String));
    }
  });
});

describe('domains', () => {
  it('adds a domain normalised to lower case without a trailing dot', async () => {
    const org = await mustCreateOrg({ name: 'Domain Owner' });
    const added = (await ws.client.data(ADD_DOMAIN, { input: { organizationId: org.id, domain: '  Sub.Example.ORG.  ' } }))
      .addOrganizationDomain;
    expect(added.userErrors).toEqual([]);
    expect(added.domain).toMatchObject({ domain: 'sub.example.org', state: 'PENDING', organizationId: org.id, verifiedAt: null });
    expect(added.domain.id).toMatch(/^dom_/);

    const verified = (await ws.client.data(ADD_DOMAIN, { input: { organizationId: org.id, domain: 'a.example.org', state: 'VERIFIED' } }))
      .addOrganizationDomain;
    expect(verified.domain).toMatchObject({ domain: 'a.example.org', state: 'VERIFIED' });
    expect(verified.domain.verifiedAt).not.toBeNull();

    const fetched = (await ws.client.data(BY_ID, { id: org.id })).organization;
    // Alphabetical.
    expect(fetched.domains.map((d: any) => d.domain)).toEqual(['a.example.org', 'sub.example.org']);
  });

  it('rejects invalid domains with validation.domain', async () => {
    const org = await mustCreateOrg({ name: 'Invalid Domains' });
    for (const domain of ['not a domain', 'localhost', '-bad.example', 'bad-.example', 'exa_mple.com', 'example.c', 'a..example', '', 'http://x.example']) {
      const result = (await ws.client.data(ADD_DOMAIN, { input: { organizationId: org.id, domain } })).addOrganizationDomain;
      expect(result.domain, domain).toBeNull();
      expect(result.userErrors, domain).toEqual([{ field: ['input', 'domain'], code: 'validation.domain', message: expect.any(String) }]);
    }
    const created = await createOrg({ name: 'Invalid On Create', domains: [{ domain: 'ok.example' }, { domain: 'not valid' }] });
    expect(created.organization).toBeNull();
    expect(created.userErrors).toEqual([
      { field: ['input', 'domains', '1', 'domain'], code: 'validation.domain', message: expect.any(String) },
    ]);
    expect((await list(ws.client, { env: dev, filter: { namePrefix: 'Invalid On Create' } })).totalCount).toBe(0);
    expect((await ws.client.data(BY_ID, { id: org.id })).organization.domains).toEqual([]);
  });

  it('rejects a domain used by another organization of the same environment, but allows it in the other environment', async () => {
    const first = await mustCreateOrg({ name: 'First Claim', domains: [{ domain: 'claimed.example' }] });
    const second = await mustCreateOrg({ name: 'Second Claim' });

    const taken = (await ws.client.data(ADD_DOMAIN, { input: { organizationId: second.id, domain: 'CLAIMED.example.' } })).addOrganizationDomain;
    expect(taken.domain).toBeNull();
    expect(taken.userErrors).toEqual([{ field: ['input', 'domain'], code: 'organization.domain_taken', message: expect.any(String) }]);

    // Same organization twice is taken as well.
    const twice = (await ws.client.data(ADD_DOMAIN, { input: { organizationId: first.id, domain: 'claimed.example' } })).addOrganizationDomain;
    expect(twice.userErrors.map((e: any) => e.code)).toEqual(['organization.domain_taken']);

    const onCreate = await createOrg({ name: 'Third Claim', domains: [{ domain: 'claimed.example' }] });
    expect(onCreate.organization).toBeNull();
    expect(onCreate.userErrors.map((e) => e.code)).toEqual(['organization.domain_taken']);
    // Nothing of the failed creation stays behind.
    expect((await list(ws.client, { env: dev, filter: { namePrefix: 'Third Claim' } })).totalCount).toBe(0);

    const duplicateInInput = await createOrg({ name: 'Dup Claim', domains: [{ domain: 'dup.example' }, { domain: 'DUP.example.' }] });
    expect(duplicateInInput.userErrors.map((e) => e.code)).toEqual(['organization.duplicate_domain']);

    const prodOrg = await mustCreateOrg({ name: 'Prod Claim' }, ws.client, prod);
    const inProd = (await ws.client.data(ADD_DOMAIN, { input: { organizationId: prodOrg.id, domain: 'claimed.example' } })).addOrganizationDomain;
    expect(inProd.userErrors).toEqual([]);
    expect(inProd.domain).toMatchObject({ domain: 'claimed.example', organizationId: prodOrg.id });

    const owners = await list(ws.client, { env: dev, filter: { domain: 'claimed.example' } });
    expect(owners.nodes.map((n) => n.id)).toEqual([first.id]);
    const prodOwners = await list(ws.client, { env: prod, filter: { domain: 'claimed.example' } });
    expect(prodOwners.nodes.map((n) => n.id)).toEqual([prodOrg.id]);
  });

  it('removes a domain, which frees it for another organization', async () => {
    const owner = await mustCreateOrg({ name: 'Remover', domains: [{ domain: 'leaving.example' }, { domain: 'staying.example' }] });
    const leaving = owner.domains.find((d: any) => d.domain === 'leaving.example');
    const removed = (await ws.client.data(REMOVE_DOMAIN, { id: leaving.id })).removeOrganizationDomain;
    expect(removed.userErrors).toEqual([]);
    expect(removed.domain).toMatchObject({ id: leaving.id, domain: 'leaving.example', organizationId: owner.id });

    const after = (await ws.client.data(BY_ID, { id: owner.id })).organization;
    expect(after.domains.map((d: any) => d.domain)).toEqual(['staying.example']);

    const newcomer = await mustCreateOrg({ name: 'Newcomer' });
    const claimed = (await ws.client.data(ADD_DOMAIN, { input: { organizationId: newcomer.id, domain: 'leaving.example' } })).addOrganizationDomain;
    expect(claimed.userErrors).toEqual([]);

    const again = await ws.client.request(REMOVE_DOMAIN, { id: leaving.id });
    expect(again.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});

describe('external ids', () => {
  it('rejects a duplicate external id in the same environment only', async () => {
    const first = await mustCreateOrg({ name: 'Ext One', externalId: 'dup-ext' });
    const dup = await createOrg({ name: 'Ext Two', externalId: 'dup-ext' });
    expect(dup.organization).toBeNull();
    expect(dup.userErrors).toEqual([{ field: ['input', 'externalId'], code: 'organization.external_id_taken', message: expect.any(String) }]);

    const inProd = await createOrg({ name: 'Ext Prod', externalId: 'dup-ext' }, ws.client, prod);
    expect(inProd.userErrors).toEqual([]);

    const other = await mustCreateOrg({ name: 'Ext Three', externalId: 'other-ext' });
    const update = (await ws.client.data(UPDATE, { input: { id: other.id, externalId: 'dup-ext', name: 'Ext Renamed' } })).updateOrganization;
    expect(update.organization).toBeNull();
    expect(update.userErrors.map((e: any) => e.code)).toEqual(['organization.external_id_taken']);
    // The failed update changed nothing.
    expect((await ws.client.data(BY_ID, { id: other.id })).organization).toMatchObject({ name: 'Ext Three', externalId: 'other-ext' });
    expect((await ws.client.data(BY_EXTERNAL_ID, { externalId: 'dup-ext', env: dev })).organization.id).toBe(first.id);
  });
});
