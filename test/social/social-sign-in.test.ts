import http from 'node:http';
import * as client from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.js';
import { HttpBrowser } from '../helpers/browser-http.js';
import { mutate } from '../helpers/oauth.js';
import { UpstreamIdp, type UpstreamAccount } from '../helpers/oidc-idp.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

const REDIRECT = 'http://localhost:3000/callback';
const SECRET = 'social-upstream-secret-0123456789';
const CONNECTION = 'id provider name enabled clientId redirectUri scopes issuer authorizationUrl tokenUrl userinfoUrl setupHint';
const USERS = `query($env: ID) { users(environmentId: $env, first: 100) { nodes { id email emailVerified givenName familyName } } }`;
const EVENTS = `query($env: ID, $actions: [String!]) { auditEvents(environmentId: $env, first: 50, filter: { actions: $actions }) { nodes { action after before targets { type id } } } }`;
const CONSUMER_TENANT = '9188040d-6c67-4c5b-b112-36a304b66dad';

let server: TestServer;
let ws: TestWorkspace;
let env: string;
let issuer: string;
let idp: UpstreamIdp;
let config: client.Configuration;
let google: string;
let microsoft: string;
let github: string;

beforeAll(async () => {
  // The providers listen on loopback: outbound requests to private addresses are allowed, as in development.
  server = await startServer({ allowPrivateTargets: true });
  ws = await server.workspace('Social sign-in');
  env = ws.development.id;
  issuer = (await ws.client.data(`query($id: ID!) { environment(id: $id) { issuer } }`, { id: env })).environment.issuer;
  const redirectUri = `${issuer}/social/callback`;
  idp = await UpstreamIdp.start([
    { client_id: 'google-client', client_secret: SECRET, redirect_uris: [redirectUri] },
    { client_id: 'microsoft-client', client_secret: SECRET, redirect_uris: [redirectUri] },
    // GitHub's token endpoint takes the secret in the form.
    { client_id: 'github-client', client_secret: SECRET, redirect_uris: [redirectUri], token_endpoint_auth_method: 'client_secret_post' },
  ]);
  const create = async (input: Record<string, unknown>) => (await mutate(ws.client, 'createSocialConnection', 'CreateSocialConnectionInput', `socialConnection { ${CONNECTION} }`, { environmentId: env, clientSecret: SECRET, ...input })).socialConnection;
  google = (await create({ provider: 'GOOGLE', clientId: 'google-client', issuer: idp.issuer })).id;
  microsoft = (await create({ provider: 'MICROSOFT', clientId: 'microsoft-client', issuer: idp.issuer })).id;
  github = (await create({ provider: 'GITHUB', clientId: 'github-client', authorizationUrl: `${idp.issuer}/auth`, tokenUrl: `${idp.issuer}/token`, userinfoUrl: `${idp.issuer}/api/user` })).id;
  const app = await mutate(ws.client, 'createApplication', 'CreateApplicationInput', 'application { clientId }', { environmentId: env, name: 'Portal', type: 'WEB', redirectUris: [REDIRECT] });
  const { secret } = await mutate(ws.client, 'createClientSecret', 'CreateClientSecretInput', 'secret', { clientId: app.application.clientId });
  config = await client.discovery(new URL(issuer), app.application.clientId, undefined, client.ClientSecretPost(secret), { execute: [client.allowInsecureRequests] });
});
afterAll(async () => {
  await idp?.close();
  await server.close();
});

async function authorizeUrl(extra: Record<string, string> = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid email profile', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'st', ...extra });
  return { url, verifier };
}

/** Follows redirects through Gatehouse and the provider until a page, or the application's redirect. */
async function travel(browser: HttpBrowser, start: string): Promise<{ page: string } | { redirect: URL }> {
  let next = new URL(start, server.url);
  for (let hops = 0; hops < 20; hops += 1) {
    const response = await browser.request(next.toString());
    if (response.status < 300 || response.status >= 400) return { page: browser.html };
    const location = new URL(response.headers.get('location')!, next);
    if (location.origin !== new URL(server.url).origin && location.origin !== idp.issuer) return { redirect: location };
    next = location;
  }
  throw new Error('too many redirects');
}

/** The href of the email page's button for a connection. */
function button(browser: HttpBrowser, connectionId: string): string {
  const found = [...browser.html.matchAll(/<a class="button secondary" href="([^"]+)">Continue with ([^<]+)<\/a>/g)].find((match) => match[1].includes(`/social/${connectionId}/start`));
  expect(found, browser.html.slice(0, 1500)).toBeTruthy();
  return found![1].replace(/&amp;/g, '&');
}

/** Sign-in from the app's request through the button of `connectionId`, as `account` at the provider. */
async function signInWith(connectionId: string, next: typeof idp.next, browser = new HttpBrowser(server.url)) {
  idp.next = next;
  const { url, verifier } = await authorizeUrl();
  await browser.go(url.toString());
  const outcome = await travel(browser, button(browser, connectionId));
  if ('page' in outcome) return { browser, tokens: null };
  const tokens = await client.authorizationCodeGrant(config, outcome.redirect, { pkceCodeVerifier: verifier, expectedState: 'st' });
  return { browser, tokens };
}

