import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GraphQLClient } from '../helpers/graphql.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

const EVENT_FIELDS =
  'id sequence action actor { type id name } targets { type id name } environmentId organizationId before after ip userAgent requestId occurredAt';
const EVENTS = `query($env: ID, $filter: AuditEventFilterInput, $orderBy: AuditEventOrder,
                     $first: Int, $after: String, $last: Int, $before: String) {
  auditEvents(environmentId: $env, filter: $filter, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    nodes { ${EVENT_FIELDS} }
  }
}`;
const USER_ERRORS = 'userErrors { field code message }';
const UA = 'gatehouse-audit-test/1.0 (+https://example.test)';

interface AuditEvent {
  id: string;
  sequence: string;
  action: string;
  actor: { type: string; id: string | null; name: string | null };
  targets: { type: string; id: string; name: string | null }[];
  environmentId: string | null;
  organizationId: string | null;
  before: Record<string, any> | null;
  after: Record<string, any> | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  occurredAt: string;
}

type Page = {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  nodes: AuditEvent[];
};

let server: TestServer;

async function events(client: GraphQLClient, variables: Record<string, unknown> = {}): Promise<Page> {
  return (await client.data(EVENTS, { first: 100, ...variables })).auditEvents;
}

/** Every event the client can see (workspace-wide), newest first. */
async function allEvents(client: GraphQLClient, variables: Record<string, unknown> = {}): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await events(client, { ...variables, after });
    out.push(...page.nodes);
    if (!page.pageInfo.hasNextPage) return out;
    after = page.pageInfo.endCursor;
  }
}

async function totalEvents(client: GraphQLClient): Promise<number> {
  return (await client.data(`{ auditEvents(first: 0) { totalCount } }`)).auditEvents.totalCount;
}

beforeAll(async () => {
  // Behind a trusted proxy, whose X-Request-Id the tests set.
  server = await startServer({ trustProxy: true });
});
afterAll(() => server.close());

