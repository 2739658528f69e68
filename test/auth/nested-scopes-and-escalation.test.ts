import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

let server: TestServer;
let ws: TestWorkspace;
let env: string;

const CREATE_KEY = `mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { secret apiKey { id expiresAt } userErrors { code field } }
}`;

async function keyWith(scopes: string[], extra: Record<string, unknown> = {}) {
  const data = await ws.client.data(CREATE_KEY, { input: { name: scopes.join(' '), scopes, ...extra } });
  expect(data.createApiKey.userErrors).toEqual([]);
  return { id: data.createApiKey.apiKey.id as string, client: ws.client.withKey(data.createApiKey.secret as string) };
}

beforeAll(async () => {
  server = await startServer();
  ws = await server.workspace();
  env = ws.development.id;
  const org = await ws.client.data(
    'mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }',
    { input: { environmentId: env, name: 'Scoped Org' } },
  );
  const user = await ws.client.data('mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } } }', {
    input: { environmentId: env, email: 'secret-member@example.com', customAttributes: {} },
  });
  await ws.client.data('mutation($input: CreateMembershipInput!) { createMembership(input: $input) { membership { id } } }', {
    input: { organizationId: org.createOrganization.organization.id, userId: user.createUser.user.id, roleKeys: ['admin'] },
  });
});
afterAll(() => server.close());

describe('nested fields check the scope of what they return', () => {
  const NESTED = `query($env: ID) { organizations(environmentId: $env, first: 2) { nodes { name memberships(first: 2) { nodes {
    status user { email } roles { key permissions { key } } } } } } }`;

  it('an organizations:read key sees memberships but not the members\' details or roles', async () => {
    const { client } = await keyWith(['organizations:read']);
    const statuses = await client.data(
      'query($env: ID) { organizations(environmentId: $env) { nodes { memberships { nodes { status } } } } }',
      { env },
    );
    expect(statuses.organizations.nodes[0].memberships.nodes).toEqual([{ status: 'ACTIVE' }]);
    for (const field of ['user { email }', 'roles { key }']) {
      const result = await client.request(
        `query($env: ID) { organizations(environmentId: $env) { nodes { memberships { nodes { ${field} } } } } }`,
        { env },
      );
      expect(JSON.stringify(result.data ?? null)).not.toMatch(/secret-member|admin/);
      expect(result.errors?.[0].path?.slice(-1)[0]).toBe(field.split(' ')[0]);
      expect(result.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'auth.missing_scope' });
    }
  });

  it('a users:read key cannot reach organizations through a user\'s memberships', async () => {
    const { client } = await keyWith(['users:read']);
    const users = await client.data('query($env: ID) { users(environmentId: $env) { nodes { email } } }', { env });
    expect(users.users.nodes[0].email).toBe('secret-member@example.com');
    const result = await client.request(
      'query($env: ID) { users(environmentId: $env) { nodes { email memberships { nodes { organization { name metadata } } } } } }',
      { env },
    );
    expect(JSON.stringify(result.data ?? null)).not.toContain('Scoped Org');
    expect(result.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'auth.missing_scope' });
  });

  it('a key holding all three scopes sees everything', async () => {
    const { client } = await keyWith(['organizations:read', 'users:read', 'roles:read']);
    const data = await client.data(NESTED, { env });
    expect(data.organizations.nodes[0].memberships.nodes[0]).toEqual({
      status: 'ACTIVE',
      user: { email: 'secret-member@example.com' },
      roles: [{ key: 'admin', permissions: [] }],
    });
  });
});

