import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oneError, type UserErrors } from '../helpers/graphql.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

const ROLE_FIELDS = 'id key name description builtIn environmentId createdAt updatedAt permissions { id key description }';
const USER_ERRORS = 'userErrors { field code message }';

const CREATE_ROLE = `mutation($input: CreateRoleInput!) { createRole(input: $input) { role { ${ROLE_FIELDS} } ${USER_ERRORS} } }`;
const UPDATE_ROLE = `mutation($input: UpdateRoleInput!) { updateRole(input: $input) { role { ${ROLE_FIELDS} } ${USER_ERRORS} } }`;
const DELETE_ROLE = `mutation($id: ID!) { deleteRole(input: { id: $id }) { deletedId ${USER_ERRORS} } }`;
const CREATE_PERMISSION = `mutation($input: CreatePermissionInput!) {
  createPermission(input: $input) { permission { id key description createdAt } ${USER_ERRORS} }
}`;
const UPDATE_PERMISSION = `mutation($input: UpdatePermissionInput!) {
  updatePermission(input: $input) { permission { id key description } ${USER_ERRORS} }
}`;
const DELETE_PERMISSION = `mutation($id: ID!) { deletePermission(input: { id: $id }) { deletedId ${USER_ERRORS} } }`;
const ROLE_BY_KEY = `query($key: String, $env: ID) { role(key: $key, environmentId: $env) { ${ROLE_FIELDS} } }`;
const ROLE_BY_ID = `query($id: ID) { role(id: $id) { ${ROLE_FIELDS} } }`;
const ROLES = `query($env: ID, $builtIn: Boolean, $orderBy: RoleOrder, $first: Int, $after: String) {
  roles(environmentId: $env, builtIn: $builtIn, orderBy: $orderBy, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { id key name builtIn permissions { key } }
  }
}`;
const PERMISSIONS = `query($env: ID, $first: Int, $after: String) {
  permissions(environmentId: $env, first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { id key } }
}`;


let server: TestServer;
let ws: TestWorkspace;
let dev: string;
let prod: string;

async function createPermission(key: string, env = dev, description?: string) {
  const result = await ws.client.data(CREATE_PERMISSION, { input: { environmentId: env, key, description } });
  return result.createPermission as { permission: any; userErrors: UserErrors };
}

async function mustCreatePermission(key: string, env = dev) {
  const payload = await createPermission(key, env);
  expect(payload.userErrors).toEqual([]);
  return payload.permission;
}

async function createRole(input: Record<string, unknown>, env = dev) {
  const result = await ws.client.data(CREATE_ROLE, { input: { environmentId: env, ...input } });
  return result.createRole as { role: any; userErrors: UserErrors };
}

async function updateRole(input: Record<string, unknown>) {
  return (await ws.client.data(UPDATE_ROLE, { input })).updateRole as { role: any; userErrors: UserErrors };
}

async function roleByKey(key: string, env = dev) {
  return (await ws.client.data(ROLE_BY_KEY, { key, env })).role;
}

const keysOf = (permissions: { key: string }[]) => permissions.map((p) => p.key);

beforeAll(async () => {
  server = await startServer();
  ws = await server.workspace('Roles');
  dev = ws.development.id;
  prod = ws.production.id;
});
afterAll(() => server.close());

