import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

let server: TestServer;
let ws: TestWorkspace;

const CREATE_KEY = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret userErrors { code field } } }`;
const RETENTION = `mutation($input: UpdateEnvironmentInput!) { updateEnvironment(input: $input) {
  environment { name auditRetentionDays } userErrors { code field } } }`;
const LAST_UPDATE = `query($env: ID) { auditEvents(environmentId: $env, first: 1, filter: { actions: ["environment.updated"] }) {
  nodes { actor { type id } before after } } }`;

async function keyWith(scopes: string[]) {
  const data = await ws.client.data(CREATE_KEY, { input: { name: scopes.join(' '), scopes } });
  expect(data.createApiKey.userErrors).toEqual([]);
  return ws.client.withKey(data.createApiKey.secret as string);
}

beforeAll(async () => {
  server = await startServer();
  ws = await server.workspace();
});
afterAll(() => server.close());

describe('who may shorten audit retention', () => {
  it('refuses a key with environments:write alone, which may still rename and keep events longer', async () => {
    const env = ws.development.id;
    const { name } = (await ws.client.data('query($id: ID!) { environment(id: $id) { name } }', { id: env })).environment;
    const admin = await keyWith(['environments:write']);
    // From "forever" to one day would let the next retention run erase the whole trail.
    const refused = await admin.request(RETENTION, { input: { id: env, auditRetentionDays: 1 } });
    expect(refused.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'auth.missing_scope' });
    expect(refused.errors?.[0].message).toContain('audit:write');
    expect((await ws.client.data('query($id: ID!) { environment(id: $id) { auditRetentionDays } }', { id: env })).environment.auditRetentionDays).toBeNull();

    await ws.client.data(RETENTION, { input: { id: env, auditRetentionDays: 90 } });
    const shorter = await admin.request(RETENTION, { input: { id: env, name: 'Renamed too', auditRetentionDays: 30 } });
    expect(shorter.errors?.[0].extensions?.reason).toBe('auth.missing_scope');
    // Nothing of a refused change happens: not the rename either.
    expect((await ws.client.data('query($id: ID!) { environment(id: $id) { name auditRetentionDays } }', { id: env })).environment).toEqual({
      name,
      auditRetentionDays: 90,
    });

    const longer = await admin.data(RETENTION, { input: { id: env, name: 'Dev', auditRetentionDays: 365 } });
    expect(longer.updateEnvironment.environment).toEqual({ name: 'Dev', auditRetentionDays: 365 });
    const forever = await admin.data(RETENTION, { input: { id: env, auditRetentionDays: null } });
    expect(forever.updateEnvironment.environment.auditRetentionDays).toBeNull();
  });

  it('lets a key with audit:write (or the owner) shorten it, and audits the old and new values', async () => {
    const env = ws.production.id;
    const auditor = await keyWith(['environments:write', 'audit:write']);
    const set = await auditor.data(RETENTION, { input: { id: env, auditRetentionDays: 7 } });
    expect(set.updateEnvironment.environment.auditRetentionDays).toBe(7);
    const event = (await ws.client.data(LAST_UPDATE, { env })).auditEvents.nodes[0];
    expect(event.actor.type).toBe('API_KEY');
    expect(event.before).toMatchObject({ auditRetentionDays: null });
    expect(event.after).toMatchObject({ auditRetentionDays: 7 });

    const owner = await ws.client.data(RETENTION, { input: { id: env, auditRetentionDays: 1 } });
    expect(owner.updateEnvironment.environment.auditRetentionDays).toBe(1);
    const second = (await ws.client.data(LAST_UPDATE, { env })).auditEvents.nodes[0];
    expect([second.before.auditRetentionDays, second.after.auditRetentionDays]).toEqual([7, 1]);
  });

  it('audit:write alone does not let a key manage environments, and only a key holding it can mint it', async () => {
    const auditOnly = await keyWith(['audit:write']);
    const refused = await auditOnly.request(RETENTION, { input: { id: ws.development.id, auditRetentionDays: 1 } });
    expect(refused.errors?.[0].extensions?.reason).toBe('auth.missing_scope');
    // audit:write includes audit:read.
    expect((await auditOnly.data('query($env: ID) { auditEvents(environmentId: $env, first: 1) { totalCount } }', { env: ws.development.id })).auditEvents.totalCount).toBeGreaterThan(0);

    const minter = await keyWith(['api_keys:write', 'environments:write']);
    const escalation = await minter.request(CREATE_KEY, { input: { name: 'escalate', scopes: ['audit:write'] } });
    expect(escalation.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'api_key.scope_escalation' });
  });
});
