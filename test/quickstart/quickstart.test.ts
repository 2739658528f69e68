import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuditEventsDocument,
  CreateMembershipDocument,
  CreateOrganizationDocument,
  CreateUserDocument,
  OrganizationsWithMembersDocument,
} from '../generated/graphql.js';
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
    const org = await ws.client.data(CreateOrganizationDocument, { input: { environmentId: env, name: 'Acme', externalId: 'acme-1', domains: [{ domain: 'Acme.COM' }] },
    });
    expect(org.createOrganization.userErrors).toEqual([]);
    expect(org.createOrganization.organization).toMatchObject({
      name: 'Acme',
      externalId: 'acme-1',
      domains: [{ domain: 'acme.com', state: 'PENDING' }],
    });
    const orgId = org.createOrganization.organization!.id;

    const user = await ws.client.data(CreateUserDocument, {
      input: { environmentId: env, email: 'Jane@Acme.com', givenName: 'Jane' },
    });
    expect(user.createUser.user).toMatchObject({ email: 'jane@acme.com', status: 'ACTIVE' });
    const userId = user.createUser.user!.id;

    const membership = await ws.client.data(CreateMembershipDocument, {
      input: { organizationId: orgId, userId, roleKeys: ['admin'] },
    });
    expect(membership.createMembership.membership).toMatchObject({ status: 'ACTIVE', roles: [{ key: 'admin' }] });

    const listed = await ws.client.data(OrganizationsWithMembersDocument, { environmentId: env });
    expect(listed.organizations).toEqual({
      totalCount: 1,
      nodes: [
        {
          id: orgId,
          name: 'Acme',
          domains: [{ domain: 'acme.com' }],
          memberships: { totalCount: 1, nodes: [{ user: { email: 'jane@acme.com' }, roles: [{ key: 'admin' }] }] },
        },
      ],
    });

    const audit = await ws.client.data(AuditEventsDocument, {
      environmentId: env,
      filter: { actions: ['organization.*', 'user.created', 'membership.created'] },
    });
    expect(audit.auditEvents.nodes.map((e) => e.action)).toEqual([
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
