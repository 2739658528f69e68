import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

let server: TestServer;
let ws: TestWorkspace;

beforeAll(async () => {
  server = await startServer();
  ws = await server.workspace();
});
afterAll(() => server.close());

describe('list filters', () => {
  it('filters environments by kind', async () => {
    const data = await ws.client.data('{ environments(filter: { kind: PRODUCTION }) { totalCount nodes { id kind } } }');
    expect(data.environments).toEqual({ totalCount: 1, nodes: [{ id: ws.production.id, kind: 'PRODUCTION' }] });
  });

  it('filters API keys by environment and by revocation', async () => {
    const create = 'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id } } }';
    const pinned = await ws.client.data(create, { input: { name: 'pinned', scopes: ['users:read'], environmentId: ws.development.id } });
    const other = await ws.client.data(create, { input: { name: 'other', scopes: ['users:read'] } });
    await ws.client.data('mutation($id: ID!) { revokeApiKey(input: { id: $id }) { apiKey { id } } }', { id: other.createApiKey.apiKey.id });
    const byEnvironment = await ws.client.data('query($env: ID) { apiKeys(filter: { environmentId: $env }) { nodes { name } } }', {
      env: ws.development.id,
    });
    expect(byEnvironment.apiKeys.nodes).toEqual([{ name: 'pinned' }]);
    const revoked = await ws.client.data('{ apiKeys(filter: { revoked: true }) { nodes { id } } }');
    expect(revoked.apiKeys.nodes).toEqual([{ id: other.createApiKey.apiKey.id }]);
    const usable = await ws.client.data('{ apiKeys(filter: { revoked: false }) { nodes { name } } }');
    expect(usable.apiKeys.nodes.map((n: { name: string }) => n.name).sort()).toEqual(['Owner key', 'pinned']);
    expect(pinned.createApiKey.apiKey.id).toMatch(/^key_/);
  });

  it('filters permissions by key prefix, matching wildcards literally', async () => {
    for (const key of ['invoices:read', 'invoices:write', 'reports:read', 'in_x:read']) {
      await ws.client.data('mutation($input: CreatePermissionInput!) { createPermission(input: $input) { permission { id } } }', {
        input: { environmentId: ws.development.id, key },
      });
    }
    const invoices = await ws.client.data('query($env: ID) { permissions(environmentId: $env, keyPrefix: "invoices:") { nodes { key } } }', {
      env: ws.development.id,
    });
    expect(invoices.permissions.nodes).toEqual([{ key: 'invoices:read' }, { key: 'invoices:write' }]);
    const underscore = await ws.client.data('query($env: ID) { permissions(environmentId: $env, keyPrefix: "in_") { nodes { key } } }', {
      env: ws.development.id,
    });
    expect(underscore.permissions.nodes).toEqual([{ key: 'in_x:read' }]);
  });
});