describe('each mutation writes exactly one event', () => {
  let ws: TestWorkspace;
  let dev: string;
  let ownerKeyId: string;
  let requestCounter = 0;

  beforeAll(async () => {
    ws = await server.workspace('Audit mutations');
    dev = ws.development.id;
    ownerKeyId = (await ws.client.data(`{ viewer { apiKey { id name } } }`)).viewer.apiKey.id;
  });

  /** Runs one mutation with a custom user agent and request id; returns its data and its one audit event. */
  async function audited(document: string, variables: Record<string, unknown>, action: string) {
    const before = await totalEvents(ws.client);
    requestCounter += 1;
    const requestId = `audit-${requestCounter}.test:${process.pid}`;
    const response = await ws.client.request(document, variables, { 'user-agent': UA, 'x-request-id': requestId });
    expect(response.errors).toBeUndefined();
    const payload = Object.values(response.data as Record<string, any>)[0];
    expect(payload.userErrors).toEqual([]);
    expect(response.headers.get('x-request-id')).toBe(requestId);
    expect(await totalEvents(ws.client)).toBe(before + 1);
    const [event] = (await events(ws.client, { first: 1 })).nodes;
    expect(event).toMatchObject({
      action,
      requestId,
      userAgent: UA,
      ip: '127.0.0.1',
      actor: { type: 'API_KEY', id: ownerKeyId, name: 'Owner key' },
    });
    expect(event.id).toMatch(/^evt_/);
    expect(Date.now() - new Date(event.occurredAt).getTime()).toBeLessThan(60_000);
    return { payload, event };
  }

  it('organizations and domains', async () => {
    const created = await audited(
      `mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } ${USER_ERRORS} } }`,
      { input: { environmentId: dev, name: 'Audited Org', externalId: 'aud-1', metadata: { tier: 'gold' }, domains: [{ domain: 'Audited.example' }] } },
      'organization.created',
    );
    const orgId = created.payload.organization.id;
    expect(created.event).toMatchObject({
      environmentId: dev,
      organizationId: orgId,
      targets: [{ type: 'organization', id: orgId, name: 'Audited Org' }],
      before: null,
      after: { id: orgId, name: 'Audited Org', externalId: 'aud-1', metadata: { tier: 'gold' }, domains: ['audited.example'] },
    });

    const updated = await audited(
      `mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { organization { id } ${USER_ERRORS} } }`,
      { input: { id: orgId, name: 'Audited Org 2', externalId: null } },
      'organization.updated',
    );
    expect(updated.event).toMatchObject({
      organizationId: orgId,
      targets: [{ type: 'organization', id: orgId, name: 'Audited Org 2' }],
      before: { id: orgId, name: 'Audited Org', externalId: 'aud-1', metadata: { tier: 'gold' } },
      after: { id: orgId, name: 'Audited Org 2', externalId: null, metadata: { tier: 'gold' } },
    });

    const added = await audited(
      `mutation($input: AddOrganizationDomainInput!) { addOrganizationDomain(input: $input) { domain { id } ${USER_ERRORS} } }`,
      { input: { organizationId: orgId, domain: 'More.Audited.example', state: 'VERIFIED' } },
      'organization.domain_added',
    );
    const domainId = added.payload.domain.id;
    expect(added.event).toMatchObject({
      organizationId: orgId,
      targets: [
        { type: 'organization', id: orgId },
        { type: 'organization_domain', id: domainId, name: 'more.audited.example' },
      ],
      before: null,
      after: { id: domainId, organizationId: orgId, domain: 'more.audited.example', state: 'VERIFIED' },
    });
    // The verification token is not part of the record.
    expect(JSON.stringify(added.event)).not.toContain('gatehouse-verification=');

    const removed = await audited(
      `mutation($id: ID!) { removeOrganizationDomain(input: { id: $id }) { domain { id } ${USER_ERRORS} } }`,
      { id: domainId },
      'organization.domain_removed',
    );
    expect(removed.event).toMatchObject({
      organizationId: orgId,
      targets: [{ type: 'organization', id: orgId }, { type: 'organization_domain', id: domainId }],
      before: { id: domainId, domain: 'more.audited.example' },
      after: null,
    });

    const deleted = await audited(
      `mutation($id: ID!) { deleteOrganization(input: { id: $id }) { deletedId ${USER_ERRORS} } }`,
      { id: orgId },
      'organization.deleted',
    );
    expect(deleted.event).toMatchObject({
      organizationId: orgId,
      targets: [{ type: 'organization', id: orgId, name: 'Audited Org 2' }],
      before: { id: orgId, name: 'Audited Org 2' },
      after: null,
    });
  });

  it('users and custom attributes', async () => {
    const definition = await audited(
      `mutation($input: CreateCustomAttributeDefinitionInput!) { createCustomAttributeDefinition(input: $input) { customAttributeDefinition { id } ${USER_ERRORS} } }`,
      { input: { environmentId: dev, key: 'plan', type: 'STRING' } },
      'custom_attribute.created',
    );
    const definitionId = definition.payload.customAttributeDefinition.id;
    expect(definition.event).toMatchObject({
      environmentId: dev,
      organizationId: null,
      targets: [{ type: 'custom_attribute', id: definitionId, name: 'plan' }],
      after: { id: definitionId, key: 'plan', type: 'STRING', required: false },
    });

    const updatedDefinition = await audited(
      `mutation($input: UpdateCustomAttributeDefinitionInput!) { updateCustomAttributeDefinition(input: $input) { customAttributeDefinition { id } ${USER_ERRORS} } }`,
      { input: { id: definitionId, description: 'Billing plan' } },
      'custom_attribute.updated',
    );
    expect(updatedDefinition.event).toMatchObject({ before: { description: null }, after: { description: 'Billing plan' } });

    const created = await audited(
      `mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } ${USER_ERRORS} } }`,
      { input: { environmentId: dev, email: 'Audited@Example.com', givenName: 'Aud', customAttributes: { plan: 'pro' } } },
      'user.created',
    );
    const userId = created.payload.user.id;
    expect(created.event).toMatchObject({
      environmentId: dev,
      organizationId: null,
      targets: [{ type: 'user', id: userId, name: 'audited@example.com' }],
      before: null,
      after: { id: userId, email: 'audited@example.com', givenName: 'Aud', status: 'ACTIVE', customAttributes: { plan: 'pro' } },
    });

    const updated = await audited(
      `mutation($input: UpdateUserInput!) { updateUser(input: $input) { user { id } ${USER_ERRORS} } }`,
      { input: { id: userId, familyName: 'Itor', customAttributes: { plan: 'enterprise' } } },
      'user.updated',
    );
    expect(updated.event).toMatchObject({
      before: { familyName: null, customAttributes: { plan: 'pro' } },
      after: { familyName: 'Itor', customAttributes: { plan: 'enterprise' } },
    });

    const suspended = await audited(
      `mutation($id: ID!) { suspendUser(input: { id: $id }) { user { id } ${USER_ERRORS} } }`,
      { id: userId },
      'user.suspended',
    );
    expect(suspended.event).toMatchObject({ before: { status: 'ACTIVE' }, after: { status: 'SUSPENDED' }, targets: [{ type: 'user', id: userId }] });

    const reactivated = await audited(
      `mutation($id: ID!) { reactivateUser(input: { id: $id }) { user { id } ${USER_ERRORS} } }`,
      { id: userId },
      'user.reactivated',
    );
    expect(reactivated.event).toMatchObject({ before: { status: 'SUSPENDED' }, after: { status: 'ACTIVE' } });

    const deletedDefinition = await audited(
      `mutation($id: ID!) { deleteCustomAttributeDefinition(input: { id: $id }) { deletedId ${USER_ERRORS} } }`,
      { id: definitionId },
      'custom_attribute.deleted',
    );
    expect(deletedDefinition.event).toMatchObject({ before: { id: definitionId, key: 'plan' }, after: null });

    const deleted = await audited(
      `mutation($id: ID!) { deleteUser(input: { id: $id }) { deletedId ${USER_ERRORS} } }`,
      { id: userId },
      'user.deleted',
    );
    expect(deleted.event).toMatchObject({
      targets: [{ type: 'user', id: userId, name: 'audited@example.com' }],
      before: { id: userId, email: 'audited@example.com', familyName: 'Itor', customAttributes: {} },
      after: null,
    });
  });

  it('roles and permissions', async () => {
    const permission = await audited(
      `mutation($input: CreatePermissionInput!) { createPermission(input: $input) { permission { id } ${USER_ERRORS} } }`,
      { input: { environmentId: dev, key: 'audit:export', description: 'Export' } },
      'permission.created',
    );
    const permissionId = permission.payload.permission.id;
    expect(permission.event).toMatchObject({
      targets: [{ type: 'permission', id: permissionId, name: 'audit:export' }],
      after: { id: permissionId, key: 'audit:export', description: 'Export' },
    });

    const updatedPermission = await audited(
      `mutation($input: UpdatePermissionInput!) { updatePermission(input: $input) { permission { id } ${USER_ERRORS} } }`,
      { input: { id: permissionId, description: 'Export the log' } },
      'permission.updated',
    );
    expect(updatedPermission.event).toMatchObject({ before: { description: 'Export' }, after: { description: 'Export the log' } });

    const role = await audited(
      `mutation($input: CreateRoleInput!) { createRole(input: $input) { role { id } ${USER_ERRORS} } }`,
      { input: { environmentId: dev, key: 'exporter', name: 'Exporter', permissionKeys: ['audit:export'] } },
      'role.created',
    );
    const roleId = role.payload.role.id;
    expect(role.event).toMatchObject({
      environmentId: dev,
      targets: [{ type: 'role', id: roleId, name: 'exporter' }],
      before: null,
      after: { id: roleId, key: 'exporter', name: 'Exporter', permissions: ['audit:export'] },
    });

    const updatedRole = await audited(
      `mutation($input: UpdateRoleInput!) { updateRole(input: $input) { role { id } ${USER_ERRORS} } }`,
      { input: { id: roleId, name: 'Log exporter', permissionKeys: [] } },
      'role.updated',
    );
    expect(updatedRole.event).toMatchObject({
      before: { name: 'Exporter', permissions: ['audit:export'] },
      after: { name: 'Log exporter', permissions: [] },
    });

    const deletedPermission = await audited(
      `mutation($id: ID!) { deletePermission(input: { id: $id }) { deletedId ${USER_ERRORS} } }`,
      { id: permissionId },
      'permission.deleted',
    );
    expect(deletedPermission.event).toMatchObject({ before: { key: 'audit:export' }, after: null });

    const deletedRole = await audited(
      `mutation($id: ID!) { deleteRole(input: { id: $id }) { deletedId ${USER_ERRORS} } }`,
      { id: roleId },
      'role.deleted',
    );
    expect(deletedRole.event).toMatchObject({ targets: [{ type: 'role', id: roleId }], before: { key: 'exporter', permissions: [] }, after: null });
  });

  it('memberships', async () => {
    const org = await ws.client.data(
      `mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }`,
      { input: { environmentId: dev, name: 'Membership Audit Org' } },
    );
    const orgId = org.createOrganization.organization.id;
    const user = await ws.client.data(`mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } } }`, {
      input: { environmentId: dev, email: 'member-audit@example.com' },
    });
    const userId = user.createUser.user.id;

    const created = await audited(
      `mutation($input: CreateMembershipInput!) { createMembership(input: $input) { membership { id } ${USER_ERRORS} } }`,
      { input: { organizationId: orgId, userId } },
      'membership.created',
    );
    const membershipId = created.payload.membership.id;
    const targets = [
      { type: 'membership', id: membershipId },
      { type: 'organization', id: orgId },
      { type: 'user', id: userId },
    ];
    expect(created.event).toMatchObject({
      environmentId: dev,
      organizationId: orgId,
      targets,
      before: null,
      after: { id: membershipId, organizationId: orgId, userId, status: 'ACTIVE', roles: ['member'] },
    });

    const updated = await audited(
      `mutation($input: UpdateMembershipInput!) { updateMembership(input: $input) { membership { id } ${USER_ERRORS} } }`,
      { input: { id: membershipId, status: 'INACTIVE' } },
      'membership.updated',
    );
    expect(updated.event).toMatchObject({
      organizationId: orgId,
      targets,
      before: { status: 'ACTIVE', roles: ['member'] },
      after: { status: 'INACTIVE', roles: ['member'] },
    });

    const roleChange = (name: string) =>
      `mutation($input: MembershipRolesInput!) { ${name}(input: $input) { membership { id } ${USER_ERRORS} } }`;
    const added = await audited(roleChange('addMembershipRoles'), { input: { membershipId, roleKeys: ['admin'] } }, 'membership.roles_changed');
    expect(added.event).toMatchObject({ targets, before: { roles: ['member'] }, after: { roles: ['admin', 'member'] } });
    const removed = await audited(roleChange('removeMembershipRoles'), { input: { membershipId, roleKeys: ['member'] } }, 'membership.roles_changed');
    expect(removed.event).toMatchObject({ before: { roles: ['admin', 'member'] }, after: { roles: ['admin'] } });
    const set = await audited(roleChange('setMembershipRoles'), { input: { membershipId, roleKeys: ['member'] } }, 'membership.roles_changed');
    expect(set.event).toMatchObject({ before: { roles: ['admin'] }, after: { roles: ['member'] } });

    const deleted = await audited(
      `mutation($id: ID!) { deleteMembership(input: { id: $id }) { deletedId ${USER_ERRORS} } }`,
      { id: membershipId },
      'membership.deleted',
    );
    expect(deleted.event).toMatchObject({ organizationId: orgId, targets, before: { id: membershipId, status: 'INACTIVE', roles: ['member'] }, after: null });
  });

  it('api keys, without their secret', async () => {
    const created = await audited(
      `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id prefix } secret ${USER_ERRORS} } }`,
      { input: { name: 'CI key', scopes: ['organizations:read'], environmentId: dev } },
      'api_key.created',
    );
    const { apiKey, secret } = created.payload;
    expect(secret).toMatch(/^gh_test_/);
    expect(created.event).toMatchObject({
      environmentId: dev,
      targets: [{ type: 'api_key', id: apiKey.id, name: 'CI key' }],
      after: { id: apiKey.id, name: 'CI key', prefix: apiKey.prefix, scopes: ['organizations:read'], environmentId: dev },
    });
    const serialized = JSON.stringify(created.event);
    expect(serialized).not.toContain(secret);
    expect(serialized).not.toContain(createHash('sha256').update(secret).digest('hex'));
    expect(Object.keys(created.event.after!).sort()).toEqual(['environmentId', 'expiresAt', 'id', 'name', 'prefix', 'revokedAt', 'scopes']);

    const revoked = await audited(
      `mutation($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { apiKey { id } ${USER_ERRORS} } }`,
      { input: { id: apiKey.id } },
      'api_key.revoked',
    );
    expect(revoked.event).toMatchObject({ targets: [{ type: 'api_key', id: apiKey.id, name: 'CI key' }], after: { id: apiKey.id } });
    expect(revoked.event.after!.revokedAt).toEqual(expect.any(String));
  });

  it('failed mutations write no event', async () => {
    const org = await ws.client.data(
      `mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }`,
      { input: { environmentId: dev, name: 'Failure Org', externalId: 'fail-ext', domains: [{ domain: 'fail.example' }] } },
    );
    const orgId = org.createOrganization.organization.id;
    const user = await ws.client.data(`mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } } }`, {
      input: { environmentId: dev, email: 'fail@example.com' },
    });
    const userId = user.createUser.user.id;
    const membership = await ws.client.data(
      `mutation($input: CreateMembershipInput!) { createMembership(input: $input) { membership { id } } }`,
      { input: { organizationId: orgId, userId } },
    );
    const membershipId = membership.createMembership.membership.id;
    const admin = (await ws.client.data(`query($env: ID) { role(key: "admin", environmentId: $env) { id } }`, { env: dev })).role;

    const before = await totalEvents(ws.client);
    const failures: [string, Record<string, unknown>, string][] = [
      [
        `mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { ${USER_ERRORS} } }`,
        { input: { environmentId: dev, name: 'Dup', externalId: 'fail-ext' } },
        'organization.external_id_taken',
      ],
      [
        `mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { ${USER_ERRORS} } }`,
        { input: { environmentId: dev, name: 'Dup domain', domains: [{ domain: 'fail.example' }] } },
        'organization.domain_taken',
      ],
      [
        `mutation($input: AddOrganizationDomainInput!) { addOrganizationDomain(input: $input) { ${USER_ERRORS} } }`,
        { input: { organizationId: orgId, domain: 'not a domain' } },
        'validation.domain',
      ],
      [
        `mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { ${USER_ERRORS} } }`,
        { input: { id: orgId, metadata: { big: 'x'.repeat(17_000) } } },
        'validation.metadata_too_large',
      ],
      [
        `mutation($input: CreateUserInput!) { createUser(input: $input) { ${USER_ERRORS} } }`,
        { input: { environmentId: dev, email: 'FAIL@example.com' } },
        'user.email_taken',
      ],
      [`mutation($id: ID!) { reactivateUser(input: { id: $id }) { ${USER_ERRORS} } }`, { id: userId }, 'user.status_unchanged'],
      [`mutation($id: ID!) { deleteRole(input: { id: $id }) { ${USER_ERRORS} } }`, { id: admin.id }, 'role.built_in'],
      [
        `mutation($input: CreatePermissionInput!) { createPermission(input: $input) { ${USER_ERRORS} } }`,
        { input: { environmentId: dev, key: 'BAD' } },
        'permission.invalid_key',
      ],
      [
        `mutation($input: MembershipRolesInput!) { addMembershipRoles(input: $input) { ${USER_ERRORS} } }`,
        { input: { membershipId, roleKeys: ['ghost'] } },
        'role.unknown',
      ],
      [
        `mutation($input: CreateMembershipInput!) { createMembership(input: $input) { ${USER_ERRORS} } }`,
        { input: { organizationId: orgId, userId } },
        'membership.already_exists',
      ],
      [
        `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret ${USER_ERRORS} } }`,
        { input: { name: 'No scopes', scopes: [] } },
        'api_key.scopes_required',
      ],
    ];
    for (const [document, variables, code] of failures) {
      const result = await ws.client.request(document, variables, { 'user-agent': UA });
      expect(result.errors, code).toBeUndefined();
      const payload = Object.values(result.data as Record<string, any>)[0];
      expect(payload.userErrors.map((e: any) => e.code), code).toEqual([code]);
    }
    // Not-found errors write nothing either.
    const notFound = await ws.client.request(`mutation { deleteOrganization(input: { id: "org_00000000000000000000000000" }) { deletedId } }`);
    expect(notFound.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');

    expect(await totalEvents(ws.client)).toBe(before);
    const latest = (await events(ws.client, { first: 1 })).nodes[0];
    expect(latest.action).toBe('membership.created');
  });

  it('stores a generated request id when none (or an unusable one) is sent, and truncates long user agents', async () => {
    const longAgent = `agent-${'x'.repeat(600)}`;
    const response = await ws.client.request(
      `mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }`,
      { input: { environmentId: dev, name: 'Generated request id' } },
      { 'user-agent': longAgent, 'x-request-id': 'has spaces and is not usable' },
    );
    const echoed = response.headers.get('x-request-id');
    expect(echoed).toMatch(/^req_[0-9a-z]{26}$/);
    const [event] = (await events(ws.client, { first: 1 })).nodes;
    expect(event.action).toBe('organization.created');
    expect(event.requestId).toBe(echoed);
    expect(event.userAgent).toBe(longAgent.slice(0, 512));
  });
});

describe('querying the log', () => {
  let ws: TestWorkspace;
  let dev: string;
  let prod: string;
  let ownerKeyId: string;
  let secondKey: { id: string; secret: string };
  let orgA: string;
  let orgB: string;
  let orgC: string;
  let userId: string;
  let all: AuditEvent[];

  beforeAll(async () => {
    ws = await server.workspace('Audit queries');
    dev = ws.development.id;
    prod = ws.production.id;
    ownerKeyId = (await ws.client.data(`{ viewer { apiKey { id } } }`)).viewer.apiKey.id;
    const createOrg = async (client: GraphQLClient, env: string, name: string) =>
      (
        await client.data(
          `mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } userErrors { code } } }`,
          { input: { environmentId: env, name } },
        )
      ).createOrganization.organization.id as string;
    orgA = await createOrg(ws.client, dev, 'Query A');
    orgB = await createOrg(ws.client, prod, 'Query B');
    userId = (
      await ws.client.data(`mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } } }`, {
        input: { environmentId: dev, email: 'query@example.com' },
      })
    ).createUser.user.id;
    await ws.client.data(`mutation($input: CreateMembershipInput!) { createMembership(input: $input) { membership { id } } }`, {
      input: { organizationId: orgA, userId },
    });
    await ws.client.data(`mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { organization { id } } }`, {
      input: { id: orgA, name: 'Query A2' },
    });
    const key = await ws.client.data(
      `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id } secret userErrors { code } } }`,
      { input: { name: 'Second key', scopes: ['organizations:write', 'audit:read'], environmentId: dev } },
    );
    expect(key.createApiKey.userErrors).toEqual([]);
    secondKey = { id: key.createApiKey.apiKey.id, secret: key.createApiKey.secret };
    orgC = await createOrg(ws.client.withKey(secondKey.secret), dev, 'Query C');
    all = await allEvents(ws.client);
  });

  const actions = (list: AuditEvent[]) => list.map((e) => e.action);

  it('lists the whole workspace newest first, including bootstrap events', async () => {
    expect(actions(all)).toEqual([
      'organization.created',
      'api_key.created',
      'organization.updated',
      'membership.created',
      'user.created',
      'organization.created',
      'organization.created',
      'api_key.created',
      'environment.created',
      'environment.created',
      'workspace.created',
    ]);
    expect(all.slice(-4).every((e) => e.actor.type === 'SYSTEM' && e.actor.id === null)).toBe(true);
    const sequences = all.map((e) => BigInt(e.sequence));
    for (let i = 1; i < sequences.length; i += 1) expect(sequences[i] < sequences[i - 1]).toBe(true);
  });

  it('is scoped to one environment when asked', async () => {
    const devEvents = await allEvents(ws.client, { env: dev });
    expect(devEvents.every((e) => e.environmentId === dev)).toBe(true);
    expect(actions(devEvents)).toEqual([
      'organization.created',
      'api_key.created',
      'organization.updated',
      'membership.created',
      'user.created',
      'organization.created',
      'environment.created',
    ]);
    const prodEvents = await allEvents(ws.client, { env: prod });
    expect(actions(prodEvents)).toEqual(['organization.created', 'environment.created']);
    // A key pinned to an environment sees only that environment's events.
    const pinned = await allEvents(ws.client.withKey(secondKey.secret));
    expect(pinned.map((e) => e.id)).toEqual(devEvents.map((e) => e.id));
  });

  it('filters by exact actions and by prefix', async () => {
    const exact = await events(ws.client, { filter: { actions: ['organization.created'] } });
    expect(exact.totalCount).toBe(3);
    expect(exact.nodes.flatMap((e) => e.targets.map((t) => t.id))).toEqual([orgC, orgB, orgA]);

    const prefix = await events(ws.client, { filter: { actions: ['organization.*'] } });
    expect(actions(prefix.nodes)).toEqual(['organization.created', 'organization.updated', 'organization.created', 'organization.created']);
    expect(prefix.totalCount).toBe(4);

    const mixed = await events(ws.client, { filter: { actions: ['user.created', 'api_key.*'] } });
    expect(actions(mixed.nodes)).toEqual(['api_key.created', 'user.created', 'api_key.created']);

    const everything = await events(ws.client, { filter: { actions: ['*'] } });
    expect(everything.totalCount).toBe(all.length);

    const none = await events(ws.client, { filter: { actions: ['organization.deleted'] } });
    expect(none).toMatchObject({ totalCount: 0, nodes: [] });

    // `_` in a prefix is matched literally.
    const underscore = await events(ws.client, { filter: { actions: ['api_key.*'] } });
    expect(underscore.totalCount).toBe(2);

    for (const bad of ['organization.%', 'DROP TABLE', 'organization.*.*', '']) {
      const result = await ws.client.request(EVENTS, { first: 10, filter: { actions: [bad] } });
      expect(result.errors?.[0]?.extensions, bad).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'audit.invalid_action' });
    }
  });

  it('filters by actor', async () => {
    const bySecondKey = await events(ws.client, { filter: { actorId: secondKey.id } });
    expect(bySecondKey.nodes.map((e) => [e.action, e.targets[0].id, e.actor.name])).toEqual([['organization.created', orgC, 'Second key']]);
    const byOwner = await events(ws.client, { filter: { actorId: ownerKeyId } });
    expect(byOwner.totalCount).toBe(6);
    expect(byOwner.nodes.every((e) => e.actor.id === ownerKeyId && e.actor.type === 'API_KEY')).toBe(true);
  });

  it('filters by target and by organization', async () => {
    const byUser = await events(ws.client, { filter: { targetId: userId } });
    expect(actions(byUser.nodes)).toEqual(['membership.created', 'user.created']);
    const byOrgTarget = await events(ws.client, { filter: { targetId: orgA } });
    expect(actions(byOrgTarget.nodes)).toEqual(['organization.updated', 'membership.created', 'organization.created']);
    const byOrganization = await events(ws.client, { filter: { organizationId: orgA } });
    expect(actions(byOrganization.nodes)).toEqual(['organization.updated', 'membership.created', 'organization.created']);
    expect(byOrganization.nodes.every((e) => e.organizationId === orgA)).toBe(true);
    const combined = await events(ws.client, { filter: { organizationId: orgA, actions: ['membership.*'], targetId: userId } });
    expect(actions(combined.nodes)).toEqual(['membership.created']);
    const unknown = await events(ws.client, { filter: { targetId: 'org_00000000000000000000000000' } });
    expect(unknown.totalCount).toBe(0);
  });

  it('filters by time: occurredAfter is inclusive, occurredBefore exclusive', async () => {
    const tws = await server.workspace('Audit time');
    const env = tws.development.id;
    const stamps: string[] = [];
    for (const name of ['T1', 'T2', 'T3']) {
      await tws.client.data(`mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }`, {
        input: { environmentId: env, name },
      });
      const [event] = (await events(tws.client, { first: 1 })).nodes;
      stamps.push(event.occurredAt);
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
    const filter = (f: Record<string, unknown>) => events(tws.client, { filter: { actions: ['organization.created'], ...f } });
    const names = (page: Page) => page.nodes.map((e) => e.targets[0].name);

    expect(names(await filter({ occurredAfter: stamps[1] }))).toEqual(['T3', 'T2']);
    expect(names(await filter({ occurredBefore: stamps[1] }))).toEqual(['T1']);
    expect(names(await filter({ occurredAfter: stamps[1], occurredBefore: stamps[2] }))).toEqual(['T2']);
    const justAfter = new Date(new Date(stamps[0]).getTime() + 1).toISOString();
    expect(names(await filter({ occurredAfter: justAfter }))).toEqual(['T3', 'T2']);
    // Other time zones denote the same instant.
    const t2 = new Date(stamps[1]);
    const offset = new Date(t2.getTime() + 2 * 3600_000).toISOString().replace('Z', '+02:00');
    expect(names(await filter({ occurredAfter: offset }))).toEqual(['T3', 'T2']);
    expect((await filter({ occurredAfter: stamps[2], occurredBefore: stamps[0] })).totalCount).toBe(0);

    const invalid = await tws.client.request(EVENTS, { first: 5, filter: { occurredAfter: 'yesterday' } });
    expect(invalid.status).toBe(400);
    expect(invalid.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('orders by sequence ascending or descending', async () => {
    const desc = await allEvents(ws.client, { orderBy: { direction: 'DESC' } });
    const asc = await allEvents(ws.client, { orderBy: { direction: 'ASC' } });
    expect(desc.map((e) => e.id)).toEqual(all.map((e) => e.id));
    expect(asc.map((e) => e.id)).toEqual([...all].reverse().map((e) => e.id));
    expect(asc[0].action).toBe('workspace.created');
    const sequences = asc.map((e) => BigInt(e.sequence));
    for (let i = 1; i < sequences.length; i += 1) expect(sequences[i] > sequences[i - 1]).toBe(true);
  });

  it('pages forward and backward, visiting each event once', async () => {
    for (const direction of ['ASC', 'DESC'] as const) {
      const want = (direction === 'DESC' ? all : [...all].reverse()).map((e) => e.id);
      const forward: string[] = [];
      let after: string | null = null;
      for (;;) {
        const page = await events(ws.client, { orderBy: { direction }, first: 4, after });
        expect(page.totalCount).toBe(all.length);
        forward.push(...page.nodes.map((e) => e.id));
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
      expect(forward).toEqual(want);

      const backward: string[] = [];
      let before: string | null = null;
      for (;;) {
        const page: Page = (await ws.client.data(EVENTS, { orderBy: { direction }, last: 4, before })).auditEvents;
        backward.unshift(...page.nodes.map((e) => e.id));
        if (!page.pageInfo.hasPreviousPage) break;
        before = page.pageInfo.startCursor;
      }
      expect(backward).toEqual(want);
    }
    const filtered: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page = await events(ws.client, { filter: { actions: ['organization.*'] }, first: 1, after });
      expect(page.totalCount).toBe(4);
      filtered.push(page.nodes[0].action);
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(filtered).toHaveLength(4);

    const bad = await ws.client.request(EVENTS, { first: 2, after: 'nope' });
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'pagination.invalid_cursor' });
    const tooLarge = await ws.client.request(EVENTS, { first: 101 });
    expect(tooLarge.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'pagination.page_too_large' });
  });

  it('never contains secrets', async () => {
    const everything = JSON.stringify(await allEvents(ws.client));
    const forbidden = [
      secondKey.secret,
      createHash('sha256').update(secondKey.secret).digest('hex'),
      ws.client.key,
      createHash('sha256').update(ws.client.key).digest('hex'),
    ];
    for (const secret of forbidden) expect(everything).not.toContain(secret);
    // The visible prefix is not the secret: the part after it must not appear.
    expect(everything).not.toContain(secondKey.secret.slice(16));
    expect(everything).not.toMatch(/secretHash|secret_hash/);
  });
});
