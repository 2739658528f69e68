import * as client from 'openid-client';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { environmentEm } from '../../src/http/oauth/context.js';
import {
  deleteRegistration,
  managedClient,
  RegistrationRefused,
  updateRegistration,
  type RegistrationIssuer,
} from '../../src/modules/oauth-client/client-registration.service.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';
import { API, clientKeyPair, mutate, oauthFixture, type OAuthFixture } from '../helpers/oauth.js';

let server: TestServer;
let ws: TestWorkspace;
let f: OAuthFixture;
const insecure = [client.allowInsecureRequests];

beforeAll(async () => {
  server = await startServer();
  ws = await server.workspace();
  f = await oauthFixture(ws.client, ws.development.id);
});
afterAll(() => server?.close());

const setPolicy = (input: Record<string, unknown>) =>
  mutate(ws.client, 'updateClientRegistrationPolicy', 'UpdateClientRegistrationPolicyInput', 'initialAccessToken environment { clientRegistrationPolicy }', {
    environmentId: f.environmentId,
    ...input,
  });

const registerRaw = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${f.issuer}/oauth/register`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) }).then(async (response) => ({
    status: response.status,
    headers: response.headers,
    body: (await response.json().catch(() => null)) as any,
  }));

describe('dynamic client registration (RFC 7591/7592)', () => {
  it('is off by default: not advertised, and refused', async () => {
    const response = await registerRaw({ client_name: 'x' });
    expect(response.status).toBe(403);
    expect(response.body.error).toBe('access_denied');
  });

  it('with an initial access token: openid-client registers, gets tokens, and manages the registration', async () => {
    const { initialAccessToken } = await setPolicy({ policy: 'INITIAL_ACCESS_TOKEN', registrationScopes: ['read'], issueInitialAccessToken: true });
    expect(initialAccessToken).toMatch(/^ghiat_/);
    expect((await registerRaw({ client_name: 'no token' })).status).toBe(401);
    expect((await registerRaw({ client_name: 'bad token' }, { authorization: 'Bearer ghiat_wrong' })).body.error).toBe('invalid_token');

    const config = await client.dynamicClientRegistration(
      new URL(f.issuer),
      { client_name: 'MCP client', grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_basic', scope: 'read', contacts: ['ops@example.test'] },
      undefined,
      { initialAccessToken, execute: insecure },
    );
    const metadata = config.clientMetadata();
    expect(metadata.client_id).toMatch(/^app_/);
    expect(metadata.client_secret).toMatch(/^ghcs_/);
    expect(metadata.registration_access_token).toMatch(/^ghrat_/);
    expect(config.serverMetadata().registration_endpoint).toBe(`${f.issuer}/oauth/register`);

    // The registered method is enforced: openid-client's default (client_secret_post) is refused.
    await expect(client.clientCredentialsGrant(config, { resource: API })).rejects.toMatchObject({ status: 401 });
    const basicConfig = new client.Configuration(config.serverMetadata(), metadata.client_id, metadata, client.ClientSecretBasic(metadata.client_secret as string));
    client.allowInsecureRequests(basicConfig);
    const tokens = await client.clientCredentialsGrant(basicConfig, { resource: API });
    expect(decodeJwt(tokens.access_token)).toMatchObject({ client_id: metadata.client_id, aud: API, scope: 'read' });

    // RFC 7592: read, update, with the registration access token only.
    const uri = metadata.registration_client_uri as string;
    const rat = { authorization: `Bearer ${metadata.registration_access_token}` };
    const read = await fetch(uri, { headers: rat });
    expect(read.status).toBe(200);
    const current = (await read.json()) as any;
    expect(current).toMatchObject({ client_id: metadata.client_id, client_name: 'MCP client', scope: 'read', contacts: ['ops@example.test'] });
    expect(current.client_secret).toBeUndefined();
    expect((await fetch(uri, { headers: { authorization: 'Bearer ghrat_nope' } })).status).toBe(401);
    expect((await fetch(uri)).status).toBe(401);

    const updated = await fetch(uri, {
      method: 'PUT',
      headers: { ...rat, 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: metadata.client_id, client_name: 'Renamed', token_endpoint_auth_method: 'client_secret_post' }),
    });
    expect(updated.status).toBe(200);
    expect(await updated.json()).toMatchObject({ client_name: 'Renamed', token_endpoint_auth_method: 'client_secret_post' });
    // The registered method is the only one accepted now (401 with a Basic challenge).
    await expect(client.clientCredentialsGrant(basicConfig, { resource: API })).rejects.toMatchObject({ status: 401 });

    // The admin sees it as a DYNAMIC application and can disable it.
    const apps = await ws.client.data(`query($env: ID) { applications(environmentId: $env, type: DYNAMIC) { nodes { id name type enabled } } }`, { env: f.environmentId });
    expect(apps.applications.nodes).toEqual([{ id: metadata.client_id, name: 'Renamed', type: 'DYNAMIC', enabled: true }]);
    await mutate(ws.client, 'updateApplication', 'UpdateApplicationInput', 'application { enabled }', { id: metadata.client_id, enabled: false });
    const postConfig = new client.Configuration(config.serverMetadata(), metadata.client_id, metadata.client_secret as string, client.ClientSecretPost(metadata.client_secret as string));
    client.allowInsecureRequests(postConfig);
    await expect(client.clientCredentialsGrant(postConfig, { resource: API })).rejects.toMatchObject({ status: 401 });
    await mutate(ws.client, 'updateApplication', 'UpdateApplicationInput', 'application { enabled }', { id: metadata.client_id, enabled: true });
    expect((await client.clientCredentialsGrant(postConfig, { resource: API })).access_token).toBeTruthy();

    // Deregistration.
    expect((await fetch(uri, { method: 'DELETE', headers: rat })).status).toBe(204);
    expect((await fetch(uri, { headers: rat })).status).toBe(401);
    await expect(client.clientCredentialsGrant(postConfig, { resource: API })).rejects.toMatchObject({ status: 401 });

    const events = await ws.client.data(`query($env: ID) { auditEvents(environmentId: $env, filter: { actions: ["application.*"] }) { nodes { action after before } } }`, {
      env: f.environmentId,
    });
    const actions = events.auditEvents.nodes.map((event: { action: string }) => event.action);
    expect(actions).toEqual(expect.arrayContaining(['application.registered', 'application.registration_updated', 'application.registration_deleted']));
    const dump = JSON.stringify(events);
    expect(dump).not.toContain(metadata.client_secret as string);
    expect(dump).not.toContain(metadata.registration_access_token as string);
    expect(dump).not.toContain(initialAccessToken);
  });

  it('open registration: private_key_jwt clients with their keys; invalid metadata refused with the RFC 7591 codes', async () => {
    await setPolicy({ policy: 'OPEN', registrationScopes: ['read', 'write'] });
    const key = await clientKeyPair('ES256');
    const config = await client.dynamicClientRegistration(
      new URL(f.issuer),
      { client_name: 'Agent', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [key.publicJwk] }, scope: 'read write' },
      client.PrivateKeyJwt(key.privateKey),
      { execute: insecure },
    );
    expect(config.clientMetadata().client_secret).toBeUndefined();
    const tokens = await client.clientCredentialsGrant(config, { resource: API, scope: 'write' });
    expect(decodeJwt(tokens.access_token).scope).toBe('write');

    const refusals: [unknown, string][] = [
      [{ redirect_uris: ['http://evil.example.test/cb'] }, 'invalid_redirect_uri'],
      [{ redirect_uris: ['https://app.example.test/cb#frag'] }, 'invalid_redirect_uri'],
      [{ token_endpoint_auth_method: 'none' }, 'invalid_client_metadata'],
      [{ token_endpoint_auth_method: 'private_key_jwt' }, 'invalid_client_metadata'],
      [{ grant_types: ['authorization_code'] }, 'invalid_client_metadata'],
      // A client that signs people in must name where they come back; it cannot also be a machine.
      [{ response_types: ['code'] }, 'invalid_redirect_uri'],
      [{ response_types: ['code'], redirect_uris: ['https://app.example.com/cb'], grant_types: ['client_credentials'] }, 'invalid_client_metadata'],
      [{ response_types: ['token'], redirect_uris: ['https://app.example.com/cb'] }, 'invalid_client_metadata'],
      [{ response_types: ['code'], redirect_uris: ['http://app.example.com/cb'] }, 'invalid_redirect_uri'],
      [{ response_types: ['code'], redirect_uris: ['https://app.example.com/cb'], application_type: 'service' }, 'invalid_client_metadata'],
      [{ scope: 'admin' }, 'invalid_client_metadata'],
      [{ jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }, token_endpoint_auth_method: 'private_key_jwt' }, 'invalid_client_metadata'],
      [{ jwks: { keys: [{ ...key.publicJwk, d: 'x' }] }, token_endpoint_auth_method: 'private_key_jwt' }, 'invalid_client_metadata'],
      [{ jwks_uri: 'http://169.254.169.254/keys', token_endpoint_auth_method: 'private_key_jwt' }, 'invalid_client_metadata'],
      [[1, 2], 'invalid_client_metadata'],
      // A name that reads as another on the consent page (right-to-left override), or spans lines.
      [{ client_name: 'Acme \u202Eyaknab' }, 'invalid_client_metadata'],
      [{ client_name: 'Acme\nBank' }, 'invalid_client_metadata'],
    ];
    for (const [body, error] of refusals) {
      const response = await registerRaw(body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error, JSON.stringify(body)).toBe(error);
    }
    const loopback = await registerRaw({ client_name: 'CLI', redirect_uris: ['http://127.0.0.1:8123/callback'] });
    expect(loopback.status).toBe(201);
    const malformed = await fetch(`${f.issuer}/oauth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"client_name":' });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as any).error).toBe('invalid_client_metadata');
  });

  it('lets a client narrow but never widen its registration, keeps admin restrictions, and locks out disabled clients', async () => {
    await setPolicy({ policy: 'OPEN', registrationScopes: ['read', 'write'] });
    const created = await registerRaw({ client_name: 'Narrowable', scope: 'read write' });
    expect(created.status).toBe(201);
    const uri = created.body.registration_client_uri as string;
    const headers = { authorization: `Bearer ${created.body.registration_access_token}`, 'content-type': 'application/json' };
    const put = (body: Record<string, unknown>) =>
      fetch(uri, { method: 'PUT', headers, body: JSON.stringify({ client_id: created.body.client_id, ...body }) }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

    // The admin narrows it to read on API only.
    await mutate(ws.client, 'updateApplication', 'UpdateApplicationInput', 'application { allowedScopes }', { id: created.body.client_id, allowedScopes: ['read'] });
    // Leaving scope out keeps what it holds; asking for more is refused.
    expect((await put({ client_name: 'Renamed' })).body.scope).toBe('read');
    expect((await put({ scope: 'read write' })).body.error).toBe('invalid_client_metadata');
    expect((await put({ grant_types: ['client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange'] })).body.error).toBe('invalid_client_metadata');
    const apps = await ws.client.data(`query($env: ID) { applications(environmentId: $env, type: DYNAMIC, first: 50) { nodes { id allowedScopes grantTypes } } }`, { env: f.environmentId });
    expect(apps.applications.nodes.find((app: any) => app.id === created.body.client_id)).toMatchObject({ allowedScopes: ['read'], grantTypes: ['client_credentials'] });

    // Disabled by the admin, it can no longer read, change or delete its registration.
    await mutate(ws.client, 'updateApplication', 'UpdateApplicationInput', 'application { enabled }', { id: created.body.client_id, enabled: false });
    const bearer = { authorization: headers.authorization };
    expect((await fetch(uri, { headers: bearer })).status).toBe(401);
    expect((await fetch(uri, { method: 'DELETE', headers: bearer })).status).toBe(401);

    // Registration is JSON only (no cross-site form posts), and cannot ask for token exchange.
    const form = await fetch(`${f.issuer}/oauth/register`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'client_name=x' });
    expect(form.status).toBe(400);
    expect(((await form.json()) as any).error).toBe('invalid_client_metadata');
    expect((await registerRaw({ client_name: { nested: true } })).body.error).toBe('invalid_client_metadata');
    expect((await registerRaw({ grant_types: ['urn:ietf:params:oauth:grant-type:token-exchange'] })).body.error).toBe('invalid_client_metadata');
  });

  it('refuses a change or removal when the admin disabled the client or it lost its token after the request was let through', async () => {
    await setPolicy({ policy: 'OPEN', registrationScopes: ['read', 'write'] });
    const issuer: RegistrationIssuer = {
      id: f.environmentId,
      workspaceId: ws.workspace.id,
      registrationPolicy: 'OPEN' as RegistrationIssuer['registrationPolicy'],
      initialAccessTokenHash: null,
      registrationScopes: ['read', 'write'],
      resourceServers: [],
    };
    const meta = { requestId: 'test', ip: '127.0.0.1', userAgent: null } as never;
    const em = () => environmentEm(server.database.db.orm, { id: f.environmentId, workspaceId: ws.workspace.id });
    const letThrough = async (body: { client_id: string; registration_access_token: string }) => {
      const found = await managedClient(em(), issuer, body.client_id, body.registration_access_token);
      if (!('client' in found)) throw new Error(`not let through: ${found.refused}`);
      return found.client;
    };

    // The request passed managedClient; then the admin disabled the client; then it changes or deletes.
    const disabled = (await registerRaw({ client_name: 'Racing' })).body;
    const seen = await letThrough(disabled);
    await mutate(ws.client, 'updateApplication', 'UpdateApplicationInput', 'application { enabled }', { id: disabled.client_id, enabled: false });
    await expect(updateRegistration(em(), issuer, seen, { client_id: disabled.client_id, client_name: 'Changed' }, meta, false)).rejects.toEqual(new RegistrationRefused('disabled'));
    await expect(deleteRegistration(em(), issuer, seen, meta)).rejects.toEqual(new RegistrationRefused('disabled'));

    // The same when the registration was removed and replaced meanwhile (its token no longer matches).
    const deleted = (await registerRaw({ client_name: 'Gone' })).body;
    const stale = await letThrough(deleted);
    expect((await fetch(deleted.registration_client_uri, { method: 'DELETE', headers: { authorization: `Bearer ${deleted.registration_access_token}` } })).status).toBe(204);
    await expect(updateRegistration(em(), issuer, stale, { client_id: deleted.client_id, client_name: 'Back' }, meta, false)).rejects.toThrow();

    // An admin's narrowing made after the request was let through holds: the update keeps it.
    const narrowed = (await registerRaw({ client_name: 'Narrowed later', scope: 'read write' })).body;
    const before = await letThrough(narrowed);
    await mutate(ws.client, 'updateApplication', 'UpdateApplicationInput', 'application { allowedScopes }', { id: narrowed.client_id, allowedScopes: ['read'] });
    const updated = await updateRegistration(em(), issuer, before, { client_id: narrowed.client_id, client_name: 'Renamed' }, meta, false);
    expect(updated.allowedScopes).toEqual(['read']);
    await expect(updateRegistration(em(), issuer, before, { client_id: narrowed.client_id, scope: 'read write' }, meta, false)).rejects.toMatchObject({ code: 'invalid_client_metadata' });

    // Nothing changed: the disabled client keeps its name, and no change was audited for either.
    const apps = await ws.client.data(`query($env: ID) { applications(environmentId: $env, type: DYNAMIC, first: 50) { nodes { id name enabled } } }`, { env: f.environmentId });
    expect(apps.applications.nodes.find((app: any) => app.id === disabled.client_id)).toEqual({ id: disabled.client_id, name: 'Racing', enabled: false });
    expect(apps.applications.nodes.find((app: any) => app.id === deleted.client_id)).toBeUndefined();
  });
});
