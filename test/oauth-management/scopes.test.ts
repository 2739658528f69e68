import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { buildSchema } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GraphQLClient } from '../helpers/graphql.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

/** Every OAuth management operation needs `oauth:read` (reads) or `oauth:write` (changes). */

interface Fixture {
  env: string;
  serviceAccountId: string;
  applicationId: string;
  secretId: string;
  resourceServerId: string;
  trustedIssuerId: string;
  signingKeyId: string;
}

const mutation = (name: string, inputType: string, selection: string) =>
  `mutation($input: ${inputType}!) { ${name}(input: $input) { ${selection} userErrors { code } } }`;

const MUTATIONS: { name: string; document: string; input: (f: Fixture) => Record<string, unknown> }[] = [
  { name: 'createServiceAccount', document: mutation('createServiceAccount', 'CreateServiceAccountInput', 'serviceAccount { id }'), input: (f) => ({ environmentId: f.env, name: 'x' }) },
  { name: 'updateServiceAccount', document: mutation('updateServiceAccount', 'UpdateServiceAccountInput', 'serviceAccount { id }'), input: (f) => ({ id: f.serviceAccountId, enabled: false }) },
  { name: 'deleteServiceAccount', document: mutation('deleteServiceAccount', 'DeleteInput', 'deletedId'), input: (f) => ({ id: f.serviceAccountId }) },
  { name: 'createApplication', document: mutation('createApplication', 'CreateApplicationInput', 'application { id }'), input: (f) => ({ environmentId: f.env, name: 'x' }) },
  { name: 'updateApplication', document: mutation('updateApplication', 'UpdateApplicationInput', 'application { id }'), input: (f) => ({ id: f.applicationId, enabled: false }) },
  { name: 'deleteApplication', document: mutation('deleteApplication', 'DeleteInput', 'deletedId'), input: (f) => ({ id: f.applicationId }) },
  { name: 'createClientSecret', document: mutation('createClientSecret', 'CreateClientSecretInput', 'secret'), input: (f) => ({ clientId: f.serviceAccountId }) },
  { name: 'revokeClientSecret', document: mutation('revokeClientSecret', 'ClientSecretIdInput', 'clientSecret { id }'), input: (f) => ({ id: f.secretId }) },
  { name: 'createResourceServer', document: mutation('createResourceServer', 'CreateResourceServerInput', 'resourceServer { id }'), input: (f) => ({ environmentId: f.env, name: 'x', identifier: 'https://x.example.com' }) },
  { name: 'updateResourceServer', document: mutation('updateResourceServer', 'UpdateResourceServerInput', 'resourceServer { id }'), input: (f) => ({ id: f.resourceServerId, name: 'y' }) },
  { name: 'deleteResourceServer', document: mutation('deleteResourceServer', 'DeleteInput', 'deletedId'), input: (f) => ({ id: f.resourceServerId }) },
  { name: 'createTrustedIssuer', document: mutation('createTrustedIssuer', 'CreateTrustedIssuerInput', 'trustedIssuer { id }'), input: (f) => ({ environmentId: f.env, name: 'x', issuer: 'https://other.example.com', jwksUri: 'https://other.example.com/jwks', audiences: ['a'] }) },
  { name: 'updateTrustedIssuer', document: mutation('updateTrustedIssuer', 'UpdateTrustedIssuerInput', 'trustedIssuer { id }'), input: (f) => ({ id: f.trustedIssuerId, name: 'y' }) },
  { name: 'deleteTrustedIssuer', document: mutation('deleteTrustedIssuer', 'DeleteInput', 'deletedId'), input: (f) => ({ id: f.trustedIssuerId }) },
  { name: 'rotateSigningKey', document: mutation('rotateSigningKey', 'RotateSigningKeyInput', 'signingKey { id }'), input: (f) => ({ environmentId: f.env }) },
  { name: 'revokeSigningKey', document: mutation('revokeSigningKey', 'SigningKeyIdInput', 'signingKey { id }'), input: (f) => ({ id: f.signingKeyId }) },
  { name: 'updateClientRegistrationPolicy', document: mutation('updateClientRegistrationPolicy', 'UpdateClientRegistrationPolicyInput', 'initialAccessToken'), input: (f) => ({ environmentId: f.env, policy: 'OPEN' }) },
];

const QUERIES: { name: string; document: string; variables: (f: Fixture) => Record<string, unknown> }[] = [
  { name: 'serviceAccounts', document: `query($env: ID) { serviceAccounts(environmentId: $env) { totalCount nodes { id clientSecrets { id } } } }`, variables: (f) => ({ env: f.env }) },
  { name: 'applications', document: `query($env: ID) { applications(environmentId: $env) { totalCount nodes { id clientSecrets { id } } } }`, variables: (f) => ({ env: f.env }) },
  { name: 'resourceServers', document: `query($env: ID) { resourceServers(environmentId: $env) { totalCount nodes { id metadataUrl } } }`, variables: (f) => ({ env: f.env }) },
  { name: 'trustedIssuers', document: `query($env: ID) { trustedIssuers(environmentId: $env) { totalCount nodes { id } } }`, variables: (f) => ({ env: f.env }) },
  { name: 'signingKeys', document: `query($env: ID) { signingKeys(environmentId: $env) { id state } }`, variables: (f) => ({ env: f.env }) },
];

