import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpBrowser } from '../helpers/browser-http.js';
import { mutate } from '../helpers/oauth.js';
import { UpstreamIdp, type UpstreamAccount } from '../helpers/oidc-idp.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

const REDIRECT = 'http://localhost:3000/callback';
const FAILURES = `query($env: ID, $target: ID) { auditEvents(environmentId: $env, first: 10, filter: { actions: ["sso.signin_failed"], targetId: $target }) { nodes { after } } }`;
const USERS = `query($env: ID) { users(environmentId: $env, first: 100) { nodes { email } } }`;

let server: TestServer;
let ws: TestWorkspace;
let env: string;
let organizationId: string;
let idp: UpstreamIdp;
let connectionId: string;
let config: client.Configuration;

const alice: UpstreamAccount = { sub: 'okta-00u1alice', claims: { email: 'alice@acme.test', email_verified: true, given_name: 'Alice', family_name: 'Liddell' } };

beforeAll(async () => {
  // The upstream provider listens on loopback: outbound requests to private addresses are allowed, as in development.
  server = await startServer({ allowPrivateTargets: true });
  ws = await server.workspace('OIDC sign-in');
  env = ws.development.id;
  const issuer = (await ws.client.data(`query($id: ID!) { environment(id: $id) { issuer } }`, { id: env })).environment.issuer;
  organizationId = (await mutate(ws.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId: env, name: 'Acme', domains: [{ domain: 'acme.test', state: 'VERIFIED' }] }))
    .organization.id;
  const redirectUri = `${issuer}/sso/oidc/callback`;
  idp = await UpstreamIdp.start([
    { client_id: 'gatehouse', client_secret: 'upstream-secret-0123456789abcdef', redirect_uris: [redirectUri] },
    { client_id: 'gatehouse-post', client_secret: 'upstream-secret-post-0123456789', redirect_uris: [redirectUri], token_endpoint_auth_method: 'client_secret_post' },
    { client_id: 'gatehouse-guests', client_secret: 'upstream-secret-guests-0123456789', redirect_uris: [redirectUri] },
  ]);
  const created = await mutate(ws.client, 'createOidcConnection', 'CreateOidcConnectionInput', 'ssoConnection { id oidc { redirectUri } }', {
    organizationId,
    name: 'Acme Okta',
    provider: 'OKTA',
    status: 'ACTIVE',
    issuer: idp.issuer,
    clientId: 'gatehouse',
    clientSecret: 'upstream-secret-0123456789abcdef',
  });
  connectionId = created.ssoConnection.id;
  expect(created.ssoConnection.oidc.redirectUri).toBe(redirectUri);
  const app = await mutate(ws.client, 'createApplication', 'CreateApplicationInput', 'application { clientId }', { environmentId: env, name: 'Portal', type: 'WEB', redirectUris: [REDIRECT] });
  const { secret } = await mutate(ws.client, 'createClientSecret', 'CreateClientSecretInput', 'secret', { clientId: app.application.clientId });
  config = await client.discovery(new URL(issuer), app.application.clientId, undefined, client.ClientSecretPost(secret), { execute: [client.allowInsecureRequests] });
});
afterAll(async () => {
  await idp?.close();
  await server.close();
});

/** The app's authorization request, with PKCE and routing hints. */
async function authorizeUrl(extra: Record<string, string> = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid email profile', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'st', ...extra });
  return { url, verifier };
}

/**
 * Follows redirects through Gatehouse and the upstream provider (one cookie jar, as a browser
 * on one host) until a page, or a redirect to neither: the application's.
 */
let visited: string[] = [];
async function travel(browser: HttpBrowser, start: string): Promise<{ page: string } | { redirect: URL }> {
  let next = new URL(start, server.url);
  visited = [];
  for (let hops = 0; hops < 20; hops += 1) {
    visited.push(next.toString());
    const response = await browser.request(next.toString());
    if (response.status < 300 || response.status >= 400) return { page: browser.html };
    const location = new URL(response.headers.get('location')!, next);
    if (location.origin !== new URL(server.url).origin && location.origin !== idp.issuer) return { redirect: location };
    next = location;
  }
  throw new Error('too many redirects');
}

