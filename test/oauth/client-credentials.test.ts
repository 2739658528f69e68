import * as client from 'openid-client';
import * as oauth from 'oauth4webapi';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';
import { API, basic, mutate, OTHER_API, oauthFixture, type OAuthFixture } from '../helpers/oauth.js';

let server: TestServer;
let ws: TestWorkspace;
let f: OAuthFixture;
const insecure = { execute: [client.allowInsecureRequests] };

beforeAll(async () => {
  server = await startServer();
  ws = await server.workspace();
  f = await oauthFixture(ws.client, ws.development.id);
});
afterAll(() => server?.close());

const discover = (auth: client.ClientAuth, algorithm: 'oidc' | 'oauth2' = 'oidc') =>
  client.discovery(new URL(f.issuer), f.clientId, undefined, auth, { ...insecure, algorithm });

/** What a resource server does: verify against the published JWKS. */
async function verifyAsResourceServer(token: string, audience = API) {
  const jwks = createRemoteJWKSet(new URL(f.jwksUri));
  const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer: f.issuer, audience, typ: 'at+jwt' });
  return { payload, protectedHeader };
}

describe('discovery', () => {
  it('serves RFC 8414 metadata at the path-inserted and the appended location, listing what is supported', async () => {
    const config = await discover(client.ClientSecretBasic(f.secret), 'oauth2');
    const metadata = config.serverMetadata();
    expect(metadata.issuer).toBe(f.issuer);
    expect(metadata.token_endpoint).toBe(f.tokenEndpoint);
    expect(metadata.jwks_uri).toBe(f.jwksUri);
    expect(metadata.grant_types_supported).toEqual(['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange']);
    // `none` is for public clients (SPA, native) at the token and revocation endpoints only.
    expect(metadata.token_endpoint_auth_methods_supported).toEqual(['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none']);
    expect(metadata.introspection_endpoint_auth_methods_supported).toEqual(['client_secret_basic', 'client_secret_post', 'private_key_jwt']);
    expect(metadata.token_endpoint_auth_signing_alg_values_supported).not.toContain('HS256');
    expect(metadata.registration_endpoint).toBeUndefined(); // registration is off by default
    expect(metadata.scopes_supported).toEqual(['openid', 'profile', 'email', 'offline_access', 'other', 'read', 'write']);

    const oidc = await discover(client.ClientSecretBasic(f.secret), 'oidc');
    expect(oidc.serverMetadata()).toEqual(metadata);

    const as = await oauth.processDiscoveryResponse(
      new URL(f.issuer),
      await oauth.discoveryRequest(new URL(f.issuer), { algorithm: 'oauth2', [oauth.allowInsecureRequests]: true }),
    );
    expect(as.introspection_endpoint).toBe(`${f.issuer}/oauth/introspect`);
    expect(as.revocation_endpoint).toBe(`${f.issuer}/oauth/revoke`);
  });

  it('answers 404 for an unknown issuer and serves the JWKS with a cache lifetime', async () => {
    const unknown = await fetch(`${server.url}/e/env_00000000000000000000000000/.well-known/openid-configuration`);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as any).error).toBe('invalid_request');
    const jwks = await fetch(f.jwksUri);
    expect(jwks.headers.get('cache-control')).toBe('public, max-age=300');
    const body = (await jwks.json()) as any;
    expect(body.keys).toHaveLength(1);
    expect(body.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(body.keys[0].d).toBeUndefined();
  });
});

