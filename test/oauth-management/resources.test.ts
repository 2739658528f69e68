import 'reflect-metadata';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oneError, type UserErrors } from '../helpers/graphql.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

const USER_ERRORS = 'userErrors { field code message }';
const RS_FIELDS = 'id environmentId name identifier scopes { name description } documentationUrl metadataUrl createdAt updatedAt';
const CREATE_RS = `mutation($input: CreateResourceServerInput!) { createResourceServer(input: $input) { resourceServer { ${RS_FIELDS} } ${USER_ERRORS} } }`;
const UPDATE_RS = `mutation($input: UpdateResourceServerInput!) { updateResourceServer(input: $input) { resourceServer { ${RS_FIELDS} } ${USER_ERRORS} } }`;
const DELETE_RS = `mutation($id: ID!) { deleteResourceServer(input: { id: $id }) { deletedId ${USER_ERRORS} } }`;
const RESOURCE_SERVERS = `query($env: ID, $first: Int, $after: String) {
  resourceServers(environmentId: $env, first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { id identifier } }
}`;
const TI_FIELDS = 'id environmentId name issuer jwks jwksUri audiences createdAt updatedAt';
const CREATE_TI = `mutation($input: CreateTrustedIssuerInput!) { createTrustedIssuer(input: $input) { trustedIssuer { ${TI_FIELDS} } ${USER_ERRORS} } }`;
const UPDATE_TI = `mutation($input: UpdateTrustedIssuerInput!) { updateTrustedIssuer(input: $input) { trustedIssuer { ${TI_FIELDS} } ${USER_ERRORS} } }`;
const DELETE_TI = `mutation($id: ID!) { deleteTrustedIssuer(input: { id: $id }) { deletedId ${USER_ERRORS} } }`;
const TRUSTED_ISSUERS = `query($env: ID) { trustedIssuers(environmentId: $env, first: 100) { totalCount nodes { id issuer } } }`;
const CREATE_SA = `mutation($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) { serviceAccount { id allowedAudiences } ${USER_ERRORS} } }`;
const CREATE_APP = `mutation($input: CreateApplicationInput!) { createApplication(input: $input) { application { id allowedAudiences } ${USER_ERRORS} } }`;
const NODE = `query($id: ID!) { node(id: $id) { __typename id
  ... on ResourceServer { identifier }
  ... on TrustedIssuer { issuer }
  ... on ServiceAccount { allowedAudiences updatedAt }
  ... on Application { allowedAudiences } } }`;
const AUDIT = `query($env: ID, $actions: [String!]) {
  auditEvents(environmentId: $env, first: 100, filter: { actions: $actions }) { nodes { action targets { type id name } before after } }
}`;

let server: TestServer;
let ws: TestWorkspace;
let dev: string;
let prod: string;

async function createResourceServer(input: Record<string, unknown>, env = dev) {
  return (await ws.client.data(CREATE_RS, { input: { environmentId: env, name: 'API', ...input } })).createResourceServer as {
    resourceServer: any;
    userErrors: UserErrors;
  };
}

async function mustCreate(document: string, input: Record<string, unknown>) {
  const data = await ws.client.data(document, { input });
  const payload = Object.values(data)[0] as Record<string, any>;
  expect(payload.userErrors).toEqual([]);
  return payload;
}

async function createTrustedIssuer(input: Record<string, unknown>) {
  return (await ws.client.data(CREATE_TI, { input: { environmentId: dev, name: 'CI', audiences: ['gatehouse'], ...input } })).createTrustedIssuer as {
    trustedIssuer: any;
    userErrors: UserErrors;
  };
}

async function publicJwks() {
  const pair = await generateKeyPair('EdDSA', { extractable: true, crv: 'Ed25519' });
  return { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'ci-1', alg: 'EdDSA' }] };
}

const nodeOf = async (id: string) => (await ws.client.data(NODE, { id })).node;

beforeAll(async () => {
  server = await startServer();
  ws = await server.workspace('Resources');
  dev = ws.development.id;
  prod = ws.production.id;
});
afterAll(() => server.close());

