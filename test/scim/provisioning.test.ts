import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/db/id.js';
import { systemFork } from '../../src/db/tenant-scope.js';
import { ConsentRepository } from '../../src/modules/consent/consent.repository.js';
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

  it('withdraws what the person let applications do with the organization: a consent of it alone goes, another keeps its other organizations', async () => {
    const { body: provisioned } = await scim('/Users', { body: scimUser('consenter@acme.test') });
    const userId = (await userByEmail('consenter@acme.test')).id;
    const other = await mutate(ws.client, 'createApplication', 'CreateApplicationInput', 'application { clientId }', { environmentId: env, name: 'Other', type: 'WEB', redirectUris: [REDIRECT] });
    const em = systemFork(server.database.db.orm, 'test: seeds consents');
    const consents = new ConsentRepository(em);
    const onlyAcme = consents.create({ id: newId('consent'), environmentId: env, userId, clientId: app.clientId, scopes: ['openid'], resources: [], organizationIds: [orgId] });
    const shared = consents.create({ id: newId('consent'), environmentId: env, userId, clientId: other.application.clientId, scopes: ['openid'], resources: [], organizationIds: ['org_elsewhere', orgId] });
    await em.flush();

    await scim(`/Users/${provisioned.id}`, { method: 'PATCH', body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', value: { active: false } }] } });
    const after = systemFork(server.database.db.orm, 'test: reads consents');
    expect(await new ConsentRepository(after).find(onlyAcme.id)).toBeNull();
    expect((await new ConsentRepository(after).find(shared.id))?.organizationIds).toEqual(['org_elsewhere']);
    const events = await ws.client.data(`query($env: ID) { auditEvents(environmentId: $env, first: 5, filter: { actions: ["consent.*"] }) { nodes { action actor { type } targets { id } } } }`, { env });
    expect(events.auditEvents.nodes.map((event: { action: string; targets: { id: string }[] }) => [event.action, event.targets[0].id]).sort()).toEqual(
      [['consent.revoked', onlyAcme.id], ['consent.updated', shared.id]].sort(),
    );
    expect(events.auditEvents.nodes[0].actor.type).toBe('DIRECTORY');
  });
});

describe('roles from groups', () => {
  const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
  const patch = (...Operations: unknown[]) => ({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations });
  const rolesOf = async (email: string) => {
    const user = await userByEmail(email);
    const membership = user.memberships.nodes.find((node: { organization: { id: string } }) => node.organization.id === orgId);
    return membership.roles.map((role: { key: string }) => role.key).sort();
  };
  const setMappings = (groupRoleMappings: { group: string; roleKeys: string[] }[]) =>
    mutate(ws.client, 'updateDirectory', 'UpdateDirectoryInput', 'directory { id }', { id: directory.id, groupRoleMappings });

  it('gives a member of a mapped group its roles and takes them back when they leave, the group is renamed or deleted', async () => {
    await setMappings([{ group: 'Admins', roleKeys: ['admin'] }]);
    const grace = (await scim('/Users', { body: scimUser('grace@acme.test') })).body.id;
    const hal = (await scim('/Users', { body: scimUser('hal@acme.test') })).body.id;
    expect(await rolesOf('grace@acme.test')).toEqual(['member']);

    const admins = (await scim('/Groups', { body: { schemas: [GROUP], displayName: 'admins', members: [{ value: grace }] } })).body.id;
    expect(await rolesOf('grace@acme.test')).toEqual(['admin']);
    expect(await rolesOf('hal@acme.test')).toEqual(['member']);

    await scim(`/Groups/${admins}`, { method: 'PATCH', body: patch({ op: 'add', path: 'members', value: [{ value: hal }] }) });
    expect(await rolesOf('hal@acme.test')).toEqual(['admin']);
    await scim(`/Groups/${admins}`, { method: 'PATCH', body: patch({ op: 'remove', path: `members[value eq "${hal}"]` }) });
    expect(await rolesOf('hal@acme.test')).toEqual(['member']);
    expect(await rolesOf('grace@acme.test')).toEqual(['admin']);

    await scim(`/Groups/${admins}`, { method: 'PATCH', body: patch({ op: 'replace', path: 'displayName', value: 'Former admins' }) });
    expect(await rolesOf('grace@acme.test')).toEqual(['member']);
    await scim(`/Groups/${admins}`, { method: 'PATCH', body: patch({ op: 'replace', path: 'displayName', value: 'Admins' }) });
    expect(await rolesOf('grace@acme.test')).toEqual(['admin']);

    // Deactivated and back: the roles the mappings give their groups now.
    await scim(`/Users/${grace}`, { method: 'PATCH', body: patch({ op: 'replace', path: 'active', value: false }) });
    await scim(`/Users/${grace}`, { method: 'PATCH', body: patch({ op: 'replace', path: 'active', value: true }) });
    expect(await rolesOf('grace@acme.test')).toEqual(['admin']);

    await scim(`/Groups/${admins}`, { method: 'DELETE' });
    expect(await rolesOf('grace@acme.test')).toEqual(['member']);
    const events = await ws.client.data(`query($env: ID) { auditEvents(environmentId: $env, first: 1, filter: { actions: ["membership.roles_changed"] }) { nodes { actor { type id } before after } } }`, { env });
    expect(events.auditEvents.nodes[0]).toMatchObject({ actor: { type: 'DIRECTORY', id: directory.id }, before: { roles: ['admin'] }, after: { roles: ['member'], changedBy: 'scim' } });
  });

  it('applies changed mappings to everyone provisioned, in the administrator\'s name; without mappings roles are left to Gatehouse', async () => {
    await setMappings([]);
    const ivy = (await scim('/Users', { body: scimUser('ivy@acme.test') })).body.id;
    await scim('/Groups', { body: { schemas: [GROUP], displayName: 'Auditors', members: [{ value: ivy }] } });
    expect(await rolesOf('ivy@acme.test')).toEqual(['member']);
    await setMappings([{ group: 'Auditors', roleKeys: ['admin', 'member'] }]);
    expect(await rolesOf('ivy@acme.test')).toEqual(['admin', 'member']);
    const events = await ws.client.data(`query($env: ID) { auditEvents(environmentId: $env, first: 1, filter: { actions: ["membership.roles_changed"] }) { nodes { actor { type } after } } }`, { env });
    expect(events.auditEvents.nodes[0]).toMatchObject({ actor: { type: 'API_KEY' }, after: { roles: ['admin', 'member'], changedBy: 'scim' } });
    await setMappings([]);
  });
});
