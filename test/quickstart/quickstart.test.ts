import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

describe('the quickstart flow', () => {
  let server: TestServer;
  let ws: TestWorkspace;

  beforeAll(async () => {
    server = await startServer();
    ws = await server.workspace('Quickstart');
  });
  afterAll(() => server.close());

  it('creates an organization, a user and a membership, lists them nested, and audits each change', async () => {
    const env = ws.development.id;
    const org = await ws.client.data(
      `mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id name externalId domains { domain state } } userErrors { code } } }`,
      { input: { environmentId: env, name: 'Acme', externalId: 'acme-1', domains: [{ domain: 'Acme.COM' }] } },
    );
    expect(org.createOrganization.userErrors).toEqual([]);
    expect(org.createOrganization.organization).toMatchObject({
      name: 'Acme',
      externalId: 'acme-1',
      domains: [{ domain: 'acme.com', state: 'PENDING' }],
    });
    const orgId = org.createOrganization.organization.id;

    const user = await ws.client.data(
      `mutation($input: CreateUserInput!) { createUser(input: $input) { user { id email status } userErrors { code } } }`,
      { input: { environmentId: env, email: 'Jane@Acme.com', givenName: 'Jane' } },
    );
    expect(user.createUser.user).toMatchObject({ email: 'jane@acme.com', status: 'ACTIVE' });
    const userId = user.createUser.user.id;

    const membership = await ws.client.data(
      `mutation($input: CreateMembershipInput!) { createMembership(input: $input) { membership { id status roles { key } } userErrors { code } } }`,
      { input: { organizationId: orgId, userId, roleKeys: ['admin'] } },
    );
    expect(membership.createMembership.membership).toMatchObject({ status: 'ACTIVE', roles: [{ key: 'admin' }] });

    const listed = await ws.client.data(
      `query($env: ID) { organizations(environmentId: $env) { totalCount nodes { name memberships { totalCount nodes { user { email } roles { key } } } } } }`,
      { env },
    );
    expect(listed.organizations).toEqual({
      totalCount: 1,
      nodes: [{ name: 'Acme', memberships: { totalCount: 1, nodes: [{ user: { email: 'jane@acme.com' }, roles: [{ key: 'admin' }] }] } }],
    });

    const audit = await ws.client.data(
      `query($env: ID) { auditEvents(environmentId: $env, filter: { actions: ["organization.*", "user.created", "membership.created"] }) { nodes { action actor { type id } targets { type id } requestId } } }`,
      { env },
    );
    expect(audit.auditEvents.nodes.map((e: { action: string }) => e.action)).toEqual([
      'membership.created',
      'user.created',
      'organization.created',
    ]);
    for (const event of audit.auditEvents.nodes) {
      expect(event.actor.type).toBe('API_KEY');
      expect(event.requestId).toMatch(/^req_/);
    }
  });
});