describe('resource servers', () => {
  it('are created with sorted scopes and their RFC 9728 metadata URL, and listed oldest first', async () => {
    const created = await createResourceServer({
      name: 'Invoices API',
      identifier: 'https://invoices.example.com',
      scopes: [{ name: 'invoices:write', description: 'Create invoices' }, { name: 'invoices:read' }],
      documentationUrl: 'https://docs.example.com/invoices',
    });
    expect(created.userErrors).toEqual([]);
    const rs = created.resourceServer;
    expect(rs).toMatchObject({
      environmentId: dev,
      name: 'Invoices API',
      identifier: 'https://invoices.example.com',
      scopes: [
        { name: 'invoices:read', description: null },
        { name: 'invoices:write', description: 'Create invoices' },
      ],
      documentationUrl: 'https://docs.example.com/invoices',
      metadataUrl: `${server.config.publicUrl}/e/${dev}/resource-servers/${rs.id}/.well-known/oauth-protected-resource`,
    });
    expect(rs.id).toMatch(/^rsv_/);
    expect(await nodeOf(rs.id)).toEqual({ __typename: 'ResourceServer', id: rs.id, identifier: 'https://invoices.example.com' });

    const second = (await createResourceServer({ identifier: 'https://second.example.com' })).resourceServer;
    const page = await ws.client.data(RESOURCE_SERVERS, { env: dev, first: 1 });
    expect(page.resourceServers).toMatchObject({ totalCount: 2, pageInfo: { hasNextPage: true }, nodes: [{ id: rs.id }] });
    const next = await ws.client.data(RESOURCE_SERVERS, { env: dev, first: 1, after: page.resourceServers.pageInfo.endCursor });
    expect(next.resourceServers.nodes).toEqual([{ id: second.id, identifier: 'https://second.example.com' }]);
  });

  it('have identifiers unique per environment', async () => {
    expect((await createResourceServer({ identifier: 'https://unique.example.com' })).userErrors).toEqual([]);
    expect(await createResourceServer({ identifier: 'https://unique.example.com' })).toEqual({
      resourceServer: null,
      userErrors: oneError('resource_server.identifier_taken', ['input', 'identifier']),
    });
    expect((await createResourceServer({ identifier: 'https://unique.example.com' }, prod)).userErrors).toEqual([]);
  });

  it.each([
    ['a relative identifier', { identifier: 'invoices' }, 'resource_server.invalid_identifier', ['input', 'identifier']],
    ['a URN identifier', { identifier: 'urn:example:invoices' }, 'resource_server.invalid_identifier', ['input', 'identifier']],
    ['an identifier with a fragment', { identifier: 'https://x.example.com/#api' }, 'resource_server.invalid_identifier', ['input', 'identifier']],
    ['an over-long identifier', { identifier: `https://x.example.com/${'a'.repeat(500)}` }, 'resource_server.invalid_identifier', ['input', 'identifier']],
    ['a scope with a space', { scopes: [{ name: 'read all' }] }, 'oauth.invalid_scope', ['input', 'scopes']],
    ['a scope listed twice', { scopes: [{ name: 'a' }, { name: 'a', description: 'again' }] }, 'resource_server.duplicate_scope', ['input', 'scopes']],
    ['a documentation URL that is not one', { documentationUrl: 'docs' }, 'resource_server.invalid_documentation_url', ['input', 'documentationUrl']],
    ['an empty name', { name: '' }, 'validation.required', ['input', 'name']],
  ])('refuse %s', async (_label, input, code, field) => {
    expect(await createResourceServer({ identifier: 'https://valid.example.com', ...input })).toEqual({ resourceServer: null, userErrors: oneError(code, field) });
  });

  it('change name, scopes and documentation, never their identifier', async () => {
    const rs = (await createResourceServer({ identifier: 'https://changing.example.com', documentationUrl: 'https://docs.example.com' })).resourceServer;
    const updated = (await ws.client.data(UPDATE_RS, { input: { id: rs.id, name: 'Renamed', scopes: [{ name: 'z' }, { name: 'y' }], documentationUrl: null } }))
      .updateResourceServer;
    expect(updated).toMatchObject({
      resourceServer: { name: 'Renamed', identifier: 'https://changing.example.com', scopes: [{ name: 'y' }, { name: 'z' }], documentationUrl: null },
      userErrors: [],
    });
    const refused = (await ws.client.data(UPDATE_RS, { input: { id: rs.id, scopes: [{ name: 'bad"scope' }] } })).updateResourceServer;
    expect(refused).toEqual({ resourceServer: null, userErrors: oneError('oauth.invalid_scope', ['input', 'scopes']) });
    const identifierChange = await ws.client.request(UPDATE_RS, { input: { id: rs.id, identifier: 'https://other.example.com' } });
    expect(identifierChange.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });

  it("when deleted, leave the allowed audiences of every client of their environment, and only theirs", async () => {
    const shared = 'https://shared.example.com';
    const kept = 'https://kept.example.com';
    const doomed = (await createResourceServer({ identifier: shared })).resourceServer;
    await createResourceServer({ identifier: kept });
    await createResourceServer({ identifier: shared }, prod);
    const sa = (await mustCreate(CREATE_SA, { environmentId: dev, name: 'Consumer', allowedAudiences: [shared, kept] })).serviceAccount;
    const app = (await mustCreate(CREATE_APP, { environmentId: dev, name: 'Consumer app', allowedAudiences: [shared] })).application;
    const bystander = (await mustCreate(CREATE_SA, { environmentId: dev, name: 'Bystander', allowedAudiences: [kept] })).serviceAccount;
    const prodSa = (await mustCreate(CREATE_SA, { environmentId: prod, name: 'Prod consumer', allowedAudiences: [shared] })).serviceAccount;
    const bystanderBefore = await nodeOf(bystander.id);

    expect((await ws.client.data(DELETE_RS, { id: doomed.id })).deleteResourceServer).toEqual({ deletedId: doomed.id, userErrors: [] });
    expect((await nodeOf(sa.id)).allowedAudiences).toEqual([kept]);
    expect((await nodeOf(app.id)).allowedAudiences).toEqual([]);
    expect(await nodeOf(bystander.id)).toEqual(bystanderBefore);
    expect((await nodeOf(prodSa.id)).allowedAudiences).toEqual([shared]);
    const gone = await ws.client.request(NODE, { id: doomed.id });
    expect(gone.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', reason: 'resource_server.not_found' });

    const [event] = (await ws.client.data(AUDIT, { env: dev, actions: ['resource_server.deleted'] })).auditEvents.nodes;
    expect(event.targets.map((t: any) => t.id).sort()).toEqual([doomed.id, sa.id, app.id].sort());
    expect(event.before).toMatchObject({ identifier: shared, clientIds: [sa.id, app.id].sort() });

    // The identifier is free again, and no longer an audience clients may name.
    expect((await ws.client.data(CREATE_SA, { input: { environmentId: dev, name: 'Late', allowedAudiences: [shared] } })).createServiceAccount.userErrors).toEqual(
      oneError('oauth_client.unknown_audience', ['input', 'allowedAudiences']),
    );
  });

  it('are audited on every change', async () => {
    const rs = (await createResourceServer({ identifier: 'https://audited.example.com', scopes: [{ name: 'a' }] })).resourceServer;
    await ws.client.data(UPDATE_RS, { input: { id: rs.id, name: 'Audited' } });
    await ws.client.data(DELETE_RS, { id: rs.id });
    const events = (await ws.client.data(AUDIT, { env: dev, actions: ['resource_server.created', 'resource_server.updated', 'resource_server.deleted'] }))
      .auditEvents.nodes.filter((e: any) => e.targets[0].id === rs.id);
    expect(events.map((e: any) => e.action)).toEqual(['resource_server.deleted', 'resource_server.updated', 'resource_server.created']);
    expect(events[2].after).toEqual({ id: rs.id, name: 'API', identifier: 'https://audited.example.com', scopes: [{ name: 'a', description: null }], documentationUrl: null });
    expect(events[1]).toMatchObject({ before: { name: 'API' }, after: { name: 'Audited' } });
    expect(events[0].before).toMatchObject({ identifier: 'https://audited.example.com', clientIds: [] });
  });
});

describe('trusted issuers', () => {
  it('are created with inline keys or a JWKS URL, read and listed', async () => {
    const jwks = await publicJwks();
    const inline = await createTrustedIssuer({ name: 'GitHub Actions', issuer: 'https://token.actions.githubusercontent.com', jwks, audiences: ['b', 'a', 'a'] });
    expect(inline.userErrors).toEqual([]);
    expect(inline.trustedIssuer).toMatchObject({
      environmentId: dev,
      name: 'GitHub Actions',
      issuer: 'https://token.actions.githubusercontent.com',
      jwks: { keys: [{ kty: 'OKP', crv: 'Ed25519', x: jwks.keys[0].x, kid: 'ci-1', alg: 'EdDSA' }] },
      jwksUri: null,
      audiences: ['a', 'b'],
    });
    expect(inline.trustedIssuer.id).toMatch(/^tis_/);
    const remote = await createTrustedIssuer({ issuer: 'https://kubernetes.example.com', jwksUri: 'https://kubernetes.example.com/openid/v1/jwks' });
    expect(remote.trustedIssuer).toMatchObject({ jwks: null, jwksUri: 'https://kubernetes.example.com/openid/v1/jwks', audiences: ['gatehouse'] });
    expect(await nodeOf(remote.trustedIssuer.id)).toEqual({ __typename: 'TrustedIssuer', id: remote.trustedIssuer.id, issuer: 'https://kubernetes.example.com' });
    const list = await ws.client.data(TRUSTED_ISSUERS, { env: dev });
    expect(list.trustedIssuers.nodes.map((n: any) => n.id)).toEqual([inline.trustedIssuer.id, remote.trustedIssuer.id]);
    expect((await ws.client.data(TRUSTED_ISSUERS, { env: prod })).trustedIssuers.totalCount).toBe(0);
  });

  it.each([
    ['no keys', {}, 'trusted_issuer.keys_required', ['input', 'jwks']],
    ['both key sources', { jwks: { keys: [] }, jwksUri: 'https://x.example.com/jwks' }, 'oauth.jwks_conflict', ['input', 'jwksUri']],
    ['a private key', { jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'a', y: 'b', d: 'c' }] } }, 'oauth.invalid_jwks', ['input', 'jwks']],
    ['a JWKS URL on a private network', { jwksUri: 'https://192.168.1.10/jwks' }, 'oauth.invalid_jwks_uri', ['input', 'jwksUri']],
    ['no audiences', { jwksUri: 'https://x.example.com/jwks', audiences: [] }, 'trusted_issuer.invalid_audiences', ['input', 'audiences']],
    ['an audience with a space', { jwksUri: 'https://x.example.com/jwks', audiences: ['a b'] }, 'trusted_issuer.invalid_audiences', ['input', 'audiences']],
    ['an issuer that is no URL', { issuer: 'github', jwksUri: 'https://x.example.com/jwks' }, 'trusted_issuer.invalid_issuer', ['input', 'issuer']],
  ])('refuse %s', async (_label, input, code, field) => {
    expect(await createTrustedIssuer({ issuer: 'https://refused.example.com', ...input })).toEqual({ trustedIssuer: null, userErrors: oneError(code, field) });
  });

  it('have issuers unique per environment, change (a key source replacing the other) and are deleted, audited with a JWKS fingerprint', async () => {
    const jwks = await publicJwks();
    const trusted = (await createTrustedIssuer({ issuer: 'https://idp.example.com', jwks })).trustedIssuer;
    expect(await createTrustedIssuer({ issuer: 'https://idp.example.com', jwksUri: 'https://idp.example.com/jwks' })).toEqual({
      trustedIssuer: null,
      userErrors: oneError('trusted_issuer.issuer_taken', ['input', 'issuer']),
    });
    const moved = (await ws.client.data(UPDATE_TI, { input: { id: trusted.id, jwksUri: 'https://idp.example.com/jwks', audiences: ['api'] } })).updateTrustedIssuer;
    expect(moved).toMatchObject({ trustedIssuer: { jwks: null, jwksUri: 'https://idp.example.com/jwks', audiences: ['api'] }, userErrors: [] });
    const back = (await ws.client.data(UPDATE_TI, { input: { id: trusted.id, jwks, name: 'IdP' } })).updateTrustedIssuer;
    expect(back).toMatchObject({ trustedIssuer: { name: 'IdP', jwksUri: null, jwks: { keys: [expect.objectContaining({ kid: 'ci-1' })] } }, userErrors: [] });
    const refused = (await ws.client.data(UPDATE_TI, { input: { id: trusted.id, audiences: [] } })).updateTrustedIssuer;
    expect(refused).toEqual({ trustedIssuer: null, userErrors: oneError('trusted_issuer.invalid_audiences', ['input', 'audiences']) });
    expect((await ws.client.data(DELETE_TI, { id: trusted.id })).deleteTrustedIssuer).toEqual({ deletedId: trusted.id, userErrors: [] });

    const events = (await ws.client.data(AUDIT, { env: dev, actions: ['trusted_issuer.created', 'trusted_issuer.updated', 'trusted_issuer.deleted'] }))
      .auditEvents.nodes.filter((e: any) => e.targets[0].id === trusted.id)
      .reverse();
    expect(events.map((e: any) => e.action)).toEqual(['trusted_issuer.created', 'trusted_issuer.updated', 'trusted_issuer.updated', 'trusted_issuer.deleted']);
    expect(events[0].after).toEqual({
      id: trusted.id,
      name: 'CI',
      issuer: 'https://idp.example.com',
      jwksFingerprint: expect.stringMatching(/^[A-Za-z0-9_-]{16}$/),
      jwksUri: null,
      audiences: ['gatehouse'],
    });
    expect(events[1].after).toMatchObject({ jwksFingerprint: null, jwksUri: 'https://idp.example.com/jwks' });
    expect(JSON.stringify(events)).not.toContain(jwks.keys[0].x as string);
  });
});
