import 'reflect-metadata';
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GraphQLClient, GraphQLResponse } from '../helpers/graphql.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

/** Authentication of the management API and the behaviour of API keys, through real HTTP. */

let server: TestServer;
let ws: TestWorkspace;
let other: TestWorkspace;

beforeAll(async () => {
  server = await startServer();
  ws = await server.workspace('Keys Workspace');
  other = await server.workspace('Other Workspace');
});
afterAll(() => server?.close());

const VIEWER = `query { viewer { workspaceId environmentIds scopes apiKey { id name prefix environmentId scopes lastUsedAt } } }`;
const CREATE_KEY = `mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { secret apiKey { id name prefix environmentId scopes expiresAt lastUsedAt revokedAt } userErrors { code field message } }
}`;
const REVOKE_KEY = `mutation($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { apiKey { id revokedAt } userErrors { code } } }`;
const CREATE_ORG = `mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id name } userErrors { code } } }`;
const KEY_NODE = `query($id: ID!) { node(id: $id) { ... on ApiKey { id prefix lastUsedAt revokedAt expiresAt } } }`;

interface CreatedKey {
  secret: string;
  apiKey: { id: string; name: string; prefix: string; environmentId: string | null; scopes: string[]; expiresAt: string | null };
  client: GraphQLClient;
}

/** Creates a key with `creator` (the owner key by default) and returns it with a client that uses it. */
async function createKey(
  input: { name?: string; scopes: string[]; environmentId?: string | null; expiresAt?: string },
  creator: GraphQLClient = ws.client,
): Promise<CreatedKey> {
  const data = await creator.data(CREATE_KEY, { input: { name: input.name ?? 'test key', ...input } });
  expect(data.createApiKey.userErrors).toEqual([]);
  const { secret, apiKey } = data.createApiKey;
  return { secret, apiKey, client: creator.withKey(secret) };
}

/** A raw POST to /graphql with exactly these headers. */
async function rawRequest(headers: Record<string, string>, query = '{ viewer { workspaceId } }') {
  const response = await fetch(server.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...headers },
    body: JSON.stringify({ query }),
  });
  const body = (await response.json()) as { data?: unknown; errors?: { message: string; extensions?: Record<string, any> }[] };
  return { status: response.status, headers: response.headers, body };
}

function expectUnauthenticated(result: Awaited<ReturnType<typeof rawRequest>>, reason: string) {
  expect(result.status).toBe(401);
  expect(result.headers.get('www-authenticate')).toBe('Bearer realm="gatehouse"');
  expect(result.body.data ?? null).toBeNull();
  expect(result.body.errors).toHaveLength(1);
  expect(result.body.errors![0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason });
  expect(result.body.errors![0].extensions!.requestId).toBe(result.headers.get('x-request-id'));
}

function expectError(response: GraphQLResponse, field: string, code: string, reason: string) {
  expect(response.errors, JSON.stringify(response)).toHaveLength(1);
  expect(response.errors![0].extensions).toMatchObject({ code, reason });
  expect(response.data?.[field] ?? null).toBeNull();
}

async function auditedFailures(client: GraphQLClient, keyId: string, environmentId?: string) {
  const data = await client.data(
    `query($env: ID, $target: ID) {
      auditEvents(environmentId: $env, first: 50, filter: { actions: ["api_key.authentication_failed"], targetId: $target }) {
        nodes { action environmentId actor { type id } targets { type id name } after requestId }
      }
    }`,
    { env: environmentId, target: keyId },
  );
  return data.auditEvents.nodes as {
    action: string;
    environmentId: string | null;
    actor: { type: string; id: string | null };
    targets: { type: string; id: string; name: string }[];
    after: Record<string, unknown>;
    requestId: string;
  }[];
}

const sql = (statement: string, params: unknown[] = []) =>
  server.database.db.orm.em.fork().getConnection().execute<Record<string, unknown>[]>(statement, params);