describe('built-in roles', () => {
  it('exist in every environment, including one created later', async () => {
    const created = await ws.client.data(
      `mutation($input: CreateEnvironmentInput!) { createEnvironment(input: $input) { environment { id } userErrors { code } } }`,
      { input: { name: 'Staging', slug: 'staging', kind: 'DEVELOPMENT' } },
    );
    expect(created.createEnvironment.userErrors).toEqual([]);
    const staging = created.createEnvironment.environment.id;

    const ids = new Set<string>();
    for (const env of [dev, prod, staging]) {
      const { roles } = await ws.client.data(ROLES, { env, builtIn: true });
      expect(roles.totalCount).toBe(2);
      expect(roles.nodes.map((r: any) => [r.key, r.name, r.builtIn])).toEqual([
        ['admin', 'Admin', true],
        ['member', 'Member', true],
      ]);
      for (const role of roles.nodes) ids.add(role.id);
      const admin = await roleByKey('admin', env);
      expect(admin).toMatchObject({ key: 'admin', builtIn: true, environmentId: env, permissions: [] });
    }
    // Each environment has its own copies.
    expect(ids.size).toBe(6);
  });

  it('cannot be deleted', async () => {
    for (const key of ['admin', 'member']) {
      const role = await roleByKey(key);
      const result = (await ws.client.data(DELETE_ROLE, { id: role.id })).deleteRole;
      expect(result.deletedId).toBeNull();
      expect(result.userErrors).toEqual(oneError('role.built_in', ['input', 'id']));
      expect((await roleByKey(key)).id).toBe(role.id);
    }
  });

  it('can be updated (name, description, permissions) and stay built in', async () => {
    await mustCreatePermission('members:invite');
    const member = await roleByKey('member', prod);
    const updated = await updateRole({ id: member.id, name: 'Team member', description: 'Renamed', permissionKeys: [] });
    expect(updated.userErrors).toEqual([]);
    expect(updated.role).toMatchObject({ key: 'member', name: 'Team member', description: 'Renamed', builtIn: true });

    const admin = await roleByKey('admin');
    const withPermission = await updateRole({ id: admin.id, permissionKeys: ['members:invite'] });
    expect(withPermission.userErrors).toEqual([]);
    expect(withPermission.role).toMatchObject({ key: 'admin', name: 'Admin', builtIn: true });
    expect(keysOf(withPermission.role.permissions)).toEqual(['members:invite']);
    expect(keysOf((await roleByKey('admin')).permissions)).toEqual(['members:invite']);
    // The other environment's admin is untouched.
    expect((await roleByKey('admin', prod)).permissions).toEqual([]);
  });
});

describe('permissions', () => {
  it('creates permissions keyed resource:action', async () => {
    for (const key of ['invoices:read', 'invoices:write', 'billing.reports:export', 'invoices:*', 'a:b', 'multi-word_res:do-it']) {
      const result = await createPermission(key, dev, `Allows ${key}`);
      expect(result.userErrors, key).toEqual([]);
      expect(result.permission, key).toMatchObject({ key, description: `Allows ${key}` });
      expect(result.permission.id).toMatch(/^prm_/);
    }
  });

  it('rejects malformed keys with permission.invalid_key', async () => {
    for (const key of ['invoices', 'Invoices:read', 'invoices:', ':read', 'invoices:read:all', 'in voices:read', '1nvoices:read', 'invoices:READ', '']) {
      const result = await createPermission(key);
      expect(result.permission, key).toBeNull();
      expect(result.userErrors, key).toEqual(oneError('permission.invalid_key', ['input', 'key']));
    }
  });

  it('rejects a duplicate key in the same environment only', async () => {
    await mustCreatePermission('reports:read');
    const dup = await createPermission('reports:read');
    expect(dup.permission).toBeNull();
    expect(dup.userErrors).toEqual(oneError('permission.key_taken', ['input', 'key']));
    const inProd = await createPermission('reports:read', prod);
    expect(inProd.userErrors).toEqual([]);
  });

  it('updates and clears a description', async () => {
    const permission = await mustCreatePermission('notes:read');
    const described = (await ws.client.data(UPDATE_PERMISSION, { input: { id: permission.id, description: 'Read notes' } })).updatePermission;
    expect(described).toEqual({ permission: { id: permission.id, key: 'notes:read', description: 'Read notes' }, userErrors: [] });
    const cleared = (await ws.client.data(UPDATE_PERMISSION, { input: { id: permission.id, description: null } })).updatePermission;
    expect(cleared.permission.description).toBeNull();
  });

  it('lists permissions by key with pagination', async () => {
    const pws = await server.workspace('Permission list');
    const env = pws.development.id;
    const keys = ['zeta:read', 'alpha:read', 'mid:write', 'alpha:write', 'beta:read'];
    for (const key of keys) {
      const r = await pws.client.data(CREATE_PERMISSION, { input: { environmentId: env, key } });
      expect(r.createPermission.userErrors).toEqual([]);
    }
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: any = (await pws.client.data(PERMISSIONS, { env, first: 2, after })).permissions;
      expect(page.totalCount).toBe(5);
      seen.push(...page.nodes.map((n: any) => n.key));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual([...keys].sort());
  });
});

