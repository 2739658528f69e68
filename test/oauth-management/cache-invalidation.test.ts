import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import { API, basic, mutate, oauthFixture, postForm, type OAuthFixture } from '../helpers/oauth.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

let server: TestServer;
let ws: TestWorkspace;
let f: OAuthFixture;

beforeAll(async () => {
  server = await startServer();
  ws = await server.workspace();
  f = await oauthFixture(ws.client, ws.development.id);
});
afterAll(() => server?.close());

const token = () => postForm(f.tokenEndpoint, { grant_type: 'client_credentials', resource: API, scope: 'read' }, { authorization: basic(f.clientId, f.secret) });

/** Statements of the token endpoint's cache loading an issuer or a client (not the audit writes). */
const CACHE_LOADS = /from "(oauth_client|client_secret|signing_key|resource_server|trusted_issuer|environment)"/;
async function cacheLoadsDuring(work: () => Promise<unknown>): Promise<number> {
  server.sql.statements.length = 0;
  await work();
  return server.sql.statements.filter((statement) => CACHE_LOADS.test(statement)).length;
}

describe("the token endpoint's cache", () => {
  it('serves from memory across mutations that change nothing it holds', async () => {
    // The first token request makes the environment's first key, whose change notice drops
    // the state once more when it arrives: wait until the cache holds still.
    expect(await eventually(() => cacheLoadsDuring(token), (loads) => loads === 0)).toBe(0);

    await mutate(ws.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId: f.environmentId, name: 'Unrelated' });
    await mutate(ws.client, 'updateOrganization', 'UpdateOrganizationInput', 'organization { id }', { id: f.organizationId, name: 'Acme renamed' });
    await mutate(ws.client, 'createUser', 'CreateUserInput', 'user { id }', { environmentId: f.environmentId, email: 'someone@example.test' });

    const loads = await cacheLoadsDuring(async () => expect((await token()).status).toBe(200));
    expect(loads).toBe(0);
  });

  it('drops what a committed OAuth change made stale, so the change is in force for the next request', async () => {
    expect((await token()).status).toBe(200);
    await mutate(ws.client, 'updateServiceAccount', 'UpdateServiceAccountInput', 'serviceAccount { id }', { id: f.clientId, allowedScopes: ['write'] });
    let refused: Awaited<ReturnType<typeof token>> | undefined;
    const loads = await cacheLoadsDuring(async () => (refused = await token()));
    expect(loads).toBeGreaterThan(0);
    expect(refused!.status).toBe(400);
    expect(refused!.body.error).toBe('invalid_scope');

    await mutate(ws.client, 'updateServiceAccount', 'UpdateServiceAccountInput', 'serviceAccount { id }', { id: f.clientId, allowedScopes: ['read'], enabled: false });
    const disabled = await token();
    expect(disabled.status).toBe(401);
    expect(disabled.body.error).toBe('invalid_client');
  });
});
