import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

let server: TestServer;
let ws: TestWorkspace;
let env: string;

beforeAll(async () => {
  server = await startServer();
  ws = await server.workspace();
  env = ws.development.id;
});
afterAll(() => server.close());

async function createOrganization(name: string, externalId: string) {
  const data = await ws.client.data(
    'mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }',
    { input: { environmentId: env, name, externalId } },
  );
  return data.createOrganization.organization.id as string;
}

describe('several mutations in one request', () => {
  it('never lets a failed mutation\'s changes ride along with the next one', async () => {
    const target = await createOrganization('Target', 'target-1');
    await createOrganization('Holder', 'taken-1');
    const result = await ws.client.data(
      `mutation($id: ID!, $env: ID!) {
        first: updateOrganization(input: { id: $id, name: "Renamed" }) { organization { name } userErrors { code } }
        failing: updateOrganization(input: { id: $id, name: "Evil", externalId: "taken-1" }) { organization { name } userErrors { code } }
        next: createPermission(input: { environmentId: $env, key: "reports:read" }) { permission { key } userErrors { code } }
      }`,
      { id: target, env },
    );
    expect(result.first.userErrors).toEqual([]);
    expect(result.failing.userErrors).toEqual([{ code: 'organization.external_id_taken' }]);
    expect(result.next.permission).toEqual({ key: 'reports:read' });

    const stored = await ws.client.data('query($id: ID!) { organization(id: $id) { name externalId } }', { id: target });
    expect(stored.organization).toEqual({ name: 'Renamed', externalId: 'target-1' });
    const events = await ws.client.data(
      'query($env: ID, $id: ID) { auditEvents(environmentId: $env, filter: { targetId: $id }) { nodes { action after } } }',
      { env, id: target },
    );
    expect(events.auditEvents.nodes.map((e: { action: string; after: { name: string } }) => [e.action, e.after.name])).toEqual([
      ['organization.updated', 'Renamed'],
      ['organization.created', 'Target'],
    ]);
  });

  it('answers each mutation with relations as they are after it, not as cached before', async () => {
    const org = await createOrganization('Roles Org', 'roles-org');
    const user = await ws.client.data(
      'mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } } }',
      { input: { environmentId: env, email: 'cache@example.com' } },
    );
    const membership = await ws.client.data(
      'mutation($input: CreateMembershipInput!) { createMembership(input: $input) { membership { id } } }',
      { input: { organizationId: org, userId: user.createUser.user.id } },
    );
    const id = membership.createMembership.membership.id;
    const result = await ws.client.data(
      `mutation($id: ID!) {
        added: addMembershipRoles(input: { membershipId: $id, roleKeys: ["admin"] }) { membership { roles { key } } }
        removed: removeMembershipRoles(input: { membershipId: $id, roleKeys: ["member"] }) { membership { roles { key } } }
      }`,
      { id },
    );
    expect(result.added.membership.roles).toEqual([{ key: 'admin' }, { key: 'member' }]);
    expect(result.removed.membership.roles).toEqual([{ key: 'admin' }]);
  });
});