describe('rejected credentials', () => {
  it('answers a request without Authorization with 401, WWW-Authenticate and UNAUTHENTICATED', async () => {
    expectUnauthenticated(await rawRequest({}), 'auth.missing_credentials');
  });

  it.each([
    ['Basic credentials', `Basic ${Buffer.from('user:password').toString('base64')}`],
    ['a bare scheme', 'Bearer'],
    ['an empty token', 'Bearer '],
    ['two tokens', 'Bearer gh_live_abc extra'],
    ['another scheme', `Token ${'gh_live_' + 'a'.repeat(43)}`],
    ['a token with invalid characters', 'Bearer gh_live_abc"def'],
  ])('answers a malformed header (%s) with 401 and UNAUTHENTICATED, and audits it without the header', async (_label, header) => {
    const result = await rawRequest({ authorization: header });
    expectUnauthenticated(result, 'auth.malformed_credentials');
    const rows = await sql(`select workspace_id, actor_type, after from audit_event where request_id = ?`, [result.headers.get('x-request-id')]);
    expect(rows).toEqual([{ workspace_id: null, actor_type: 'ANONYMOUS', after: { reason: 'malformed', prefix: null } }]);
  });

  it('does not accept the owner key with extra words around it', async () => {
    expectUnauthenticated(await rawRequest({ authorization: `Bearer ${ws.ownerKey} x` }), 'auth.malformed_credentials');
    expectUnauthenticated(await rawRequest({ authorization: ws.ownerKey }), 'auth.malformed_credentials');
  });

  it('accepts the Bearer scheme case-insensitively (RFC 7235 §2.1)', async () => {
    const result = await rawRequest({ authorization: `bearer ${ws.ownerKey}` });
    expect(result.status).toBe(200);
    expect(result.body).toEqual({ data: { viewer: { workspaceId: ws.workspace.id } } });
  });

  it('answers an unknown key with 401 and audits it without a workspace', async () => {
    const unknown = `gh_live_${randomBytes(32).toString('base64url')}`;
    const result = await rawRequest({ authorization: `Bearer ${unknown}` });
    expectUnauthenticated(result, 'auth.invalid_key');
    const requestId = result.headers.get('x-request-id');
    const rows = await sql(`select workspace_id, environment_id, action, after, target_ids from audit_event where request_id = ?`, [requestId]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ workspace_id: null, environment_id: null, action: 'api_key.authentication_failed', target_ids: [] });
    expect(rows[0].after).toEqual({ reason: 'unknown_key', prefix: unknown.slice(0, 16) });
    // Nothing about the attempt reaches a workspace's audit log.
    const visible = await ws.client.data(`query { auditEvents(first: 100) { nodes { requestId } } }`);
    expect(visible.auditEvents.nodes.map((e: { requestId: string }) => e.requestId)).not.toContain(requestId);
  });

  it('rejects a revoked key at once and audits the attempt in its workspace', async () => {
    const key = await createKey({ name: 'soon revoked', scopes: ['organizations:read'] });
    expect((await key.client.data(VIEWER)).viewer.apiKey.id).toBe(key.apiKey.id);

    const revoked = await ws.client.data(REVOKE_KEY, { input: { id: key.apiKey.id } });
    expect(revoked.revokeApiKey.userErrors).toEqual([]);
    expect(revoked.revokeApiKey.apiKey.revokedAt).toMatch(/^\d{4}-\d\d-\d\dT/);

    const result = await rawRequest({ authorization: `Bearer ${key.secret}` });
    expectUnauthenticated(result, 'auth.invalid_key');

    const events = await auditedFailures(ws.client, key.apiKey.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      action: 'api_key.authentication_failed',
      environmentId: null,
      targets: [{ type: 'api_key', id: key.apiKey.id, name: 'soon revoked' }],
      after: { reason: 'revoked', prefix: key.apiKey.prefix },
      requestId: result.headers.get('x-request-id'),
    });
    expect(events[0].actor).toMatchObject({ type: 'ANONYMOUS', id: null });
    // Another workspace never sees it.
    expect(await auditedFailures(other.client, key.apiKey.id)).toEqual([]);
  });

  it('audits a rejected environment-pinned key in its environment', async () => {
    const key = await createKey({ name: 'pinned, revoked', scopes: ['users:read'], environmentId: ws.development.id });
    await ws.client.data(REVOKE_KEY, { input: { id: key.apiKey.id } });
    expectUnauthenticated(await rawRequest({ authorization: `Bearer ${key.secret}` }), 'auth.invalid_key');
    const events = await auditedFailures(ws.client, key.apiKey.id, ws.development.id);
    expect(events.map((e) => [e.environmentId, e.after.reason])).toEqual([[ws.development.id, 'revoked']]);
    expect(await auditedFailures(ws.client, key.apiKey.id, ws.production.id)).toEqual([]);
  });

  it('rejects an expired key and audits the attempt', async () => {
    const expiresAt = new Date(Date.now() + 1500);
    const key = await createKey({ name: 'short-lived', scopes: ['organizations:read'], expiresAt: expiresAt.toISOString() });
    expect(key.apiKey.expiresAt).toBe(expiresAt.toISOString());
    expect((await key.client.data(VIEWER)).viewer.apiKey.id).toBe(key.apiKey.id);

    await new Promise((resolve) => setTimeout(resolve, expiresAt.getTime() - Date.now() + 50));
    const result = await rawRequest({ authorization: `Bearer ${key.secret}` });
    expectUnauthenticated(result, 'auth.invalid_key');
    const events = await auditedFailures(ws.client, key.apiKey.id);
    expect(events.map((e) => e.after)).toEqual([{ reason: 'expired', prefix: key.apiKey.prefix }]);
  });

  it('rejects a key whose expiry passed in the database', async () => {
    const key = await createKey({ name: 'expired in db', scopes: ['organizations:read'], expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
    expect((await key.client.request(VIEWER)).errors).toBeUndefined();
    await sql(`update api_key set expires_at = now() - interval '1 second' where id = ?`, [key.apiKey.id]);
    expectUnauthenticated(await rawRequest({ authorization: `Bearer ${key.secret}` }), 'auth.invalid_key');
  });

  it('refuses to create a key that is already expired', async () => {
    const data = await ws.client.data(CREATE_KEY, {
      input: { name: 'stale', scopes: ['organizations:read'], expiresAt: new Date(Date.now() - 1000).toISOString() },
    });
    expect(data.createApiKey).toMatchObject({
      secret: null,
      apiKey: null,
      userErrors: [{ code: 'api_key.expiry_in_past', field: ['input', 'expiresAt'] }],
    });
  });
});