/** Stops at the upstream provider's authorization endpoint, with the request Gatehouse sent there. */
async function toProvider(browser: HttpBrowser, start: string): Promise<URL> {
  let next = new URL(start, server.url);
  for (let hops = 0; hops < 10; hops += 1) {
    const response = await browser.request(next.toString());
    expect(response.status, browser.html.slice(0, 500)).toBeGreaterThanOrEqual(300);
    next = new URL(response.headers.get('location')!, next);
    if (next.origin === idp.issuer) return next;
  }
  throw new Error('never reached the provider');
}

describe('sign-in through an organization\'s OpenID Provider', () => {
  it('goes to the provider with PKCE, state and nonce, and the app gets tokens for a member of the organization', async () => {
    idp.next = { account: alice };
    const browser = new HttpBrowser(server.url);
    const { url, verifier } = await authorizeUrl({ connection_id: connectionId });
    const atProvider = await toProvider(browser, url.toString());
    expect(atProvider.pathname).toBe('/auth');
    expect(atProvider.searchParams.get('code_challenge_method')).toBe('S256');
    expect(atProvider.searchParams.get('nonce')).toBeTruthy();
    expect(atProvider.searchParams.get('scope')!.split(' ').sort()).toEqual(['email', 'openid', 'profile']);
    const back = await travel(browser, atProvider.toString());
    expect('redirect' in back, browser.html.slice(0, 800)).toBe(true);
    const redirect = (back as { redirect: URL }).redirect;
    const tokens = await client.authorizationCodeGrant(config, redirect, { pkceCodeVerifier: verifier, expectedState: 'st' });
    // oidc-provider puts email and names in userinfo, not the ID token: they were fetched from there.
    expect(tokens.claims()).toMatchObject({ email: 'alice@acme.test', email_verified: true, given_name: 'Alice', family_name: 'Liddell', org_id: organizationId, roles: ['member'], amr: ['sso'] });
    // The claims as the provider sent them are kept on the user's identity.
    const { user } = await ws.client.data(`query($id: ID!) { user(id: $id) { identities { kind connectionId subject rawAttributes } } }`, { id: tokens.claims()!.sub });
    expect(user.identities).toEqual([{ kind: 'SSO', connectionId, subject: 'okta-00u1alice', rawAttributes: expect.objectContaining({ email: ['alice@acme.test'], given_name: ['Alice'] }) }]);
    expect(idp.authorizations.at(-1)!.get('redirect_uri')).toBe(`${(await ws.client.data(`query($id: ID!) { environment(id: $id) { issuer } }`, { id: env })).environment.issuer}/sso/oidc/callback`);

    // The same callback again, in the same browser: the state was used.
    await browser.request(visited.find((url) => url.includes('/sso/oidc/callback?'))!);
    expect(browser.status).toBe(400);
  });

  it('finds the connection from the address typed on the email page, and passes it to the provider as login_hint', async () => {
    idp.next = { account: { sub: 'okta-00u1bob', claims: { email: 'bob@acme.test', email_verified: true } } };
    const browser = new HttpBrowser(server.url);
    const { url, verifier } = await authorizeUrl();
    await browser.go(url.toString());
    const { fields } = browser.form('/sign-in/email');
    const sent = await browser.request(`/e/${env}/sign-in/email`, { form: { ...fields, email: 'bob@acme.test' } });
    const atProvider = await toProvider(browser, new URL(sent.headers.get('location')!, server.url).toString());
    expect(atProvider.searchParams.get('login_hint')).toBe('bob@acme.test');
    const back = (await travel(browser, atProvider.toString())) as { redirect: URL };
    const tokens = await client.authorizationCodeGrant(config, back.redirect, { pkceCodeVerifier: verifier, expectedState: 'st' });
    expect(tokens.claims()).toMatchObject({ email: 'bob@acme.test', org_id: organizationId });
  });

  it('signs in only the browser whose flow the state belongs to, once', async () => {
    idp.next = { account: { sub: 'okta-00u1victim', claims: { email: 'victim@acme.test', email_verified: true } } };
    // The attacker starts a flow and sends the provider link to a victim, who is signed in there.
    const attacker = new HttpBrowser(server.url);
    const atProvider = await toProvider(attacker, (await authorizeUrl({ connection_id: connectionId })).url.toString());
    const victim = new HttpBrowser(server.url);
    const landed = await travel(victim, atProvider.toString());
    expect('page' in landed).toBe(true);
    expect(victim.html).toContain('flow_not_found');
    // Should the victim's callback URL (code and state) reach the attacker, it is used up: it signs nobody in.
    await attacker.request(victim.url);
    expect(attacker.status).toBe(400);
    expect(attacker.html).toContain('sso.replayed');
    expect((await ws.client.data(USERS, { env })).users.nodes.map((u: { email: string }) => u.email)).not.toContain('victim@acme.test');

    // A state nobody issued, and none at all.
    const stranger = new HttpBrowser(server.url);
    await stranger.request(`/e/${env}/sso/oidc/callback?state=made-up&code=x`);
    expect(stranger.status).toBe(400);
    expect(stranger.html).toContain('flow_not_found');
    await stranger.request(`/e/${env}/sso/oidc/callback`);
    expect(stranger.html).toContain('flow_not_found');
  });

  it('refuses an address outside the verified domains, an unverified address, and a provider\'s refusal, each audited', async () => {
    const attempt = async (next: typeof idp.next) => {
      idp.next = next;
      const browser = new HttpBrowser(server.url);
      await travel(browser, (await authorizeUrl({ connection_id: connectionId })).url.toString());
      return browser;
    };
    const guest = await attempt({ account: { sub: 'okta-00u1mallory', claims: { email: 'mallory@evil.test', email_verified: true } } });
    expect(guest.status).toBe(400);
    expect(guest.html).toContain('sso.domain_not_allowed');
    // The page leads back to the application, which gets error=access_denied for its request.
    const back = (await guest.submit('/sign-in/abandon')) as { redirect: URL };
    expect(back.redirect?.toString().startsWith(REDIRECT), guest.html.slice(0, 400)).toBe(true);
    expect(Object.fromEntries(back.redirect.searchParams)).toMatchObject({ error: 'access_denied', state: 'st' });
    const unverified = await attempt({ account: { sub: 'okta-00u1dave', claims: { email: 'dave@acme.test', email_verified: false } } });
    expect(unverified.html).toContain('sso.email_not_verified');
    const refused = await attempt({ error: 'access_denied', description: 'User is not assigned to the client application.' });
    expect(refused.html).toContain('sso.idp_error');
    const noEmail = await attempt({ account: { sub: 'okta-00u1noemail', claims: {} } });
    expect(noEmail.html).toContain('sso.no_email');

    const reasons = (await ws.client.data(FAILURES, { env, target: connectionId })).auditEvents.nodes.map((event: { after: { reason: string } }) => event.after.reason);
    expect(reasons).toEqual(expect.arrayContaining(['domain_not_allowed', 'email_not_verified', 'idp_error', 'no_email']));
    // The provider's words arrive in a URL any browser can write: the audit trail keeps the reason only, the trace the text, marked.
    const idpError = (await ws.client.data(FAILURES, { env, target: connectionId })).auditEvents.nodes.find((event: { after: { reason: string } }) => event.after.reason === 'idp_error');
    expect(idpError.after.detail).toBeUndefined();
    const traced = (await ws.client.data(`query($con: ID) { ssoTraces(connectionId: $con, first: 50, filter: { outcome: FAILED }) { nodes { reason detail } } }`, { con: connectionId })).ssoTraces.nodes;
    expect(traced.find((trace: { reason: string }) => trace.reason === 'idp_error').detail).toMatch(/User is not assigned to the client application\..*as the browser brought it back/);
    const emails = (await ws.client.data(USERS, { env })).users.nodes.map((u: { email: string }) => u.email);
    expect(emails).not.toContain('mallory@evil.test');
    expect(emails).not.toContain('dave@acme.test');
  });

  it('authenticates with client_secret_post where the provider asks for it, and reports a wrong secret as a failed exchange', async () => {
    // A provider that takes only client_secret_post at its token endpoint.
    const post = await mutate(ws.client, 'createOidcConnection', 'CreateOidcConnectionInput', 'ssoConnection { id }', {
      organizationId,
      name: 'Acme (post)',
      status: 'ACTIVE',
      issuer: idp.issuer,
      clientId: 'gatehouse-post',
      clientSecret: 'upstream-secret-post-0123456789',
    });
    idp.next = { account: alice };
    const ok = new HttpBrowser(server.url);
    const { url, verifier } = await authorizeUrl({ connection_id: post.ssoConnection.id });
    const back = (await travel(ok, url.toString())) as { redirect: URL };
    expect(back.redirect, ok.html.slice(0, 600)).toBeDefined();
    expect((await client.authorizationCodeGrant(config, back.redirect, { pkceCodeVerifier: verifier, expectedState: 'st' })).claims()).toMatchObject({ email: 'alice@acme.test' });

    await mutate(ws.client, 'updateOidcConnection', 'UpdateOidcConnectionInput', 'ssoConnection { id }', { id: post.ssoConnection.id, clientSecret: 'not-the-secret-0123456789abcdef' });
    const wrong = new HttpBrowser(server.url);
    await travel(wrong, (await authorizeUrl({ connection_id: post.ssoConnection.id })).url.toString());
    expect(wrong.status).toBe(400);
    expect(wrong.html).toContain('sso.token_exchange');
    const failure = (await ws.client.data(FAILURES, { env, target: post.ssoConnection.id })).auditEvents.nodes[0];
    expect(failure.after.reason).toBe('token_exchange');
    expect(JSON.stringify(failure)).not.toContain('not-the-secret');
  });

  it('stops speaking for a guest once the address\'s owner proves it: no account kept by the IdP that created it first', async () => {
    // Another organization, whose IdP admits guests, vouches first for an address of Acme's domain.
    const other = (await mutate(ws.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId: env, name: 'Contractors', domains: [{ domain: 'contractors.test', state: 'VERIFIED' }] })).organization.id;
    const guests = await mutate(ws.client, 'createOidcConnection', 'CreateOidcConnectionInput', 'ssoConnection { id }', {
      organizationId: other,
      name: 'Contractors IdP',
      status: 'ACTIVE',
      allowGuestDomains: true,
      issuer: idp.issuer,
      clientId: 'gatehouse-guests',
      clientSecret: 'upstream-secret-guests-0123456789',
    });
    const through = async (connection: string, account: UpstreamAccount) => {
      idp.next = { account };
      const browser = new HttpBrowser(server.url);
      const { url, verifier } = await authorizeUrl({ connection_id: connection });
      const back = await travel(browser, url.toString());
      return { browser, back, verifier };
    };
    const early = await through(guests.ssoConnection.id, { sub: 'evil-1', claims: { email: 'ceo@acme.test' } });
    expect("redirect" in early.back, early.browser.html.slice(-700)).toBe(true);
    const earlyTokens = await client.authorizationCodeGrant(config, (early.back as { redirect: URL }).redirect, { pkceCodeVerifier: early.verifier, expectedState: 'st' });
    expect(earlyTokens.claims()).toMatchObject({ email: 'ceo@acme.test', email_verified: false, org_id: other });
    // The CEO signs in through Acme's own IdP: the same account, now proven; the guest IdP's session ends.
    const owner = await through(connectionId, { sub: 'okta-00u1ceo', claims: { email: 'ceo@acme.test', email_verified: true } });
    expect("redirect" in owner.back, owner.browser.html.slice(-600)).toBe(true);
    const ownerTokens = await client.authorizationCodeGrant(config, (owner.back as { redirect: URL }).redirect, { pkceCodeVerifier: owner.verifier, expectedState: 'st' });
    expect(ownerTokens.claims()).toMatchObject({ sub: earlyTokens.claims()!.sub, email_verified: true, org_id: organizationId });
    const sessions = await ws.client.data(`query($env: ID, $user: ID) { sessions(environmentId: $env, first: 10, filter: { userId: $user, activeOnly: false }) { nodes { active authenticationMethods endReason } } }`, {
      env,
      user: earlyTokens.claims()!.sub,
    });
    // Two sessions: the guest IdP's, ended when the address was proven, and the owner's.
    expect(sessions.sessions.nodes.map((session: { active: boolean; endReason: string | null }) => [session.active, session.endReason]).sort()).toEqual([
      [false, 'REVOKED'],
      [true, null],
    ]);
    // The guest IdP sends the same subject again: refused.
    const again = await through(guests.ssoConnection.id, { sub: 'evil-1', claims: { email: 'whoever@elsewhere.test' } });
    expect(again.browser.status).toBe(403);
    expect(again.browser.html).toContain('guest_email_taken');
  });

  it('refuses a provider it cannot discover, and never fetches from a private address unless allowed', async () => {
    const unreachable = await mutate(ws.client, 'createOidcConnection', 'CreateOidcConnectionInput', 'ssoConnection { id }', {
      organizationId,
      name: 'Gone',
      status: 'ACTIVE',
      issuer: 'http://127.0.0.1:9',
      clientId: 'x',
      clientSecret: 'secret-0123456789abcdef',
    });
    const browser = new HttpBrowser(server.url);
    await travel(browser, (await authorizeUrl({ connection_id: unreachable.ssoConnection.id })).url.toString());
    expect(browser.status).toBe(400);
    expect(browser.html).toContain('sso.discovery_failed');

    // A server as deployed (private targets refused) does not even try the loopback provider.
    const guarded = await startServer();
    try {
      const other = await guarded.workspace('OIDC guarded');
      const org = (await mutate(other.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId: other.development.id, name: 'Acme' })).organization.id;
      const con = await mutate(other.client, 'createOidcConnection', 'CreateOidcConnectionInput', 'ssoConnection { id }', {
        organizationId: org,
        name: 'Loopback',
        status: 'ACTIVE',
        issuer: idp.issuer,
        clientId: 'gatehouse',
        clientSecret: 'upstream-secret-0123456789abcdef',
      });
      const app = await mutate(other.client, 'createApplication', 'CreateApplicationInput', 'application { clientId }', { environmentId: other.development.id, name: 'App', type: 'WEB', redirectUris: [REDIRECT] });
      const issuer = (await other.client.data(`query($id: ID!) { environment(id: $id) { issuer } }`, { id: other.development.id })).environment.issuer;
      const otherConfig = await client.discovery(new URL(issuer), app.application.clientId, undefined, client.None(), { execute: [client.allowInsecureRequests] });
      const url = client.buildAuthorizationUrl(otherConfig, { redirect_uri: REDIRECT, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256', connection_id: con.ssoConnection.id });
      const seen = idp.authorizations.length;
      const guardedBrowser = new HttpBrowser(guarded.url);
      await guardedBrowser.go(url.toString());
      expect(guardedBrowser.status).toBe(400);
      expect(guardedBrowser.html).toContain('sso.discovery_failed');
      expect(idp.authorizations.length).toBe(seen);
    } finally {
      await guarded.close();
    }
  });
});

