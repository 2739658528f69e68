import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpBrowser } from '../helpers/browser-http.js';
import { mutate } from '../helpers/oauth.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

/**
 * What a directory's Users do to the environment: people of the organization's verified domains
 * become users with a membership, nobody else's account is touched, and deactivation or deletion
 * cuts access at once, as the token and sign-in endpoints show.
 */
const REDIRECT = 'http://localhost:3000/callback';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const OUTBOX = `query($env: ID) { developmentOutbox(environmentId: $env, first: 1) { nodes { recipient text } } }`;

let server: TestServer;
let ws: TestWorkspace;
let env: string;
let orgId: string;
let directory: { id: string; baseUrl: string; token: string };
let issuer: string;
let app: { clientId: string; secret: string };

async function scim(path: string, init: { method?: string; body?: unknown } = {}) {
  const response = await fetch(`${directory.baseUrl}${path}`, {
    method: init.method ?? (init.body !== undefined ? 'POST' : 'GET'),
    headers: { authorization: `Bearer ${directory.token}`, ...(init.body !== undefined ? { 'content-type': 'application/scim+json' } : {}) },
    body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

const scimUser = (userName: string, extra: Record<string, unknown> = {}) => ({
  schemas: [USER],
  userName,
  name: { givenName: 'Ada', familyName: 'Lovelace' },
  emails: [{ value: userName, type: 'work', primary: true }],
  active: true,
  ...extra,
});

const USER_QUERY = `query($env: ID, $email: String!) { user(environmentId: $env, email: $email) { id email emailVerified givenName familyName memberships { nodes { id status organization { id } roles { key } } } } }`;
const userByEmail = async (email: string) => (await ws.client.request(USER_QUERY, { env, email })).data?.user ?? null;

/** Signs `email` in with a mailed code and exchanges the code: tokens with the organization. */
async function signIn(email: string) {
  const config = await client.discovery(new URL(issuer), app.clientId, undefined, client.ClientSecretPost(app.secret), { execute: [client.allowInsecureRequests] });
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid email offline_access', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
  const browser = new HttpBrowser(server.url);
  await browser.go(url.toString());
  await browser.submit('/sign-in/email', { email });
  const [message] = (await ws.client.data(OUTBOX, { env })).developmentOutbox.nodes;
  expect(message.recipient).toBe(email);
  const back = (await browser.submit('/sign-in/code', { code: /code is (\d{6})/.exec(message.text)![1] })) as { redirect: URL };
  const tokens = await client.authorizationCodeGrant(config, back.redirect, { pkceCodeVerifier: verifier });
  return { config, tokens, browser };
}

beforeAll(async () => {
  server = await startServer();
  ws = await server.workspace('Provisioning');
  env = ws.development.id;
  issuer = (await ws.client.data(`query($id: ID!) { environment(id: $id) { issuer } }`, { id: env })).environment.issuer;
  orgId = (
    await mutate(ws.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId: env, name: 'Acme', domains: [{ domain: 'acme.test', state: 'VERIFIED' }] })
  ).organization.id;
  const created = await mutate(ws.client, 'createDirectory', 'CreateDirectoryInput', 'token directory { id baseUrl }', { organizationId: orgId, name: 'Acme Okta', provider: 'OKTA' });
  directory = { id: created.directory.id, baseUrl: created.directory.baseUrl, token: created.token };
  const application = await mutate(ws.client, 'createApplication', 'CreateApplicationInput', 'application { clientId }', { environmentId: env, name: 'Portal', type: 'WEB', redirectUris: [REDIRECT] });
  app = { clientId: application.application.clientId, secret: (await mutate(ws.client, 'createClientSecret', 'CreateClientSecretInput', 'secret', { clientId: application.application.clientId })).secret };
});
afterAll(() => server.close());

describe('provisioning from a directory', () => {
  it('makes a person of a verified domain a user of the environment and a member of the organization', async () => {
    expect((await scim('/Users', { body: scimUser('ada@acme.test') })).status).toBe(201);
    const user = await userByEmail('ada@acme.test');
    expect(user).toMatchObject({ email: 'ada@acme.test', emailVerified: true, givenName: 'Ada', familyName: 'Lovelace' });
    expect(user.memberships.nodes).toEqual([{ id: expect.any(String), status: 'ACTIVE', organization: { id: orgId }, roles: [{ key: 'member' }] }]);
  });

  it('links an existing user of a verified domain instead of making another', async () => {
    const existing = await mutate(ws.client, 'createUser', 'CreateUserInput', 'user { id }', { environmentId: env, email: 'bob@acme.test' });
    expect((await scim('/Users', { body: scimUser('Bob@Acme.test', { name: { givenName: 'Bob' } }) })).status).toBe(201);
    const user = await userByEmail('bob@acme.test');
    expect(user.id).toBe(existing.user.id);
    expect(user.givenName).toBe('Bob');
    expect(user.memberships.nodes.map((membership: { status: string }) => membership.status)).toEqual(['ACTIVE']);
  });

  it('touches no account outside the organization\'s verified domains: an existing one is neither linked nor made a member', async () => {
    const victim = await mutate(ws.client, 'createUser', 'CreateUserInput', 'user { id }', { environmentId: env, email: 'ceo@elsewhere.test' });
    expect((await scim('/Users', { body: scimUser('ceo@elsewhere.test', { name: { givenName: 'Mallory' } }) })).status).toBe(201);
    const user = await userByEmail('ceo@elsewhere.test');
    expect(user.id).toBe(victim.user.id);
    expect(user.givenName).toBeNull();
    expect(user.memberships.nodes).toEqual([]);
    expect((await scim('/Users', { body: scimUser('new@elsewhere.test') })).status).toBe(201);
    expect(await userByEmail('new@elsewhere.test')).toBeNull();
    // Spellings that a domain rule would read as the verified domain, but that are no address of it.
    for (const odd of ['pat@acme.test.', 'a@b@acme.test']) {
      expect((await scim('/Users', { body: scimUser(odd) })).status).toBe(201);
      expect(await userByEmail(odd)).toBeNull();
    }
  });

  it('cuts a deactivated person off at once: tokens fail introspection, refresh is refused, the membership is INACTIVE; reactivation restores it', async () => {
    const { body: provisioned } = await scim('/Users', { body: scimUser('leaver@acme.test') });
    const { config, tokens } = await signIn('leaver@acme.test');
    expect((await client.tokenIntrospection(config, tokens.access_token)).active).toBe(true);

    const deactivated = await scim(`/Users/${provisioned.id}`, { method: 'PUT', body: scimUser('leaver@acme.test', { active: false }) });
    expect(deactivated.body.active).toBe(false);
    expect((await client.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
    await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    const user = await userByEmail('leaver@acme.test');
    expect(user.memberships.nodes.map((membership: { status: string }) => membership.status)).toEqual(['INACTIVE']);
    const events = await ws.client.data(`query($env: ID) { auditEvents(environmentId: $env, first: 20, filter: { actions: ["directory.user.deprovisioned"] }) { nodes { actor { type id } targets { type id } after } } }`, { env });
    expect(events.auditEvents.nodes[0]).toMatchObject({ actor: { type: 'DIRECTORY', id: directory.id }, after: { status: 'INACTIVE', reason: 'inactive', sessionsEnded: 1 } });

    await scim(`/Users/${provisioned.id}`, { method: 'PUT', body: scimUser('leaver@acme.test', { active: true }) });
    expect((await userByEmail('leaver@acme.test')).memberships.nodes.map((membership: { status: string }) => membership.status)).toEqual(['ACTIVE']);
    const again = await signIn('leaver@acme.test');
    expect((await client.tokenIntrospection(again.config, again.tokens.access_token)).active).toBe(true);
  });

  it('cuts access when Entra deactivates by PATCH (active "False")', async () => {
    const { body: provisioned } = await scim('/Users', { body: scimUser('patched@acme.test') });
    const { config, tokens } = await signIn('patched@acme.test');
    const patched = await scim(`/Users/${provisioned.id}`, {
      method: 'PATCH',
      body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] },
    });
    expect(patched.body.active).toBe(false);
    expect((await client.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
  });

  it('cuts access on DELETE too, and keeps the user (who may belong elsewhere) with an INACTIVE membership', async () => {
    const { body: provisioned } = await scim('/Users', { body: scimUser('deleted@acme.test') });
    const { config, tokens } = await signIn('deleted@acme.test');
    expect((await scim(`/Users/${provisioned.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await client.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
    const user = await userByEmail('deleted@acme.test');
    expect(user.memberships.nodes.map((membership: { status: string }) => membership.status)).toEqual(['INACTIVE']);
  });
});