describe('scopes', () => {
  it('refuses an operation whose scope the key lacks with FORBIDDEN, and changes nothing', async () => {
    const reader = await createKey({ name: 'org reader', scopes: ['organizations:read'] });
    const env = ws.development.id;
    const before = await ws.client.data(`query($env: ID) { organizations(environmentId: $env) { totalCount } }`, { env });

    const listed = await reader.client.request(`query($env: ID) { organizations(environmentId: $env) { totalCount } }`, { env });
    expect(listed.errors).toBeUndefined();
    expect(listed.data!.organizations.totalCount).toBe(before.organizations.totalCount);

    const created = await reader.client.request(CREATE_ORG, { input: { environmentId: env, name: 'Not allowed' } });
    expectError(created, 'createOrganization', 'FORBIDDEN', 'auth.missing_scope');
    expect(created.errors![0].message).toContain('organizations:write');

    expectError(await reader.client.request(`query($env: ID) { users(environmentId: $env) { totalCount } }`, { env }), 'users', 'FORBIDDEN', 'auth.missing_scope');
    expectError(await reader.client.request(`query { workspace { id } }`), 'workspace', 'FORBIDDEN', 'auth.missing_scope');
    expectError(await reader.client.request(`query { apiKeys { totalCount } }`), 'apiKeys', 'FORBIDDEN', 'auth.missing_scope');
    expectError(
      await reader.client.request(CREATE_KEY, { input: { name: 'x', scopes: ['organizations:read'] } }),
      'createApiKey',
      'FORBIDDEN',
      'auth.missing_scope',
    );

    const after = await ws.client.data(`query($env: ID) { organizations(environmentId: $env) { totalCount } }`, { env });
    expect(after.organizations.totalCount).toBe(before.organizations.totalCount);
  });

  it('lets a write scope imply its read scope, and nothing else', async () => {
    const writer = await createKey({ name: 'org writer', scopes: ['organizations:write'] });
    const env = ws.development.id;
    const created = await writer.client.data(CREATE_ORG, { input: { environmentId: env, name: 'Writer Org' } });
    expect(created.createOrganization.userErrors).toEqual([]);
    const read = await writer.client.data(`query($id: ID) { organization(id: $id) { id name } }`, { id: created.createOrganization.organization.id });
    expect(read.organization).toEqual({ id: created.createOrganization.organization.id, name: 'Writer Org' });
    expectError(await writer.client.request(`query($env: ID) { roles(environmentId: $env) { totalCount } }`, { env }), 'roles', 'FORBIDDEN', 'auth.missing_scope');
  });

  it('never lets a key mint a key with more scopes than it holds', async () => {
    const minter = await createKey({ name: 'minter', scopes: ['organizations:read', 'api_keys:write'] });
    const keysBefore = (await ws.client.data(`query { apiKeys(first: 100) { totalCount } }`)).apiKeys.totalCount;

    for (const scopes of [['*'], ['users:write'], ['organizations:write'], ['organizations:read', 'workspace:read'], ['environments:read']]) {
      const response = await minter.client.request(CREATE_KEY, { input: { name: 'escalated', scopes } });
      expectError(response, 'createApiKey', 'FORBIDDEN', 'api_key.scope_escalation');
      expect(JSON.stringify(response)).not.toMatch(/gh_(live|test)_/);
    }

    const narrower = await createKey({ name: 'narrower', scopes: ['organizations:read', 'api_keys:read'] }, minter.client);
    expect(narrower.apiKey.scopes).toEqual(['api_keys:read', 'organizations:read']);
    const keysAfter = (await ws.client.data(`query { apiKeys(first: 100) { totalCount } }`)).apiKeys.totalCount;
    expect(keysAfter).toBe(keysBefore + 1);
    const created = await ws.client.data(
      `query($target: ID) { auditEvents(first: 50, filter: { actions: ["api_key.created"], actorId: $target }) { nodes { targets { id } } } }`,
      { target: minter.apiKey.id },
    );
    expect(created.auditEvents.nodes).toEqual([{ targets: [{ id: narrower.apiKey.id }] }]);
  });

  it('rejects unknown scopes and empty scope lists as user errors', async () => {
    const unknown = await ws.client.data(CREATE_KEY, { input: { name: 'typo', scopes: ['organizations:read', 'organisations:write'] } });
    expect(unknown.createApiKey).toMatchObject({
      secret: null,
      apiKey: null,
      userErrors: [{ code: 'api_key.unknown_scope', field: ['input', 'scopes'] }],
    });
    expect(unknown.createApiKey.userErrors[0].message).toContain('organisations:write');

    const empty = await ws.client.data(CREATE_KEY, { input: { name: 'nothing', scopes: [] } });
    expect(empty.createApiKey.userErrors.map((e: { code: string }) => e.code)).toEqual(['api_key.scopes_required']);
  });
});