describe('client credentials with openid-client, verified by jose against the JWKS', () => {
  it.each([
    ['client_secret_basic', () => client.ClientSecretBasic(f.secret)],
    ['client_secret_post', () => client.ClientSecretPost(f.secret)],
    ['private_key_jwt', () => client.PrivateKeyJwt(f.key.privateKey)],
  ])('issues an RFC 9068 access token with %s', async (_method, auth) => {
    const config = await discover(auth());
    const tokens = await client.clientCredentialsGrant(config, { scope: 'read', resource: API });
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.expires_in).toBe(3600);
    expect(tokens.scope).toBe('read');
    const { payload, protectedHeader } = await verifyAsResourceServer(tokens.access_token);
    expect(protectedHeader).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
    expect(payload).toMatchObject({ iss: f.issuer, sub: f.clientId, aud: API, client_id: f.clientId, scope: 'read', org_id: f.organizationId });
    expect(payload.jti).toMatch(/^at_/);
    expect(payload.exp! - payload.iat!).toBe(3600);
  });

  it('issues with oauth4webapi too, and without a scope grants every allowed scope of the resource', async () => {
    const as = await oauth.processDiscoveryResponse(
      new URL(f.issuer),
      await oauth.discoveryRequest(new URL(f.issuer), { algorithm: 'oauth2', [oauth.allowInsecureRequests]: true }),
    );
    const response = await oauth.clientCredentialsGrantRequest(as, { client_id: f.clientId }, oauth.ClientSecretBasic(f.secret), new URLSearchParams({ resource: API }), {
      [oauth.allowInsecureRequests]: true,
    });
    expect(response.headers.get('cache-control')).toBe('no-store');
    const result = await oauth.processClientCredentialsResponse(as, { client_id: f.clientId }, response);
    expect(result.scope).toBe('read write');
    const other = await oauth.processClientCredentialsResponse(
      as,
      { client_id: f.clientId },
      await oauth.clientCredentialsGrantRequest(as, { client_id: f.clientId }, oauth.PrivateKeyJwt(f.key.privateKey), new URLSearchParams({ resource: OTHER_API }), {
        [oauth.allowInsecureRequests]: true,
      }),
    );
    expect(other.scope).toBe('other');
    expect((await verifyAsResourceServer(other.access_token, OTHER_API)).payload.aud).toBe(OTHER_API);
  });

  it('refuses scopes outside the grant (invalid_scope) and unknown audiences (invalid_target)', async () => {
    const config = await discover(client.ClientSecretBasic(f.secret));
    await expect(client.clientCredentialsGrant(config, { scope: 'read admin', resource: API })).rejects.toMatchObject({ error: 'invalid_scope' });
    await expect(client.clientCredentialsGrant(config, { scope: 'other', resource: API })).rejects.toMatchObject({ error: 'invalid_scope' });
    await expect(client.clientCredentialsGrant(config, { resource: 'https://unknown.example.test' })).rejects.toMatchObject({ error: 'invalid_target' });
    // Two allowed audiences: the client must say which.
    await expect(client.clientCredentialsGrant(config, {})).rejects.toMatchObject({ error: 'invalid_target' });
  });
});