describe('key management cannot escalate', () => {
  it('a narrow key with api_keys:write cannot revoke a broader key, such as the owner key', async () => {
    const { client } = await keyWith(['api_keys:write']);
    const owner = await ws.client.data('{ viewer { apiKey { id } } }');
    const result = await client.request(
      'mutation($id: ID!) { revokeApiKey(input: { id: $id }) { apiKey { revokedAt } userErrors { code } } }',
      { id: owner.viewer.apiKey.id },
    );
    expect(result.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'api_key.scope_escalation' });
    expect((await ws.client.request('{ viewer { scopes } }')).status).toBe(200);
  });

  it('a narrow key can revoke a key whose scopes it holds', async () => {
    const { client } = await keyWith(['api_keys:write', 'organizations:read']);
    const victim = await keyWith(['organizations:read']);
    const result = await client.data(
      'mutation($id: ID!) { revokeApiKey(input: { id: $id }) { apiKey { revokedAt } userErrors { code } } }',
      { id: victim.id },
    );
    expect(result.revokeApiKey.apiKey.revokedAt).toMatch(/^\d{4}-/);
  });

  it('keys minted by an expiring key expire with it at the latest', async () => {
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const { client } = await keyWith(['api_keys:write', 'organizations:read'], { expiresAt });
    const inherited = await client.data(CREATE_KEY, { input: { name: 'child', scopes: ['organizations:read'] } });
    expect(inherited.createApiKey.apiKey.expiresAt).toBe(expiresAt);
    const later = await client.data(CREATE_KEY, {
      input: { name: 'outliving child', scopes: ['organizations:read'], expiresAt: new Date(Date.now() + 7_200_000).toISOString() },
    });
    expect(later.createApiKey).toMatchObject({
      secret: null,
      userErrors: [{ code: 'api_key.outlives_creator', field: ['input', 'expiresAt'] }],
    });
  });
});

describe('cascading deletions are audited', () => {
  it('deleting an environment records each API key it removes', async () => {
    const created = await ws.client.data(
      'mutation { createEnvironment(input: { name: "Staging", slug: "staging", kind: DEVELOPMENT }) { environment { id } } }',
    );
    const staging = created.createEnvironment.environment.id;
    const pinned = await keyWith(['organizations:read'], { environmentId: staging });
    const deleted = await ws.client.data('mutation($id: ID!) { deleteEnvironment(input: { id: $id }) { deletedId userErrors { code } } }', {
      id: staging,
    });
    expect(deleted.deleteEnvironment.deletedId).toBe(staging);
    const events = await ws.client.data(
      'query($id: ID) { auditEvents(filter: { targetId: $id }) { nodes { action environmentId before } } }',
      { id: pinned.id },
    );
    expect(events.auditEvents.nodes[0]).toMatchObject({
      action: 'api_key.deleted',
      environmentId: staging,
      before: { id: pinned.id, reason: 'environment_deleted' },
    });
    expect((await pinned.client.request('{ viewer { scopes } }')).status).toBe(401);
  });

  it('deleting an organization names the memberships that went with it', async () => {
    const org = await ws.client.data(
      'mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }',
      { input: { environmentId: env, name: 'Doomed', domains: [{ domain: 'doomed.example' }] } },
    );
    const orgId = org.createOrganization.organization.id;
    const user = await ws.client.data('mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } } }', {
      input: { environmentId: env, email: 'doomed@example.com' },
    });
    const membership = await ws.client.data(
      'mutation($input: CreateMembershipInput!) { createMembership(input: $input) { membership { id } } }',
      { input: { organizationId: orgId, userId: user.createUser.user.id } },
    );
    await ws.client.data('mutation($id: ID!) { deleteOrganization(input: { id: $id }) { deletedId } }', { id: orgId });
    const events = await ws.client.data(
      'query($env: ID, $id: ID) { auditEvents(environmentId: $env, filter: { targetId: $id, actions: ["organization.deleted"] }) { nodes { before } } }',
      { env, id: orgId },
    );
    expect(events.auditEvents.nodes[0].before).toMatchObject({
      domains: ['doomed.example'],
      memberships: [{ id: membership.createMembership.membership.id, userId: user.createUser.user.id }],
    });
  });
});
