import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpBrowser } from '../helpers/browser-http.js';
import { API, mutate } from '../helpers/oauth.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

const REDIRECT = 'http://localhost:3000/callback';
const OUTBOX = `query($env: ID) { developmentOutbox(environmentId: $env, first: 1) { nodes { recipient text } } }`;

let server: TestServer;
let ws: TestWorkspace;
let env: string;
let issuer: string;

interface App {
  id: string;
  clientId: string;
  secret: string;
}

async function createWebApp(environmentId: string, input: Record<string, unknown> = {}, workspace = ws): Promise<App> {
  const created = await mutate(workspace.client, 'createApplication', 'CreateApplicationInput', 'application { id clientId }', {
    environmentId,
    name: 'Dashboard',
    type: 'WEB',
    redirectUris: [REDIRECT],
    ...input,
  });
  const { id, clientId } = created.application;
  return { id, clientId, secret: (await mutate(workspace.client, 'createClientSecret', 'CreateClientSecretInput', 'secret', { clientId })).secret };
}

const configOf = (app: App, iss = issuer) => client.discovery(new URL(iss), app.clientId, undefined, client.ClientSecretPost(app.secret), { execute: [client.allowInsecureRequests] });

async function authorizationUrl(app: App, extra: Record<string, string> = {}, iss = issuer) {
  const config = await configOf(app, iss);
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope: 'openid email',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...extra,
  });
  return { config, verifier, url };
}

async function codeFor(email: string, environmentId = env, workspace = ws) {
  const [message] = (await workspace.client.data(OUTBOX, { env: environmentId })).developmentOutbox.nodes;
  expect(message.recipient).toBe(email);
  return /code is (\d{6})/.exec(message.text)![1];
}

/** Through the email and code pages; returns what the browser sees next. */
async function authenticate(browser: HttpBrowser, url: URL, email: string, environmentId = env, workspace = ws) {
  await browser.go(url.toString());
  await browser.submit('/sign-in/email', { email });
  return browser.submit('/sign-in/code', { code: await codeFor(email, environmentId, workspace) });
}

beforeAll(async () => {
  server = await startServer();
  ws = await server.workspace('Orgs');
  env = ws.development.id;
  issuer = (await ws.client.data(`query($id: ID!) { environment(id: $id) { issuer } }`, { id: env })).environment.issuer;
  await mutate(ws.client, 'createResourceServer', 'CreateResourceServerInput', 'resourceServer { id }', {
    environmentId: env,
    name: 'Reports API',
    identifier: API,
    scopes: [{ name: 'reports:read', description: 'Read your reports' }],
  });
});
afterAll(() => server.close());