const NODE_IDS: (keyof Fixture)[] = ['serviceAccountId', 'applicationId', 'secretId', 'resourceServerId', 'trustedIssuerId', 'signingKeyId'];

let server: TestServer;
let ws: TestWorkspace;
let f: Fixture;
let reader: GraphQLClient;
let outsider: GraphQLClient;

async function keyWith(scopes: string[]): Promise<GraphQLClient> {
  const created = await ws.client.data(`mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret userErrors { code } } }`, {
    input: { name: scopes.join(' '), scopes },
  });
  expect(created.createApiKey.userErrors).toEqual([]);
  return ws.client.withKey(created.createApiKey.secret);
}

async function create(document: string, input: Record<string, unknown>) {
  const data = await ws.client.data(document, { input });
  const payload = Object.values(data)[0] as Record<string, any>;
  expect(payload.userErrors).toEqual([]);
  return payload;
}

beforeAll(async () => {
  server = await startServer();
  ws = await server.workspace('Scopes');
  const env = ws.development.id;
  const sa = await create(mutation('createServiceAccount', 'CreateServiceAccountInput', 'serviceAccount { id }'), { environmentId: env, name: 'sa' });
  const app = await create(mutation('createApplication', 'CreateApplicationInput', 'application { id }'), { environmentId: env, name: 'app' });
  const secret = await create(mutation('createClientSecret', 'CreateClientSecretInput', 'clientSecret { id }'), { clientId: sa.serviceAccount.id });
  const rs = await create(mutation('createResourceServer', 'CreateResourceServerInput', 'resourceServer { id }'), { environmentId: env, name: 'rs', identifier: 'https://rs.example.com' });
  const ti = await create(mutation('createTrustedIssuer', 'CreateTrustedIssuerInput', 'trustedIssuer { id }'), {
    environmentId: env,
    name: 'ti',
    issuer: 'https://ti.example.com',
    jwksUri: 'https://ti.example.com/jwks',
    audiences: ['a'],
  });
  const key = await create(mutation('rotateSigningKey', 'RotateSigningKeyInput', 'signingKey { id }'), { environmentId: env, activateAfterSeconds: 3600 });
  f = {
    env,
    serviceAccountId: sa.serviceAccount.id,
    applicationId: app.application.id,
    secretId: secret.clientSecret.id,
    resourceServerId: rs.resourceServer.id,
    trustedIssuerId: ti.trustedIssuer.id,
    signingKeyId: key.signingKey.id,
  };
  reader = await keyWith(['oauth:read']);
  outsider = await keyWith(['organizations:write', 'users:write', 'roles:write', 'environments:write', 'webhooks:write']);
});
afterAll(() => server.close());

describe('OAuth management scopes', () => {
  it('cover every operation that names them in the schema', () => {
    const schema = buildSchema(readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8'));
    const named = (type: 'getQueryType' | 'getMutationType', scope: string) =>
      Object.values(schema[type]()!.getFields())
        .filter((field) => field.description?.includes(`\`${scope}\``))
        .map((field) => field.name)
        .sort();
    expect(named('getMutationType', 'oauth:write')).toEqual(MUTATIONS.map((m) => m.name).sort());
    expect(named('getQueryType', 'oauth:read')).toEqual(QUERIES.map((q) => q.name).sort());
  });

  it.each(MUTATIONS.map((m) => [m.name, m] as const))('%s needs oauth:write: a read-only key is refused and nothing changes', async (_name, m) => {
    const before = await Promise.all(QUERIES.map((q) => ws.client.data(q.document, q.variables(f))));
    const result = await reader.request(m.document, { input: m.input(f) });
    expect(result.errors?.map((e) => e.extensions)).toEqual([expect.objectContaining({ code: 'FORBIDDEN', reason: 'auth.missing_scope' })]);
    expect(result.data?.[m.name] ?? null).toBeNull();
    expect(await Promise.all(QUERIES.map((q) => ws.client.data(q.document, q.variables(f))))).toEqual(before);
  });

  it.each(QUERIES.map((q) => [q.name, q] as const))('%s needs oauth:read', async (_name, q) => {
    const refused = await outsider.request(q.document, q.variables(f));
    expect(refused.errors?.map((e) => e.extensions)).toEqual([expect.objectContaining({ code: 'FORBIDDEN', reason: 'auth.missing_scope' })]);
    const allowed = await reader.request(q.document, q.variables(f));
    expect(allowed.errors).toBeUndefined();
    expect(JSON.stringify(allowed.data)).toMatch(/"id":"[a-z]{3}_/);
  });

  it.each(NODE_IDS)('node(id:) of the %s needs oauth:read', async (field) => {
    const document = `query($id: ID!) { node(id: $id) { id __typename } }`;
    const refused = await outsider.request(document, { id: f[field] });
    expect(refused.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'auth.missing_scope' });
    const allowed = await reader.data(document, { id: f[field] });
    expect(allowed.node.id).toBe(f[field]);
  });

  it("a client's roles need roles:read too, like every nested relation", async () => {
    const document = `query($id: ID!) { node(id: $id) { ... on ServiceAccount { roles { key } } } }`;
    const refused = await reader.request(document, { id: f.serviceAccountId });
    expect(refused.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'auth.missing_scope' });
    const both = await keyWith(['oauth:read', 'roles:read']);
    expect((await both.data(document, { id: f.serviceAccountId })).node.roles).toEqual([]);
  });
});