describe('issued keys', () => {
  it('returns the secret once, gh_test_ for development-pinned keys and gh_live_ otherwise', async () => {
    const dev = await createKey({ name: 'dev', scopes: ['*'], environmentId: ws.development.id });
    const prod = await createKey({ name: 'prod', scopes: ['*'], environmentId: ws.production.id });
    const wide = await createKey({ name: 'wide', scopes: ['*'] });
    expect(dev.secret).toMatch(/^gh_test_[A-Za-z0-9_-]{43}$/);
    expect(prod.secret).toMatch(/^gh_live_[A-Za-z0-9_-]{43}$/);
    expect(wide.secret).toMatch(/^gh_live_[A-Za-z0-9_-]{43}$/);
    expect(new Set([dev.secret, prod.secret, wide.secret]).size).toBe(3);
    for (const key of [dev, prod, wide]) {
      expect(key.apiKey.prefix).toBe(key.secret.slice(0, 16));
      expect((await key.client.data(VIEWER)).viewer.apiKey.id).toBe(key.apiKey.id);
    }
    expect([dev.apiKey.environmentId, prod.apiKey.environmentId, wide.apiKey.environmentId]).toEqual([
      ws.development.id,
      ws.production.id,
      null,
    ]);

    // No query ever returns the secret again.
    const listed = await ws.client.request(`query($ids: [ID!]!) { apiKeys(first: 100) { nodes { id name prefix } } nodes(ids: $ids) { id } }`, {
      ids: [dev.apiKey.id, prod.apiKey.id, wide.apiKey.id],
    });
    expect(listed.errors).toBeUndefined();
    const text = JSON.stringify(listed);
    for (const key of [dev, prod, wide]) expect(text).not.toContain(key.secret.slice(16));
  });

  it('stores only the SHA-256 of the secret, and never puts the secret in the audit log', async () => {
    const key = await createKey({ name: 'hashed', scopes: ['organizations:read'], environmentId: ws.development.id });
    await key.client.data(VIEWER);
    await ws.client.data(REVOKE_KEY, { input: { id: key.apiKey.id } });
    await rawRequest({ authorization: `Bearer ${key.secret}` });

    const rows = await sql(`select * from api_key where id = ?`, [key.apiKey.id]);
    expect(rows).toHaveLength(1);
    expect(rows[0].secret_hash).toBe(createHash('sha256').update(key.secret, 'utf8').digest('hex'));
    expect(rows[0].prefix).toBe(key.secret.slice(0, 16));
    const hidden = key.secret.slice(16);
    expect(JSON.stringify(rows[0])).not.toContain(hidden);

    const events = await sql(`select * from audit_event`);
    expect(events.length).toBeGreaterThan(5);
    const dump = JSON.stringify(events);
    expect(dump).toContain(key.apiKey.id);
    expect(dump).not.toContain(hidden);
    expect(dump).not.toContain(key.secret);
    // Nor any other key's secret: the owner keys of both workspaces.
    expect(dump).not.toContain(ws.ownerKey.slice(16));
    expect(dump).not.toContain(other.ownerKey.slice(16));
  });

  it('keeps a development-pinned key out of environment management and pins the keys it mints', async () => {
    const pinned = await createKey({ name: 'dev admin', scopes: ['*'], environmentId: ws.development.id });

    const environment = await pinned.client.request(
      `mutation($input: CreateEnvironmentInput!) { createEnvironment(input: $input) { environment { id } userErrors { code } } }`,
      { input: { name: 'Sneaky', slug: 'sneaky', kind: 'PRODUCTION' } },
    );
    expectError(environment, 'createEnvironment', 'FORBIDDEN', 'environment.workspace_key_required');
    const environments = await ws.client.data(`query { environments { nodes { slug } } }`);
    expect(environments.environments.nodes.map((e: { slug: string }) => e.slug)).not.toContain('sneaky');

    const minted = await createKey({ name: 'minted by pinned', scopes: ['organizations:read'] }, pinned.client);
    expect(minted.apiKey.environmentId).toBe(ws.development.id);
    expect(minted.secret).toMatch(/^gh_test_/);
    expect((await minted.client.data(VIEWER)).viewer.environmentIds).toEqual([ws.development.id]);

    const explicitlyOwn = await createKey({ name: 'own env', scopes: ['users:read'], environmentId: ws.development.id }, pinned.client);
    expect(explicitlyOwn.apiKey.environmentId).toBe(ws.development.id);

    const elsewhere = await pinned.client.request(CREATE_KEY, {
      input: { name: 'to production', scopes: ['organizations:read'], environmentId: ws.production.id },
    });
    expectError(elsewhere, 'createApiKey', 'NOT_FOUND', 'environment.not_found');
  });

  it("shows the key's scopes and environments in viewer", async () => {
    const owner = await ws.client.data(VIEWER);
    expect(owner.viewer.workspaceId).toBe(ws.workspace.id);
    expect(owner.viewer.scopes).toEqual(['*']);
    expect([...owner.viewer.environmentIds].sort()).toEqual([ws.development.id, ws.production.id].sort());
    expect(owner.viewer.apiKey).toMatchObject({ name: 'Owner key', environmentId: null, scopes: ['*'], prefix: ws.ownerKey.slice(0, 16) });

    const limited = await createKey({ name: 'limited', scopes: ['users:read', 'audit:read', 'users:read'] });
    const viewer = (await limited.client.data(VIEWER)).viewer;
    expect(viewer.scopes).toEqual(['audit:read', 'users:read']);
    expect([...viewer.environmentIds].sort()).toEqual([ws.development.id, ws.production.id].sort());
    expect(viewer.apiKey).toMatchObject({ id: limited.apiKey.id, name: 'limited', environmentId: null });

    const pinned = await createKey({ name: 'prod only', scopes: ['roles:read'], environmentId: ws.production.id });
    const pinnedViewer = (await pinned.client.data(VIEWER)).viewer;
    expect(pinnedViewer).toMatchObject({ workspaceId: ws.workspace.id, environmentIds: [ws.production.id], scopes: ['roles:read'] });
    expect(pinnedViewer.apiKey.environmentId).toBe(ws.production.id);

    const foreign = (await other.client.data(VIEWER)).viewer;
    expect(foreign.workspaceId).toBe(other.workspace.id);
    expect(foreign.environmentIds.sort()).toEqual([other.development.id, other.production.id].sort());
  });

  it('sets lastUsedAt when the key is used', async () => {
    const key = await createKey({ name: 'fresh', scopes: ['organizations:read'] });
    const unused = await ws.client.data(KEY_NODE, { id: key.apiKey.id });
    expect(unused.node).toMatchObject({ id: key.apiKey.id, lastUsedAt: null, revokedAt: null });

    const before = Date.now();
    await key.client.data(`query($env: ID) { organizations(environmentId: $env) { totalCount } }`, { env: ws.development.id });
    const after = Date.now();

    const used = await ws.client.data(KEY_NODE, { id: key.apiKey.id });
    const lastUsedAt = new Date(used.node.lastUsedAt).getTime();
    expect(lastUsedAt).toBeGreaterThanOrEqual(before - 5);
    expect(lastUsedAt).toBeLessThanOrEqual(after + 5);
  });
});

describe('failed authentication budget', () => {
  let limited: TestServer;
  let owner: TestWorkspace;
  beforeAll(async () => {
    limited = await startServer({ authFailuresPerMinute: 3 });
    owner = await limited.workspace();
  });
  afterAll(() => limited.close());

  it('answers failures past the per-IP budget with 429 and writes no more audit rows, while valid keys still work', async () => {
    const attempt = () =>
      fetch(limited.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer gh_live_${randomBytes(32).toString('base64url')}` },
        body: JSON.stringify({ query: '{ viewer { scopes } }' }),
      });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i += 1) statuses.push((await attempt()).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);

    const throttled = await attempt();
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);
    const body = (await throttled.json()) as { errors: { extensions: Record<string, unknown> }[] };
    expect(body.errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED', reason: 'auth.too_many_failures' });

    const rows = await limited.database.db.orm.em
      .fork()
      .getConnection()
      .execute(`select count(*)::int as n from audit_event where action = 'api_key.authentication_failed'`);
    expect(rows[0].n).toBe(3);

    const ok = await owner.client.request('{ viewer { scopes } }');
    expect(ok.status).toBe(200);
    expect(ok.data).toEqual({ viewer: { scopes: ['*'] } });
  });
});