describe('introspection and revocation with openid-client', () => {
  it('introspects a live token, then revokes it: inactive afterwards, in any process', async () => {
    const config = await discover(client.ClientSecretPost(f.secret));
    const tokens = await client.clientCredentialsGrant(config, { scope: 'write', resource: API });
    const live = await client.tokenIntrospection(config, tokens.access_token);
    expect(live).toMatchObject({ active: true, client_id: f.clientId, sub: f.clientId, scope: 'write', aud: API, iss: f.issuer, org_id: f.organizationId });

    await client.tokenRevocation(config, tokens.access_token);
    expect((await client.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
    const rows = (await server.database.db.orm.em.getConnection().execute(`select jti from revoked_token`)) as { jti: string }[];
    expect(decodeProtectedHeader(tokens.access_token).typ).toBe('at+jwt');
    expect(rows.map((row) => row.jti)).toContain(JSON.parse(Buffer.from(tokens.access_token.split('.')[1], 'base64url').toString()).jti);
  });

  it('answers inactive for garbage, expired-looking and foreign tokens', async () => {
    const config = await discover(client.PrivateKeyJwt(f.key.privateKey));
    expect((await client.tokenIntrospection(config, 'not-a-token')).active).toBe(false);
    // A token of another environment: signed by other keys, another issuer.
    const other = await oauthFixture(ws.client, ws.production.id);
    const foreignConfig = await client.discovery(new URL(other.issuer), other.clientId, undefined, client.ClientSecretBasic(other.secret), insecure);
    const foreign = await client.clientCredentialsGrant(foreignConfig, { resource: API });
    expect((await client.tokenIntrospection(config, foreign.access_token)).active).toBe(false);
    expect((await client.tokenIntrospection(foreignConfig, foreign.access_token)).active).toBe(true);
  });
});

describe('audit', () => {
  it('records every issuance before answering, with the client as actor and no token in the payload', async () => {
    const config = await discover(client.ClientSecretBasic(f.secret));
    const before = await ws.client.data(`query($env: ID) { auditEvents(environmentId: $env, filter: { actions: ["oauth.token_issued"] }) { totalCount } }`, {
      env: f.environmentId,
    });
    const tokens = await Promise.all(Array.from({ length: 20 }, () => client.clientCredentialsGrant(config, { resource: API })));
    const after = await ws.client.data(
      `query($env: ID) { auditEvents(environmentId: $env, filter: { actions: ["oauth.token_issued"] }, first: 100) { totalCount nodes { actor { type id } after organizationId } } }`,
      { env: f.environmentId },
    );
    expect(after.auditEvents.totalCount - before.auditEvents.totalCount).toBe(20);
    const jtis = tokens.map((t) => JSON.parse(Buffer.from(t.access_token.split('.')[1], 'base64url').toString()).jti);
    const audited = after.auditEvents.nodes.map((node: any) => node.after.jti);
    for (const jti of jtis) expect(audited).toContain(jti);
    expect(after.auditEvents.nodes[0]).toMatchObject({ actor: { type: 'OAUTH_CLIENT', id: f.clientId }, organizationId: f.organizationId });
    const dump = JSON.stringify(after);
    for (const t of tokens) expect(dump).not.toContain(t.access_token.split('.')[2]);
    expect(dump).not.toContain(f.secret);
    const chain = await ws.client.data(`query($env: ID!) { auditChainVerification(environmentId: $env) { valid } }`, { env: f.environmentId });
    expect(chain.auditChainVerification.valid).toBe(true);
  });
});

describe('an organization deleted with its service accounts', () => {
  it('stops their tokens and names them in the audit event', async () => {
    const other = await server.workspace();
    const g = await oauthFixture(other.client, other.development.id);
    const config = await client.discovery(new URL(g.issuer), g.clientId, undefined, client.ClientSecretBasic(g.secret), insecure);
    const tokens = await client.clientCredentialsGrant(config, { resource: API });
    await other.client.data(`mutation($id: ID!) { deleteOrganization(input: { id: $id }) { deletedId } }`, { id: g.organizationId });
    await expect(client.clientCredentialsGrant(config, { resource: API })).rejects.toMatchObject({ status: 401 });
    // Another client of that environment asks about the token.
    const resourceClient = await mutate(other.client, 'createServiceAccount', 'CreateServiceAccountInput', 'serviceAccount { clientId }', {
      environmentId: other.development.id,
      name: 'API introspector',
    });
    const rsSecret = await mutate(other.client, 'createClientSecret', 'CreateClientSecretInput', 'secret', { clientId: resourceClient.serviceAccount.clientId });
    const introspection = await fetch(`${g.issuer}/oauth/introspect`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(resourceClient.serviceAccount.clientId, rsSecret.secret) },
      body: new URLSearchParams({ token: tokens.access_token }),
    });
    expect(((await introspection.json()) as any).active).toBe(false);
    const events = await other.client.data(`query($env: ID) { auditEvents(environmentId: $env, filter: { actions: ["organization.deleted"] }) { nodes { targets { type id } } } }`, {
      env: other.development.id,
    });
    expect(events.auditEvents.nodes[0].targets).toContainEqual({ type: 'service_account', id: g.clientId });
  });
});