const users = async () => (await ws.client.data(USERS, { env })).users.nodes as { id: string; email: string; emailVerified: boolean; givenName: string | null; familyName: string | null }[];

describe('social connections in GraphQL', () => {
  it('shows what to register at the provider, never the secret, and audits each change', async () => {
    const { socialConnections } = await ws.client.data(`query($env: ID) { socialConnections(environmentId: $env, first: 20) { totalCount nodes { ${CONNECTION} } } }`, { env });
    expect(socialConnections.totalCount).toBe(3);
    const [g, m, gh] = socialConnections.nodes;
    expect(g).toMatchObject({ provider: 'GOOGLE', name: 'Google', enabled: true, redirectUri: `${issuer}/social/callback`, scopes: ['email', 'openid', 'profile'], issuer: idp.issuer, authorizationUrl: null });
    expect(g.setupHint).toMatch(/Authorized redirect URIs/);
    expect(m).toMatchObject({ provider: 'MICROSOFT', name: 'Microsoft' });
    expect(gh).toMatchObject({ provider: 'GITHUB', scopes: ['read:user', 'user:email'], issuer: null, userinfoUrl: `${idp.issuer}/api/user` });
    const created = (await ws.client.data(EVENTS, { env, actions: ['social_connection.created'] })).auditEvents.nodes;
    expect(created).toHaveLength(3);
    expect(JSON.stringify(created)).not.toContain(SECRET);

    // Presets fill in the rest: Google's real issuer when none is given.
    const prod = ws.production.id;
    const made = await mutate(ws.client, 'createSocialConnection', 'CreateSocialConnectionInput', `socialConnection { ${CONNECTION} }`, { environmentId: prod, provider: 'GOOGLE', clientId: 'c', clientSecret: 's', name: 'Google Workspace' });
    expect(made.socialConnection).toMatchObject({ issuer: 'https://accounts.google.com', name: 'Google Workspace' });
    const updated = await mutate(ws.client, 'updateSocialConnection', 'UpdateSocialConnectionInput', `socialConnection { ${CONNECTION} }`, { id: made.socialConnection.id, enabled: false, scopes: ['email'] });
    expect(updated.socialConnection).toMatchObject({ enabled: false, scopes: ['email', 'openid'] });
    const deleted = await mutate(ws.client, 'deleteSocialConnection', 'DeleteInput', 'deletedId', { id: made.socialConnection.id });
    expect(deleted.deletedId).toBe(made.socialConnection.id);
    const actions = (await ws.client.data(EVENTS, { env: prod, actions: ['social_connection.created', 'social_connection.updated', 'social_connection.deleted'] })).auditEvents.nodes.map((event: { action: string }) => event.action);
    expect(actions.sort()).toEqual(['social_connection.created', 'social_connection.deleted', 'social_connection.updated']);
  });

  it('refuses settings that cannot work, each with its code, and changes nothing', async () => {
    const prod = ws.production.id;
    const refused = async (input: Record<string, unknown>) => {
      const data = await ws.client.data(`mutation($input: CreateSocialConnectionInput!) { createSocialConnection(input: $input) { socialConnection { id } userErrors { code field } } }`, {
        input: { environmentId: prod, clientId: 'c', clientSecret: 's', ...input },
      });
      expect(data.createSocialConnection.socialConnection).toBeNull();
      return data.createSocialConnection.userErrors[0];
    };
    expect(await refused({ provider: 'GENERIC_OIDC' })).toMatchObject({ code: 'social_connection.incomplete' });
    expect(await refused({ provider: 'GENERIC_OAUTH2', authorizationUrl: 'https://id.example/authorize', tokenUrl: 'https://id.example/token' })).toMatchObject({ code: 'social_connection.incomplete' });
    expect(await refused({ provider: 'GITHUB', issuer: 'https://github.com' })).toMatchObject({ code: 'social_connection.not_applicable', field: ['input', 'issuer'] });
    expect(await refused({ provider: 'GOOGLE', tokenUrl: 'https://oauth2.googleapis.com/token' })).toMatchObject({ code: 'social_connection.not_applicable' });
    expect(await refused({ provider: 'GENERIC_OIDC', issuer: 'http://idp.example' })).toMatchObject({ code: 'social_connection.invalid_url' });
    expect(await refused({ provider: 'GENERIC_OIDC', issuer: 'https://user:pw@idp.example' })).toMatchObject({ code: 'social_connection.invalid_url' });
    expect(await refused({ provider: 'GOOGLE', clientSecret: '   ' })).toMatchObject({ code: 'social_connection.invalid_credential', field: ['input', 'clientSecret'] });
    expect(await refused({ provider: 'GOOGLE', scopes: ['openid', 'bad scope'] })).toMatchObject({ code: 'social_connection.invalid_scope' });
    expect(await refused({ provider: 'GOOGLE', name: 'x'.repeat(61) })).toMatchObject({ code: 'validation.too_long' });
    const unknown = await ws.client.request(`mutation { createSocialConnection(input: { provider: FACEBOOK, clientId: "c", clientSecret: "s" }) { userErrors { code } } }`);
    expect(unknown.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect((await ws.client.data(`query($env: ID) { socialConnections(environmentId: $env, first: 20) { totalCount } }`, { env: prod })).socialConnections.totalCount).toBe(0);

    // At most 10 buttons per environment.
    for (let i = 0; i < 10; i += 1) await mutate(ws.client, 'createSocialConnection', 'CreateSocialConnectionInput', 'socialConnection { id }', { environmentId: prod, provider: 'GITLAB', clientId: `c${i}`, clientSecret: 's' });
    expect(await refused({ provider: 'GITLAB' })).toMatchObject({ code: 'social_connection.limit_reached' });
  });

  it('holds the cap of 10 per environment when they are created at once', async () => {
    const fresh = (await mutate(ws.client, 'createEnvironment', 'CreateEnvironmentInput', 'environment { id }', { name: 'Race', slug: 'race', kind: 'DEVELOPMENT' })).environment.id;
    const results = await Promise.all(
      Array.from({ length: 14 }, (_, i) =>
        ws.client.data(`mutation($input: CreateSocialConnectionInput!) { createSocialConnection(input: $input) { socialConnection { id } userErrors { code } } }`, {
          input: { environmentId: fresh, provider: 'GITLAB', clientId: `race-${i}`, clientSecret: 's' },
        }),
      ),
    );
    expect(results.filter((result) => result.createSocialConnection.socialConnection).length).toBe(10);
    expect(results.filter((result) => result.createSocialConnection.userErrors[0]?.code === 'social_connection.limit_reached').length).toBe(4);
  });

  it('needs environments:write to change and environments:read to list', async () => {
    const key = async (scopes: string[]) =>
      ws.client.withKey((await ws.client.data(`mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }`, { input: { name: scopes.join(' '), environmentId: env, scopes } })).createApiKey.secret);
    const orgs = await key(['organizations:write']);
    const listed = await orgs.request(`{ socialConnections(first: 5) { totalCount } }`);
    expect(listed.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const made = await orgs.request(`mutation { createSocialConnection(input: { provider: GOOGLE, clientId: "c", clientSecret: "s" }) { socialConnection { id } } }`);
    expect(made.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const reader = await key(['environments:read']);
    expect((await reader.data(`{ socialConnections(first: 5) { totalCount } }`)).socialConnections.totalCount).toBe(3);
    const changed = await reader.request(`mutation($id: ID!) { deleteSocialConnection(input: { id: $id }) { deletedId } }`, { id: google });
    expect(changed.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });
});

describe('signing in with a social connection', () => {
  it('shows a button for each enabled connection, and signs a new person up through an OpenID Provider', async () => {
    const ada: UpstreamAccount = { sub: 'google-108', claims: { email: 'Ada@Gmail.test', email_verified: true, given_name: 'Ada', family_name: 'Lovelace' } };
    const { tokens, browser } = await signInWith(google, { account: ada });
    expect(tokens, browser.html.slice(0, 800)).not.toBeNull();
    expect(tokens!.claims()).toMatchObject({ email: 'ada@gmail.test', email_verified: true, amr: ['social'] });
    const request = idp.authorizations.at(-1)!;
    expect(request.get('redirect_uri')).toBe(`${issuer}/social/callback`);
    expect(request.get('code_challenge_method')).toBe('S256');
    expect(request.get('nonce')).toBeTruthy();
    const made = (await users()).find((user) => user.email === 'ada@gmail.test')!;
    expect(made).toMatchObject({ emailVerified: true, givenName: 'Ada', familyName: 'Lovelace' });

    // Again, in a new browser: the link finds the same person, even after the provider's address changed.
    const again = await signInWith(google, { account: { sub: 'google-108', claims: { email: 'ada.l@gmail.test', email_verified: true } } });
    expect(again.tokens!.claims()!.sub).toBe(tokens!.claims()!.sub);
    expect(again.tokens!.claims()!.email).toBe('ada@gmail.test');
    const signedIn = (await ws.client.data(EVENTS, { env, actions: ['user.signed_in'] })).auditEvents.nodes.filter((event: { targets: { id: string }[] }) => event.targets.some((t) => t.id === made.id));
    expect(signedIn.map((event: { after: { method: string[] } }) => event.after.method)).toEqual([['social'], ['social']]);
  });

  it('proves the address of an existing account: the person signs in as that user', async () => {
    const existing = await mutate(ws.client, 'createUser', 'CreateUserInput', 'user { id emailVerified }', { environmentId: env, email: 'grace@hopper.test' });
    expect(existing.user.emailVerified).toBe(false);
    const { tokens } = await signInWith(google, { account: { sub: 'google-grace', claims: { email: 'grace@hopper.test', email_verified: true } } });
    expect(tokens!.claims()!.sub).toBe(existing.user.id);
    expect((await users()).find((user) => user.id === existing.user.id)!.emailVerified).toBe(true);
  });

  it('refuses an address the provider did not verify, back on the sign-in page, and audits why', async () => {
    const { browser, tokens } = await signInWith(google, { account: { sub: 'google-eve', claims: { email: 'eve@gmail.test', email_verified: false } } });
    expect(tokens).toBeNull();
    expect(browser.url).toContain('/sign-in?flow=');
    expect(browser.url).toContain('notice=social_email_not_verified');
    expect(browser.html).toContain('not verified by its provider');
    expect((await users()).map((user) => user.email)).not.toContain('eve@gmail.test');
    const failures = (await ws.client.data(EVENTS, { env, actions: ['user.signin_failed'] })).auditEvents.nodes.map((event: { after: { reason: string } }) => event.after.reason);
    expect(failures).toContain('email_not_verified');
  });

  it('believes Microsoft about an address only with xms_edov, or for a personal account', async () => {
    // A tenant's admin can type any address for a user: without the domain owner's word it proves nothing (nOAuth).
    const typed = await signInWith(microsoft, { account: { sub: 'ms-mallory', claims: { email: 'ceo@victim.test', tid: '11111111-2222-3333-4444-555555555555' } } });
    expect(typed.tokens).toBeNull();
    expect(typed.browser.url).toContain('notice=social_email_not_verified');
    const owned = await signInWith(microsoft, { account: { sub: 'ms-owner', claims: { email: 'it@contoso.test', tid: '11111111-2222-3333-4444-555555555555', xms_edov: true } } });
    expect(owned.tokens!.claims()).toMatchObject({ email: 'it@contoso.test' });
    const personal = await signInWith(microsoft, { account: { sub: 'ms-personal', claims: { email: 'sam@outlook.test', tid: CONSUMER_TENANT } } });
    expect(personal.tokens!.claims()).toMatchObject({ email: 'sam@outlook.test' });
    expect((await users()).map((user) => user.email)).not.toContain('ceo@victim.test');
  });

  it('signs in with GitHub: OAuth 2.0, then the user API for the primary verified address', async () => {
    const octo: UpstreamAccount = {
      sub: '583231',
      claims: {
        github_user: { id: 583231, login: 'octocat', name: 'Mona Lisa Octocat', email: 'public@octocat.test' },
        github_emails: [
          { email: 'secondary@octocat.test', primary: false, verified: true },
          { email: 'Mona@Octocat.test', primary: true, verified: true },
        ],
      },
    };
    const calls = idp.apiCalls.length;
    const { tokens, browser } = await signInWith(github, { account: octo });
    expect(tokens, browser.html.slice(0, 800)).not.toBeNull();
    expect(tokens!.claims()).toMatchObject({ email: 'mona@octocat.test', email_verified: true, amr: ['social'] });
    const request = idp.authorizations.at(-1)!;
    expect(request.get('scope')).toBe('read:user user:email');
    expect(request.get('nonce')).toBeNull();
    expect(request.get('code_challenge')).toBeTruthy();
    expect(idp.apiCalls.slice(calls).map((call) => call.path)).toEqual(['/api/user', '/api/user/emails']);
    expect(idp.apiCalls.at(-1)!.userAgent).toBe('Gatehouse');
    const mona = (await users()).find((user) => user.email === 'mona@octocat.test')!;
    expect(mona).toMatchObject({ givenName: 'Mona', familyName: 'Lisa Octocat' });
    // What GitHub said is kept on the user's identity, as it said it.
    const { user } = await ws.client.data(`query($id: ID!) { user(id: $id) { identities { kind connectionId subject rawAttributes lastSignedInAt } } }`, { id: mona.id });
    expect(user.identities).toEqual([
      { kind: 'SOCIAL', connectionId: github, subject: '583231', rawAttributes: { id: 583231, login: 'octocat', name: 'Mona Lisa Octocat', email: 'public@octocat.test' }, lastSignedInAt: expect.any(String) },
    ]);

    // A primary address GitHub has not verified proves nothing; neither does the public profile email.
    const unverified = await signInWith(github, {
      account: { sub: '999', claims: { github_user: { id: 999, login: 'x', email: 'boss@corp.test' }, github_emails: [{ email: 'boss@corp.test', primary: true, verified: false }] } },
    });
    expect(unverified.browser.url).toContain('notice=social_email_not_verified');
  });

  it('sends the person back to the sign-in page when they cancel at the provider, and audits it without the provider\'s text', async () => {
    const { browser, tokens } = await signInWith(google, { error: 'access_denied', description: 'The user cancelled <script>' });
    expect(tokens).toBeNull();
    expect(browser.url).toContain('notice=social_cancelled');
    expect(browser.html).not.toContain('<script>');
    const failed = (await ws.client.data(EVENTS, { env, actions: ['social.signin_failed'] })).auditEvents.nodes;
    const cancelled = failed.find((event: { after: { reason: string } }) => event.after.reason === 'idp_error');
    expect(cancelled.targets).toEqual([{ type: 'social_connection', id: google }]);
    expect(cancelled.after.detail).toBeUndefined();
  });

  it('signs in only the browser whose flow the state belongs to, once', async () => {
    idp.next = { account: { sub: 'google-victim', claims: { email: 'victim@gmail.test', email_verified: true } } };
    const attacker = new HttpBrowser(server.url);
    await attacker.go((await authorizeUrl()).url.toString());
    let next = new URL(button(attacker, google), server.url);
    while (next.origin !== idp.issuer) next = new URL((await attacker.request(next.toString())).headers.get('location')!, next);
    // The provider link, forwarded to a victim who is signed in there.
    const victim = new HttpBrowser(server.url);
    await travel(victim, next.toString());
    expect(victim.html).toContain('flow_not_found');
    // The callback URL the victim got, carried back to the attacker, is used up.
    await attacker.request(victim.url);
    expect(attacker.status).toBe(502);
    expect(attacker.html).toContain('social.replayed');
    expect((await users()).map((user) => user.email)).not.toContain('victim@gmail.test');
    // A state nobody issued; an organization connection's callback does not take social requests.
    const stranger = new HttpBrowser(server.url);
    await stranger.request(`/e/${env}/social/callback?state=made-up&code=x`);
    expect(stranger.html).toContain('flow_not_found');
  });

  it('goes straight to the provider for connection_id, and refuses a disabled connection', async () => {
    idp.next = { account: { sub: 'google-108', claims: { email: 'ada@gmail.test', email_verified: true } } };
    const browser = new HttpBrowser(server.url);
    const { url, verifier } = await authorizeUrl({ connection_id: google });
    const outcome = await travel(browser, url.toString());
    expect('redirect' in outcome, browser.html.slice(0, 500)).toBe(true);
    expect((await client.authorizationCodeGrant(config, (outcome as { redirect: URL }).redirect, { pkceCodeVerifier: verifier, expectedState: 'st' })).claims()!.email).toBe('ada@gmail.test');

    // Disabled: no button, the start refuses, and a sign-in already at the provider is refused on return.
    const pending = new HttpBrowser(server.url);
    await pending.go((await authorizeUrl()).url.toString());
    const start = button(pending, microsoft);
    let atProvider = new URL(start, server.url);
    while (atProvider.origin !== idp.issuer) atProvider = new URL((await pending.request(atProvider.toString())).headers.get('location')!, atProvider);
    await mutate(ws.client, 'updateSocialConnection', 'UpdateSocialConnectionInput', 'socialConnection { id }', { id: microsoft, enabled: false });
    try {
      idp.next = { account: { sub: 'ms-personal', claims: { email: 'sam@outlook.test', tid: CONSUMER_TENANT } } };
      await travel(pending, atProvider.toString());
      expect(pending.html).toContain('social_connection_unavailable');
      const fresh = new HttpBrowser(server.url);
      await fresh.go((await authorizeUrl()).url.toString());
      expect(fresh.html).not.toContain(`/social/${microsoft}/start`);
      await fresh.request(start.replace(/flow=[^&]+/, `flow=${new URL(fresh.url).searchParams.get('flow')}`));
      expect(fresh.status).toBe(404);
    } finally {
      await mutate(ws.client, 'updateSocialConnection', 'UpdateSocialConnectionInput', 'socialConnection { id }', { id: microsoft, enabled: true });
    }
  });

  it('refuses an address of an organization that requires SSO, and new people when sign-up is closed', async () => {
    await mutate(ws.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId: env, name: 'Strict', requireSso: true, domains: [{ domain: 'strict.test', state: 'VERIFIED' }] });
    const strict = await signInWith(google, { account: { sub: 'google-strict', claims: { email: 'pat@strict.test', email_verified: true } } });
    expect(strict.browser.status).toBe(403);
    expect(strict.browser.html).toContain('social.sso_required');
    // The page leads back to the application, which learns the sign-in failed (error=access_denied), once.
    const { fields } = strict.browser.form('/sign-in/abandon');
    const back = await strict.browser.submit('/sign-in/abandon');
    expect('redirect' in back, strict.browser.html.slice(0, 400)).toBe(true);
    const answered = (back as { redirect: URL }).redirect;
    expect(`${answered.origin}${answered.pathname}`).toBe(REDIRECT);
    expect(Object.fromEntries(answered.searchParams)).toMatchObject({ error: 'access_denied', state: 'st', iss: issuer });
    await strict.browser.request(`/e/${env}/sign-in/abandon`, { form: fields });
    expect(strict.browser.html).toContain('flow_not_found');
    // Without the form's CSRF token, or from another browser, nothing is sent to the application.
    const other = new HttpBrowser(server.url);
    await other.go((await authorizeUrl()).url.toString());
    await other.request(`/e/${env}/sign-in/abandon`, { form: { ...fields, csrf: other.form('/sign-in/email').fields.csrf } });
    expect(other.html).toContain('flow_not_found');
    await other.request(`/e/${env}/sign-in/abandon`, { form: { flow: fields.flow } });
    expect(other.status).toBe(403);

    // The same mailbox spelled with a trailing dot is no way around it: such an address is no address.
    const dotted = await signInWith(google, { account: { sub: 'google-dotted', claims: { email: 'pat@strict.test.', email_verified: true } } });
    expect(dotted.tokens).toBeNull();
    expect(dotted.browser.url).toContain('notice=social_email_not_verified');
    const typed = await ws.client.data(`mutation($env: ID) { createUser(input: { environmentId: $env, email: "pat@strict.test." }) { user { id } userErrors { code } } }`, { env });
    expect(typed.createUser.userErrors).toEqual([{ code: 'validation.email' }]);

    await mutate(ws.client, 'updateEnvironment', 'UpdateEnvironmentInput', 'environment { id }', { id: env, signUpPolicy: 'INVITE_ONLY' });
    try {
      const closed = await signInWith(google, { account: { sub: 'google-newcomer', claims: { email: 'new@gmail.test', email_verified: true } } });
      expect(closed.browser.url).toContain('notice=social_sign_up_closed');
      // Someone who has an account still signs in.
      const ada = await signInWith(google, { account: { sub: 'google-108', claims: { email: 'ada@gmail.test', email_verified: true } } });
      expect(ada.tokens!.claims()!.email).toBe('ada@gmail.test');
    } finally {
      await mutate(ws.client, 'updateEnvironment', 'UpdateEnvironmentInput', 'environment { id }', { id: env, signUpPolicy: 'OPEN' });
    }
  });

  it('offers only providers that prove a fresh sign-in when the application asks for one', async () => {
    const browser = new HttpBrowser(server.url);
    await browser.go((await authorizeUrl({ max_age: '600' })).url.toString());
    expect(browser.html).toContain(`/social/${google}/start`);
    expect(browser.html).not.toContain(`/social/${github}/start`);
    // GitHub cannot say when its user last authenticated: its start refuses such a flow.
    const flow = new URL(browser.url).searchParams.get('flow');
    await browser.request(`/e/${env}/social/${github}/start?flow=${flow}`);
    expect(browser.status).toBe(400);
    expect(browser.html).toContain('social.fresh_sign_in_unsupported');
    // Named by connection_id with prompt=login: the email page instead.
    const direct = new HttpBrowser(server.url);
    await direct.go((await authorizeUrl({ connection_id: github, prompt: 'login' })).url.toString());
    expect(direct.url).toContain('/sign-in?flow=');
    expect(direct.html).toContain(`/social/${google}/start`);
  });

  it('forgets who signed in through a connection whose provider changed', async () => {
    const zed = await signInWith(google, { account: { sub: 'google-zed', claims: { email: 'zed@gmail.test', email_verified: true } } });
    expect(zed.tokens!.claims()!.email).toBe('zed@gmail.test');
    const other = await UpstreamIdp.start([{ client_id: 'google-client', client_secret: SECRET, redirect_uris: [`${issuer}/social/callback`] }]);
    try {
      await mutate(ws.client, 'updateSocialConnection', 'UpdateSocialConnectionInput', 'socialConnection { id }', { id: google, issuer: other.issuer });
      // Another provider's "google-zed" is someone else: with an unverified address, nobody is found or made.
      other.next = { account: { sub: 'google-zed', claims: { email: 'zed@gmail.test', email_verified: false } } };
      const browser = new HttpBrowser(server.url);
      await browser.go((await authorizeUrl()).url.toString());
      let next = new URL(button(browser, google), server.url);
      for (let hops = 0; hops < 20 && !next.toString().startsWith(REDIRECT); hops += 1) {
        const response = await browser.request(next.toString());
        if (response.status < 300 || response.status >= 400) break;
        next = new URL(response.headers.get('location')!, next);
      }
      expect(browser.url).toContain('notice=social_email_not_verified');
    } finally {
      await mutate(ws.client, 'updateSocialConnection', 'UpdateSocialConnectionInput', 'socialConnection { id }', { id: google, issuer: idp.issuer });
      await other.close();
    }
  });
});

describe('review: callbacks and environments keep social requests apart', () => {
  /** A browser at the provider with a social sign-in of `connectionId` started: the provider URL (with the state). */
  async function atProvider(browser: HttpBrowser, connectionId: string, start?: string) {
    if (!start) {
      await browser.go((await authorizeUrl()).url.toString());
      start = button(browser, connectionId);
    }
    let next = new URL(start, server.url);
    while (next.origin !== idp.issuer) {
      const response = await browser.request(next.toString());
      expect(response.status, browser.html.slice(0, 400)).toBeGreaterThanOrEqual(300);
      next = new URL(response.headers.get('location')!, next);
    }
    return next;
  }

  it('the organization OIDC callback neither takes nor uses up a social state', async () => {
    idp.next = { account: { sub: 'google-kim', claims: { email: 'kim@gmail.test', email_verified: true } } };
    const browser = new HttpBrowser(server.url);
    const provider = await atProvider(browser, google);
    const state = provider.searchParams.get('state')!;
    await browser.request(`/e/${env}/sso/oidc/callback?state=${encodeURIComponent(state)}&code=x`);
    expect(browser.status).toBe(400);
    expect(browser.html).toContain('flow_not_found');
    // The social sign-in goes on.
    const outcome = await travel(browser, provider.toString());
    expect('redirect' in outcome, browser.html.slice(0, 500)).toBe(true);
  });

  it('a social connection of one environment is not used from another environment\'s URLs', async () => {
    const prod = ws.production.id;
    const prodIssuer = issuer.replace(env, prod);
    const app = await mutate(ws.client, 'createApplication', 'CreateApplicationInput', 'application { clientId }', { environmentId: prod, name: 'Prod portal', type: 'WEB', redirectUris: [REDIRECT] });
    const { secret } = await mutate(ws.client, 'createClientSecret', 'CreateClientSecretInput', 'secret', { clientId: app.application.clientId });
    const prodConfig = await client.discovery(new URL(prodIssuer), app.application.clientId, undefined, client.ClientSecretPost(secret), { execute: [client.allowInsecureRequests] });
    const verifier = client.randomPKCECodeVerifier();
    const browser = new HttpBrowser(server.url);
    await browser.go(client.buildAuthorizationUrl(prodConfig, { redirect_uri: REDIRECT, scope: 'openid email', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'st' }).toString());
    const prodFlow = new URL(browser.url).searchParams.get('flow')!;
    expect(prodFlow).toBeTruthy();
    // The development environment's Google button, started from production's pages.
    await browser.request(`/e/${prod}/social/${google}/start?flow=${prodFlow}`);
    expect(browser.status).toBe(404);
    expect(browser.html).toContain('social_connection_unavailable');
    // connection_id of another environment's social connection: the email page, no provider.
    const hinted = new HttpBrowser(server.url);
    const outcome = await hinted.go(client.buildAuthorizationUrl(prodConfig, { redirect_uri: REDIRECT, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'st', connection_id: google }).toString());
    expect('page' in outcome).toBe(true);
    expect(hinted.url).toContain(`/e/${prod}/sign-in?flow=`);

    // A development state brought to production's callback: nobody's request there, and it stays usable.
    idp.next = { account: { sub: 'google-lee', claims: { email: 'lee@gmail.test', email_verified: true } } };
    const dev = new HttpBrowser(server.url);
    const provider = await atProvider(dev, google);
    await dev.request(`/e/${prod}/social/callback?state=${encodeURIComponent(provider.searchParams.get('state')!)}&code=x`);
    expect(dev.html).toContain('flow_not_found');
    const finished = await travel(dev, provider.toString());
    expect('redirect' in finished, dev.html.slice(0, 500)).toBe(true);
  });

  it('the notice parameter shows only its fixed words', async () => {
    const browser = new HttpBrowser(server.url);
    await browser.go((await authorizeUrl()).url.toString());
    const page = new URL(browser.url);
    for (const notice of ['<script>alert(1)</script>', '__proto__', 'constructor', 'toString']) {
      page.searchParams.set('notice', notice);
      await browser.request(page.toString());
      expect(browser.status).toBe(200);
      expect(browser.html).not.toContain('<script>alert');
      expect(browser.html).not.toContain('role="alert"');
    }
  });
});

describe('review: a connection changed while a code is exchanged', () => {
  it('signs nobody in through a connection switched off meanwhile', async () => {
    idp.beforeToken = async () => {
      await mutate(ws.client, 'updateSocialConnection', 'UpdateSocialConnectionInput', 'socialConnection { id }', { id: microsoft, enabled: false });
    };
    try {
      const { browser, tokens } = await signInWith(microsoft, { account: { sub: 'ms-late', claims: { email: 'late@outlook.test', tid: CONSUMER_TENANT } } });
      expect(tokens).toBeNull();
      expect(browser.html).toContain('social.connection_unavailable');
      expect((await users()).map((user) => user.email)).not.toContain('late@outlook.test');
    } finally {
      idp.beforeToken = null;
      await mutate(ws.client, 'updateSocialConnection', 'UpdateSocialConnectionInput', 'socialConnection { id }', { id: microsoft, enabled: true });
    }
  });

  it('links no subject of the old provider to a connection pointed at another one meanwhile', async () => {
    const other = await UpstreamIdp.start([{ client_id: 'google-client', client_secret: SECRET, redirect_uris: [`${issuer}/social/callback`] }]);
    idp.beforeToken = async () => {
      await mutate(ws.client, 'updateSocialConnection', 'UpdateSocialConnectionInput', 'socialConnection { id }', { id: google, issuer: other.issuer });
    };
    try {
      const first = await signInWith(google, { account: { sub: 'shared-sub-7', claims: { email: 'owner7@gmail.test', email_verified: true } } });
      expect(first.tokens).toBeNull();
      // The new provider's "shared-sub-7" is someone else, with an address nobody verified.
      other.next = { account: { sub: 'shared-sub-7', claims: { email: 'stranger@evil.test', email_verified: false } } };
      const browser = new HttpBrowser(server.url);
      const { url, verifier } = await authorizeUrl();
      await browser.go(url.toString());
      let next = new URL(button(browser, google), server.url);
      let redirect: URL | null = null;
      for (let hops = 0; hops < 20; hops += 1) {
        const response = await browser.request(next.toString());
        if (response.status < 300 || response.status >= 400) break;
        next = new URL(response.headers.get('location')!, next);
        if (next.toString().startsWith(REDIRECT)) {
          redirect = next;
          break;
        }
      }
      const email = redirect ? (await client.authorizationCodeGrant(config, redirect, { pkceCodeVerifier: verifier, expectedState: 'st' })).claims()!.email : null;
      expect(email).not.toBe('owner7@gmail.test');
      expect(browser.url).toContain('notice=social_email_not_verified');
    } finally {
      idp.beforeToken = null;
      await mutate(ws.client, 'updateSocialConnection', 'UpdateSocialConnectionInput', 'socialConnection { id }', { id: google, issuer: idp.issuer });
      await other.close();
    }
  });
});

describe('in Chromium', () => {
  let browser: Browser;
  let app: http.Server;
  let appOrigin: string;
  let appConfig: client.Configuration;

  beforeAll(async () => {
    app = http.createServer((_request, response) => response.writeHead(200, { 'content-type': 'text/plain' }).end('sample app'));
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    appOrigin = `http://localhost:${(app.address() as { port: number }).port}`;
    const created = await mutate(ws.client, 'createApplication', 'CreateApplicationInput', 'application { clientId }', { environmentId: env, name: 'Sample app', type: 'WEB', redirectUris: [`${appOrigin}/callback`] });
    const { secret } = await mutate(ws.client, 'createClientSecret', 'CreateClientSecretInput', 'secret', { clientId: created.application.clientId });
    appConfig = await client.discovery(new URL(issuer), created.application.clientId, undefined, client.ClientSecretPost(secret), { execute: [client.allowInsecureRequests] });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => app.close(() => resolve()));
  });

  /** A page that records console errors and CSP violations, at the app's authorization request. */
  async function start(page: Page, problems: string[]) {
    page.on('console', (entry) => {
      if (entry.type() === 'error' && !entry.location().url.endsWith('/favicon.ico')) problems.push(entry.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(appConfig, { redirect_uri: `${appOrigin}/callback`, scope: 'openid email', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'chromium' });
    await page.goto(url.toString());
    return verifier;
  }

  it('hosted sign-in → "Continue with Google" → the provider → back at the app with a code, under the pages\' CSP', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems: string[] = [];
    idp.next = { account: { sub: 'google-chromium', claims: { email: 'chromium@gmail.test', email_verified: true } } };
    const verifier = await start(page, problems);
    await page.getByRole('link', { name: 'Continue with Google' }).click();
    await page.waitForURL((landed) => landed.toString().startsWith(appOrigin), { timeout: 10_000 });
    const tokens = await client.authorizationCodeGrant(appConfig, new URL(page.url()), { pkceCodeVerifier: verifier, expectedState: 'chromium' });
    expect(tokens.claims()).toMatchObject({ email: 'chromium@gmail.test', amr: ['social'] });
    expect(problems).toEqual([]);
    await context.close();
  });

  it('a refused sign-in\'s "Back to" button takes the browser to the app with error=access_denied (the form\'s CSP admits it)', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems: string[] = [];
    // strict.test requires SSO (an earlier test made its organization).
    idp.next = { account: { sub: 'google-chromium-strict', claims: { email: 'kim@strict.test', email_verified: true } } };
    await start(page, problems);
    await page.getByRole('link', { name: 'Continue with Google' }).click();
    await page.getByText('social.sso_required').waitFor();
    await page.getByRole('button', { name: 'Back to Sample app' }).click();
    await page.waitForURL((landed) => landed.toString().startsWith(appOrigin), { timeout: 10_000 });
    expect(Object.fromEntries(new URL(page.url()).searchParams)).toMatchObject({ error: 'access_denied', state: 'chromium', iss: issuer });
    // The refusal page is a 403, which Chromium reports; nothing else (no CSP violation, no script error).
    expect(problems).toEqual(['Failed to load resource: the server responded with a status of 403 (Forbidden)']);
    await context.close();
  });
});