describe('organizations', () => {
  it('asks a member of several to choose; the tokens carry that membership’s roles and permissions', async () => {
    await mutate(ws.client, 'createPermission', 'CreatePermissionInput', 'permission { id }', { environmentId: env, key: 'invoices:approve' });
    await mutate(ws.client, 'createRole', 'CreateRoleInput', 'role { id }', { environmentId: env, key: 'approver', name: 'Approver', permissionKeys: ['invoices:approve'] });
    const user = await mutate(ws.client, 'createUser', 'CreateUserInput', 'user { id }', { environmentId: env, email: 'multi@example.com' });
    const acme = await mutate(ws.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId: env, name: 'Acme' });
    const globex = await mutate(ws.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId: env, name: 'Globex' });
    await mutate(ws.client, 'createMembership', 'CreateMembershipInput', 'membership { id }', { organizationId: acme.organization.id, userId: user.user.id });
    await mutate(ws.client, 'createMembership', 'CreateMembershipInput', 'membership { id }', { organizationId: globex.organization.id, userId: user.user.id, roleKeys: ['approver'] });

    const app = await createWebApp(env);
    const { config, verifier, url } = await authorizationUrl(app);
    const browser = new HttpBrowser(server.url);
    const step = await authenticate(browser, url, 'multi@example.com');
    expect('page' in step).toBe(true);
    // A page after the sign-in is served at a URL of its own (reloading it posts no code again).
    expect(new URL(browser.url).pathname).toBe(`/e/${env}/sign-in/continue`);
    expect(browser.html).toContain('Choose an organization');
    expect(browser.html).toContain('Acme');
    expect(browser.html).toContain('Globex');

    // Another organization's id (not theirs) is refused.
    const stranger = await mutate(ws.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId: env, name: 'Initech' });
    const { fields } = browser.form('/sign-in/organization');
    await browser.go('/e/' + env + '/sign-in/organization', { form: { ...fields, organization_id: stranger.organization.id } });
    expect(browser.status).toBe(400);

    await browser.go(`/e/${env}/sign-in/continue?flow=${fields.flow}`);
    const chosen = await browser.submit('/sign-in/organization', { organization_id: globex.organization.id });
    const callback = (chosen as { redirect: URL }).redirect;
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier });
    expect(tokens.claims()).toMatchObject({ org_id: globex.organization.id, roles: ['approver'], permissions: ['invoices:approve'] });
    const access = JSON.parse(Buffer.from(tokens.access_token.split('.')[1], 'base64url').toString());
    expect(access).toMatchObject({ org_id: globex.organization.id, roles: ['approver'], permissions: ['invoices:approve'] });
  });

  it('a refresh reads the membership afresh, and a resource taken from the client is refused without using the token up', async () => {
    await mutate(ws.client, 'createPermission', 'CreatePermissionInput', 'permission { id }', { environmentId: env, key: 'reports:export' });
    await mutate(ws.client, 'createPermission', 'CreatePermissionInput', 'permission { id }', { environmentId: env, key: 'reports:delete' });
    await mutate(ws.client, 'createRole', 'CreateRoleInput', 'role { id }', { environmentId: env, key: 'analyst', name: 'Analyst', permissionKeys: ['reports:export'] });
    await mutate(ws.client, 'createRole', 'CreateRoleInput', 'role { id }', { environmentId: env, key: 'admin-ops', name: 'Admin', permissionKeys: ['reports:export', 'reports:delete'] });
    const user = await mutate(ws.client, 'createUser', 'CreateUserInput', 'user { id }', { environmentId: env, email: 'fresh@example.com' });
    const org = await mutate(ws.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId: env, name: 'Freshco' });
    const { membership } = await mutate(ws.client, 'createMembership', 'CreateMembershipInput', 'membership { id }', {
      organizationId: org.organization.id,
      userId: user.user.id,
      roleKeys: ['analyst'],
    });
    const app = await createWebApp(env, { allowedAudiences: [API], allowedScopes: ['reports:read'] });
    const { config, verifier, url } = await authorizationUrl(app, { scope: 'openid offline_access reports:read', resource: API });
    const done = (await authenticate(new HttpBrowser(server.url), url, 'fresh@example.com')) as { redirect: URL };
    const first = await client.authorizationCodeGrant(config, done.redirect, { pkceCodeVerifier: verifier }, { resource: API });
    const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
    expect(claimsOf(first.access_token)).toMatchObject({ org_id: org.organization.id, roles: ['analyst'], permissions: ['reports:export'] });

    await mutate(ws.client, 'addMembershipRoles', 'MembershipRolesInput', 'membership { id }', { membershipId: membership.id, roleKeys: ['admin-ops'] });
    server.sql.statements.length = 0;
    const second = await client.refreshTokenGrant(config, first.refresh_token!);
    // The common case is one statement (checks, rotation, user, roles), no transaction; then the audit event.
    const rotation = server.sql.statements.filter((statement) => !/audit_event|pg_notify/.test(statement));
    expect(rotation, rotation.join('\n')).toHaveLength(1);
    expect(rotation[0]).toMatch(/^with "presented"/);
    expect(claimsOf(second.access_token)).toMatchObject({ aud: API, org_id: org.organization.id, roles: ['admin-ops', 'analyst'], permissions: ['reports:delete', 'reports:export'] });
    expect(second.claims()).toMatchObject({ sub: user.user.id, roles: ['admin-ops', 'analyst'] });

    // Taken away: refused, and the token stays the family's current one.
    await mutate(ws.client, 'updateApplication', 'UpdateApplicationInput', 'application { id }', { id: app.id, allowedAudiences: [] });
    await expect(client.refreshTokenGrant(config, second.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await mutate(ws.client, 'updateApplication', 'UpdateApplicationInput', 'application { id }', { id: app.id, allowedAudiences: [API] });
    const third = await client.refreshTokenGrant(config, second.refresh_token!);
    expect(claimsOf(third.access_token)).toMatchObject({ aud: API, roles: ['admin-ops', 'analyst'] });
    // The one before was used: presenting it again is a replay, and the family ends.
    await expect(client.refreshTokenGrant(config, first.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(client.refreshTokenGrant(config, third.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('takes organization_id from the request, and refuses one the user is not a member of', async () => {
    const user = await mutate(ws.client, 'createUser', 'CreateUserInput', 'user { id }', { environmentId: env, email: 'hinted@example.com' });
    const one = await mutate(ws.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId: env, name: 'One' });
    const two = await mutate(ws.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId: env, name: 'Two' });
    await mutate(ws.client, 'createMembership', 'CreateMembershipInput', 'membership { id }', { organizationId: one.organization.id, userId: user.user.id });
    await mutate(ws.client, 'createMembership', 'CreateMembershipInput', 'membership { id }', { organizationId: two.organization.id, userId: user.user.id });
    const app = await createWebApp(env);
    const browser = new HttpBrowser(server.url);
    const hinted = await authorizationUrl(app, { organization_id: two.organization.id, state: 'st' });
    const done = (await authenticate(browser, hinted.url, 'hinted@example.com')) as { redirect: URL };
    const tokens = await client.authorizationCodeGrant(hinted.config, done.redirect, { pkceCodeVerifier: hinted.verifier, expectedState: 'st' });
    expect(tokens.claims()!.org_id).toBe(two.organization.id);

    const stranger = await mutate(ws.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId: env, name: 'Not theirs' });
    const refused = await authorizationUrl(app, { organization_id: stranger.organization.id, state: 'st2' });
    const result = (await browser.go(refused.url.toString())) as { redirect: URL };
    expect(Object.fromEntries(result.redirect.searchParams)).toMatchObject({ error: 'access_denied', state: 'st2', iss: issuer });
  });
});

describe('consent for third-party applications', () => {
  it('asks in words, remembers the answer per scope set, asks again for more, and a denial reaches the app', async () => {
    const app = await createWebApp(env, { firstParty: false, allowedAudiences: [API], allowedScopes: ['reports:read'] });
    const browser = new HttpBrowser(server.url);
    const first = await authorizationUrl(app, { scope: 'openid email' });
    await authenticate(browser, first.url, 'consenting@example.com');
    expect(browser.html).toContain('Allow Dashboard?');
    expect(browser.html).toContain('See your email address');
    const allowed = (await browser.submit('/sign-in/consent', { decision: 'allow' })) as { redirect: URL };
    expect(allowed.redirect.searchParams.get('code')).toBeTruthy();

    // The same scopes again: no question.
    const again = await authorizationUrl(app, { scope: 'openid email' });
    const silent = (await browser.go(again.url.toString())) as { redirect: URL };
    expect(silent.redirect.searchParams.get('code')).toBeTruthy();

    // More (an API scope and resource): asked again, in the API's words; denied.
    const more = await authorizationUrl(app, { scope: 'openid reports:read', resource: API, state: 'more' });
    await browser.go(more.url.toString());
    expect(browser.html).toContain('Read your reports');
    expect(browser.html).toContain('Reports API');
    const denied = (await browser.submit('/sign-in/consent', { decision: 'deny' })) as { redirect: URL };
    expect(Object.fromEntries(denied.redirect.searchParams)).toMatchObject({ error: 'access_denied', state: 'more', iss: issuer });

    // prompt=none when consent is missing: consent_required.
    const none = await authorizationUrl(app, { scope: 'openid reports:read', resource: API, prompt: 'none' });
    const required = (await browser.go(none.url.toString())) as { redirect: URL };
    expect(required.redirect.searchParams.get('error')).toBe('consent_required');

    const events = await ws.client.data(`query($env: ID) { auditEvents(environmentId: $env, first: 5, filter: { actions: ["consent.granted"] }) { nodes { actor { type } after } } }`, { env });
    expect(events.auditEvents.nodes).toEqual([{ actor: { type: 'USER' }, after: { scopes: ['email', 'openid'], resources: [], organizationIds: [] } }]);
  });
});

describe('what attackers try', () => {
  it('every form refuses a missing or foreign CSRF token', async () => {
    const app = await createWebApp(env);
    const victim = new HttpBrowser(server.url);
    const { url } = await authorizationUrl(app);
    await victim.go(url.toString());
    const { action, fields } = victim.form('/sign-in/email');
    for (const csrf of [undefined, 'x'.repeat(43), new HttpBrowser(server.url).cookie('gh_browser')]) {
      const form: Record<string, string> = { ...fields, email: 'victim@example.com' };
      if (csrf === undefined) delete form.csrf;
      else form.csrf = csrf;
      await victim.go(action, { form });
      expect(victim.status).toBe(403);
      expect(victim.html).toContain('csrf_failed');
    }
  });

  it('a flow started in one browser does nothing in another', async () => {
    const app = await createWebApp(env);
    const attacker = new HttpBrowser(server.url);
    const { url } = await authorizationUrl(app);
    await attacker.go(url.toString());
    const { fields } = attacker.form('/sign-in/email');
    // The victim's browser gets the attacker's flow id (a planted link): the page refuses it.
    const victim = new HttpBrowser(server.url);
    await victim.go(`/e/${env}/sign-in?flow=${fields.flow}`);
    expect(victim.status).toBe(400);
    expect(victim.html).toContain('flow_not_found');
  });

  it('a code is dead after five wrong guesses, and a mailed link works only in the browser that asked', async () => {
    const app = await createWebApp(env);
    const browser = new HttpBrowser(server.url);
    const { url } = await authorizationUrl(app);
    await browser.go(url.toString());
    await browser.submit('/sign-in/email', { email: 'guessed@example.com' });
    const [message] = (await ws.client.data(OUTBOX, { env })).developmentOutbox.nodes;
    const right = /code is (\d{6})/.exec(message.text)![1];
    const link = /(http\S+\/sign-in\/link\?token=\S+)/.exec(message.text)![1];
    const wrong = right === '000000' ? '111111' : '000000';
    const { fields } = browser.form('/sign-in/code');
    for (let attempt = 0; attempt < 5; attempt += 1) await browser.go(`/e/${env}/sign-in/code`, { form: { ...fields, code: wrong } });
    await browser.go(`/e/${env}/sign-in/code`, { form: { ...fields, code: right } });
    expect(browser.html).toContain('Too many wrong codes');
    expect(browser.cookie(`gh_session_${env}`)).toBeUndefined();

    // The link (same challenge) is dead too; in another browser it was never usable.
    const other = new HttpBrowser(server.url);
    await other.go(link);
    await other.submit('/sign-in/link');
    expect(other.html).toContain('link_not_usable');
    const failures = await ws.client.data(`query($env: ID) { auditEvents(environmentId: $env, first: 10, filter: { actions: ["user.signin_failed"] }) { nodes { after } } }`, { env });
    expect(failures.auditEvents.nodes.map((event: { after: { reason: string } }) => event.after.reason)).toEqual(expect.arrayContaining(['wrong_code', 'too_many_attempts']));
  });

  it('answers alike whether or not an address may sign in, and sends mail only to those who may', async () => {
    await ws.client.data(`mutation($input: UpdateEnvironmentInput!) { updateEnvironment(input: $input) { userErrors { code } } }`, {
      input: { id: ws.production.id, signUpPolicy: 'INVITE_ONLY' },
    });
    // Production has no mail server here: refused before anything is looked up, for everyone alike.
    const prodIssuer = (await ws.client.data(`query($id: ID!) { environment(id: $id) { issuer } }`, { id: ws.production.id })).environment.issuer;
    const app = await createWebApp(ws.production.id);
    const browser = new HttpBrowser(server.url);
    const { url } = await authorizationUrl(app, {}, prodIssuer);
    await browser.go(url.toString());
    await browser.submit('/sign-in/email', { email: 'nobody@example.com' });
    expect(browser.status).toBe(503);
    expect(browser.html).toContain('email_not_configured');

    // Invite-only development environment: a stranger and a known user see the same page.
    await ws.client.data(`mutation($input: UpdateEnvironmentInput!) { updateEnvironment(input: $input) { userErrors { code } } }`, { input: { id: env, signUpPolicy: 'INVITE_ONLY' } });
    try {
      await mutate(ws.client, 'createUser', 'CreateUserInput', 'user { id }', { environmentId: env, email: 'invited@example.com' });
      const devApp = await createWebApp(env);
      const pages: string[] = [];
      for (const email of ['stranger@example.com', 'invited@example.com']) {
        const visitor = new HttpBrowser(server.url);
        await visitor.go((await authorizationUrl(devApp)).url.toString());
        await visitor.submit('/sign-in/email', { email });
        expect(visitor.status).toBe(200);
        pages.push(visitor.html.replace(/value="[^"]*"/g, '').replace(/flw_[0-9a-z]{26}/g, 'FLOW').replace(email, 'EMAIL'));
      }
      expect(pages[0]).toBe(pages[1]);
      const [latest] = (await ws.client.data(OUTBOX, { env })).developmentOutbox.nodes;
      expect(latest.recipient).toBe('invited@example.com');
    } finally {
      await ws.client.data(`mutation($input: UpdateEnvironmentInput!) { updateEnvironment(input: $input) { userErrors { code } } }`, { input: { id: env, signUpPolicy: 'OPEN' } });
    }
  });

  it('a suspended user is refused at once: session, refresh token and userinfo', async () => {
    const app = await createWebApp(env);
    const browser = new HttpBrowser(server.url);
    const { config, verifier, url } = await authorizationUrl(app, { scope: 'openid offline_access' });
    const done = (await authenticate(browser, url, 'suspended@example.com')) as { redirect: URL };
    const tokens = await client.authorizationCodeGrant(config, done.redirect, { pkceCodeVerifier: verifier });
    const userId = tokens.claims()!.sub;
    await mutate(ws.client, 'suspendUser', 'UserIdInput', 'user { id }', { id: userId });
    await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(client.fetchUserInfo(config, tokens.access_token, userId)).rejects.toBeTruthy();
    const again = await authorizationUrl(app, { prompt: 'none' });
    const silent = (await browser.go(again.url.toString())) as { redirect: URL };
    expect(['login_required', 'access_denied']).toContain(silent.redirect.searchParams.get('error'));
  });

  it('a code, refresh token or session of one environment is nothing in another', async () => {
    const other = await server.workspace('Other tenant');
    const otherIssuer = (await other.client.data(`query($id: ID!) { environment(id: $id) { issuer } }`, { id: other.development.id })).environment.issuer;
    const app = await createWebApp(env);
    const otherApp = await createWebApp(other.development.id, {}, other);
    const browser = new HttpBrowser(server.url);
    const { config, verifier, url } = await authorizationUrl(app, { scope: 'openid offline_access' });
    const done = (await authenticate(browser, url, 'tenant@example.com')) as { redirect: URL };
    const code = done.redirect.searchParams.get('code')!;

    const otherConfig = await configOf(otherApp, otherIssuer);
    const post = (params: Record<string, string>) =>
      fetch(`${otherIssuer}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...params, client_id: otherApp.clientId, client_secret: otherApp.secret }) });
    const stolen = await post({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier });
    expect(stolen.status).toBe(400);
    expect(((await stolen.json()) as { error: string }).error).toBe('invalid_grant');
    // The code was not touched by the attempt in the other environment.
    const tokens = await client.authorizationCodeGrant(config, done.redirect, { pkceCodeVerifier: verifier });
    const refreshed = await post({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token! });
    expect(((await refreshed.json()) as { error: string }).error).toBe('invalid_grant');
    expect((await client.refreshTokenGrant(config, tokens.refresh_token!)).access_token).toBeTruthy();
    // The session cookie of one environment signs nobody in to another.
    const otherUrl = client.buildAuthorizationUrl(otherConfig, { redirect_uri: REDIRECT, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256', prompt: 'none' });
    const silent = (await browser.go(otherUrl.toString())) as { redirect: URL };
    expect(silent.redirect.searchParams.get('error')).toBe('login_required');
  });
});