describe('custom roles', () => {
  it('creates a role with permissions, returned by key', async () => {
    await mustCreatePermission('projects:read');
    await mustCreatePermission('projects:write');
    const result = await createRole({
      key: 'project-lead',
      name: 'Project lead',
      description: 'Leads projects',
      permissionKeys: ['projects:write', 'projects:read', 'projects:read'],
    });
    expect(result.userErrors).toEqual([]);
    expect(result.role).toMatchObject({ key: 'project-lead', name: 'Project lead', description: 'Leads projects', builtIn: false, environmentId: dev });
    expect(result.role.id).toMatch(/^rol_/);
    expect(keysOf(result.role.permissions)).toEqual(['projects:read', 'projects:write']);

    const byKey = await roleByKey('project-lead');
    expect(byKey.id).toBe(result.role.id);
    expect(keysOf(byKey.permissions)).toEqual(['projects:read', 'projects:write']);
    const byId = (await ws.client.data(ROLE_BY_ID, { id: result.role.id })).role;
    expect(byId.key).toBe('project-lead');
    expect(await roleByKey('project-lead', prod)).toBeNull();
    expect(await roleByKey('no-such-role')).toBeNull();

    const noArgs = await ws.client.request(`{ role { id } }`);
    expect(noArgs.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'role.lookup' });
  });

  it('refuses unknown permissions and creates nothing', async () => {
    await mustCreatePermission('tickets:read');
    const result = await createRole({ key: 'ticketeer', name: 'Ticketeer', permissionKeys: ['tickets:read', 'tickets:close'] });
    expect(result.role).toBeNull();
    expect(result.userErrors).toEqual(oneError('role.unknown_permission', ['input', 'permissionKeys']));
    expect(result.userErrors[0].message).toContain('tickets:close');
    expect(await roleByKey('ticketeer')).toBeNull();

    // A permission of another environment is unknown here.
    await mustCreatePermission('prod-only:read', prod);
    const crossEnv = await createRole({ key: 'cross', name: 'Cross', permissionKeys: ['prod-only:read'] });
    expect(crossEnv.userErrors).toEqual(oneError('role.unknown_permission', ['input', 'permissionKeys']));
  });

  it('refuses duplicate and malformed role keys', async () => {
    const first = await createRole({ key: 'auditor', name: 'Auditor' });
    expect(first.userErrors).toEqual([]);
    const dup = await createRole({ key: 'auditor', name: 'Auditor 2' });
    expect(dup.role).toBeNull();
    expect(dup.userErrors).toEqual(oneError('role.key_taken', ['input', 'key']));
    const builtInKey = await createRole({ key: 'admin', name: 'Another admin' });
    expect(builtInKey.userErrors).toEqual(oneError('role.key_taken', ['input', 'key']));
    const inProd = await createRole({ key: 'auditor', name: 'Auditor' }, prod);
    expect(inProd.userErrors).toEqual([]);
    const malformed = await createRole({ key: 'Bad Key', name: 'Bad' });
    expect(malformed.userErrors).toEqual(oneError('validation.key', ['input', 'key']));
  });

  it('updateRole replaces the permissions; omitted permissionKeys keep them', async () => {
    for (const key of ['docs:read', 'docs:write', 'docs:delete']) await mustCreatePermission(key);
    const role = (await createRole({ key: 'editor', name: 'Editor', permissionKeys: ['docs:read', 'docs:write'] })).role;

    const replaced = await updateRole({ id: role.id, permissionKeys: ['docs:delete'] });
    expect(replaced.userErrors).toEqual([]);
    expect(keysOf(replaced.role.permissions)).toEqual(['docs:delete']);
    expect(keysOf((await roleByKey('editor')).permissions)).toEqual(['docs:delete']);

    const renamed = await updateRole({ id: role.id, name: 'Chief editor' });
    expect(renamed.role.name).toBe('Chief editor');
    expect(keysOf(renamed.role.permissions)).toEqual(['docs:delete']);

    const unknown = await updateRole({ id: role.id, permissionKeys: ['docs:read', 'docs:nope'], name: 'Ignored' });
    expect(unknown.role).toBeNull();
    expect(unknown.userErrors).toEqual(oneError('role.unknown_permission', ['input', 'permissionKeys']));
    const unchanged = await roleByKey('editor');
    expect(unchanged.name).toBe('Chief editor');
    expect(keysOf(unchanged.permissions)).toEqual(['docs:delete']);

    const emptied = await updateRole({ id: role.id, permissionKeys: [] });
    expect(emptied.role.permissions).toEqual([]);

    const described = await updateRole({ id: role.id, description: 'Edits' });
    expect(described.role.description).toBe('Edits');
    const undescribed = await updateRole({ id: role.id, description: null });
    expect(undescribed.role.description).toBeNull();
  });

  it('deleting a permission removes it from every role', async () => {
    for (const key of ['files:read', 'files:write']) await mustCreatePermission(key);
    const reader = (await createRole({ key: 'file-reader', name: 'Reader', permissionKeys: ['files:read'] })).role;
    const writer = (await createRole({ key: 'file-writer', name: 'Writer', permissionKeys: ['files:read', 'files:write'] })).role;
    const readPermission = writer.permissions.find((p: any) => p.key === 'files:read');

    const deleted = (await ws.client.data(DELETE_PERMISSION, { id: readPermission.id })).deletePermission;
    expect(deleted).toEqual({ deletedId: readPermission.id, userErrors: [] });

    expect((await ws.client.data(ROLE_BY_ID, { id: reader.id })).role.permissions).toEqual([]);
    expect(keysOf((await ws.client.data(ROLE_BY_ID, { id: writer.id })).role.permissions)).toEqual(['files:write']);
    const node = await ws.client.request(`query($id: ID!) { node(id: $id) { id } }`, { id: readPermission.id });
    expect(node.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    // The key is free again, and an old role does not get it back by itself.
    await mustCreatePermission('files:read');
    expect((await ws.client.data(ROLE_BY_ID, { id: reader.id })).role.permissions).toEqual([]);
  });

  it('deletes a custom role', async () => {
    const role = (await createRole({ key: 'temp', name: 'Temporary' })).role;
    const deleted = (await ws.client.data(DELETE_ROLE, { id: role.id })).deleteRole;
    expect(deleted).toEqual({ deletedId: role.id, userErrors: [] });
    expect(await roleByKey('temp')).toBeNull();
    const byId = await ws.client.request(ROLE_BY_ID, { id: role.id });
    expect(byId.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', reason: 'role.not_found' });
    // Its key can be used again.
    expect((await createRole({ key: 'temp', name: 'Temporary again' })).userErrors).toEqual([]);
  });

  it('lists roles by key, filters built-in or custom, and pages', async () => {
    const lws = await server.workspace('Role list');
    const env = lws.development.id;
    for (const key of ['zulu', 'bravo', 'mike']) {
      const r = await lws.client.data(CREATE_ROLE, { input: { environmentId: env, key, name: key[0].toUpperCase() + key.slice(1) } });
      expect(r.createRole.userErrors).toEqual([]);
    }
    const all = (await lws.client.data(ROLES, { env })).roles;
    expect(all.nodes.map((r: any) => r.key)).toEqual(['admin', 'bravo', 'member', 'mike', 'zulu']);
    expect(all.totalCount).toBe(5);
    const custom = (await lws.client.data(ROLES, { env, builtIn: false })).roles;
    expect(custom.nodes.map((r: any) => r.key)).toEqual(['bravo', 'mike', 'zulu']);
    expect(custom.totalCount).toBe(3);
    const byNameDesc = (await lws.client.data(ROLES, { env, orderBy: { field: 'NAME', direction: 'DESC' } })).roles;
    expect(byNameDesc.nodes.map((r: any) => r.name)).toEqual(['Zulu', 'Mike', 'Member', 'Bravo', 'Admin']);

    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: any = (await lws.client.data(ROLES, { env, first: 2, after })).roles;
      seen.push(...page.nodes.map((r: any) => r.key));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(['admin', 'bravo', 'member', 'mike', 'zulu']);
  });
});
