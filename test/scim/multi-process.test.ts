import { afterAll, describe, expect, it } from 'vitest';
import { graphqlClient } from '../helpers/graphql.js';
import { mutate } from '../helpers/oauth.js';
import { processPair } from '../helpers/processes.js';

const POSTGRES_URL = process.env.DATABASE_URL || undefined;
if (!POSTGRES_URL) {
  console.warn('[SCIM multi-process] skipped: two server processes share one group through PostgreSQL; set DATABASE_URL to run it');
}
const PUBLIC_URL = 'https://auth.gatehouse.test';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

describe('SCIM writers on two processes', () => {
  const pair = processPair(POSTGRES_URL, PUBLIC_URL);
  afterAll(() => pair.close());

  it.skipIf(!POSTGRES_URL)('race on one group and lose no member: every add and remove lands, each once (skipped on PGlite: needs DATABASE_URL)', async () => {
    const { aUrl, bUrl, key } = await pair.start();
    const api = graphqlClient(`${aUrl}/graphql`, key);
    const environmentId = (await api.data('{ viewer { environmentIds } }')).viewer.environmentIds[0] as string;
    const organizationId = (await mutate(api, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId, name: 'Racers' })).organization.id;
    const created = await mutate(api, 'createDirectory', 'CreateDirectoryInput', 'token directory { id }', { organizationId, name: 'Racers', provider: 'ENTRA_ID' });
    const scim = async (base: string, path: string, method: string, body?: unknown) => {
      const response = await fetch(`${base}/scim/v2/${created.directory.id}${path}`, {
        method,
        headers: { authorization: `Bearer ${created.token}`, ...(body ? { 'content-type': 'application/scim+json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : undefined };
    };

    const users: string[] = [];
    for (let i = 0; i < 60; i += 1) users.push((await scim(i % 2 ? aUrl : bUrl, '/Users', 'POST', { schemas: [USER], userName: `racer${i}@racers.test` })).body.id);
    const initial = users.slice(0, 20);
    const group = (await scim(aUrl, '/Groups', 'POST', { schemas: [GROUP], displayName: 'Everyone', members: initial.map((value) => ({ value })) })).body;

    // 40 adds and 10 removes, each its own PATCH, alternating processes, all at once.
    const adds = users.slice(20);
    const removes = initial.slice(0, 10);
    const requests = [
      ...adds.map((id) => ({ op: 'add', path: 'members', value: [{ value: id }] })),
      ...removes.map((id) => ({ op: 'remove', path: `members[value eq "${id}"]` })),
    ];
    const responses = await Promise.all(requests.map((operation, i) => scim(i % 2 ? aUrl : bUrl, `/Groups/${group.id}`, 'PATCH', { schemas: [PATCH_OP], Operations: [operation] })));
    expect(responses.map((response) => response.status)).toEqual(requests.map(() => 204));

    const now = (await scim(bUrl, `/Groups/${group.id}`, 'GET')).body;
    const expected = [...initial.slice(10), ...adds].sort();
    expect(now.members.map((member: { value: string }) => member.value).sort()).toEqual(expected);
    // One version per change: none overwrote another.
    expect(now.meta.version).toBe(`W/"${1 + requests.length}"`);
    const events = await api.data(
      `query($env: ID) { added: auditEvents(environmentId: $env, first: 1, filter: { actions: ["directory.group.member_added"] }) { totalCount } removed: auditEvents(environmentId: $env, first: 1, filter: { actions: ["directory.group.member_removed"] }) { totalCount } }`,
      { env: environmentId },
    );
    expect(events).toEqual({ added: { totalCount: initial.length + adds.length }, removed: { totalCount: removes.length } });
  });
});