describe('sign-in traces of an OIDC connection', () => {
  const TRACES = `query($con: ID) { ssoTraces(connectionId: $con, first: 50) { nodes { outcome reason detail email profile steps { step ok detail } } } }`;

  it('keeps the claims (not the tokens), the steps, and why an attempt failed', async () => {
    idp.next = { account: { sub: 'okta-00u1trace', claims: { email: 'trace@acme.test', email_verified: true, groups: ['Engineering'] } } };
    const browser = new HttpBrowser(server.url);
    const { url, verifier } = await authorizeUrl({ connection_id: connectionId, scope: 'openid email profile' });
    const back = (await travel(browser, url.toString())) as { redirect: URL };
    await client.authorizationCodeGrant(config, back.redirect, { pkceCodeVerifier: verifier, expectedState: 'st' });
    const traces = (await ws.client.data(TRACES, { con: connectionId })).ssoTraces.nodes;
    const succeeded = traces.find((trace: { email: string | null }) => trace.email === 'trace@acme.test');
    expect(succeeded.outcome).toBe('SUCCEEDED');
    expect(succeeded.steps.map((step: { step: string }) => step.step)).toEqual(['request_sent', 'code_exchanged', 'signed_in']);
    expect(succeeded.profile).toMatchObject({ sub: 'okta-00u1trace', email: 'trace@acme.test', iss: idp.issuer });
    expect(succeeded.profile).not.toHaveProperty('nonce');
    expect(JSON.stringify(succeeded)).not.toMatch(/eyJ[\w-]+\.eyJ/);

    const reasons = traces.filter((trace: { outcome: string }) => trace.outcome === 'FAILED').map((trace: { reason: string }) => trace.reason);
    expect(reasons).toEqual(expect.arrayContaining(['domain_not_allowed', 'idp_error', 'flow_not_found', 'replayed']));
  });
});
