import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemFork } from '../../src/db/tenant-scope.js';
import { PushedAuthorizationRequest } from '../../src/modules/sign-in/flow.entity.js';
import { WRONG_CODE_LIMITS } from '../../src/modules/sign-in/challenge.service.js';
import { HttpBrowser } from '../helpers/browser-http.js';
import { API, mutate } from '../helpers/oauth.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

/**
 * What the security review of the sign-in found, each as the attack it describes: every test
 * here failed against the first version of the hosted sign-in.
 */
const REDIRECT = 'http://localhost:3000/callback';
const OUTBOX = `query($env: ID) { developmentOutbox(environmentId: $env, first: 1) { nodes { recipient text } } }`;
const DOCUMENT_URL = 'https://agent.example.test/client.json';

let server: TestServer;
let ws: TestWorkspace;
let env: string;
let issuer: string;

const outside: typeof fetch = async (input) => {
  const url = String(input instanceof Request ? input.url : input);
  if (url !== DOCUMENT_URL) return new Response('not found', { status: 404 });
  return Response.json({ client_id: DOCUMENT_URL, client_name: 'Agent', redirect_uris: ['https://evil.example/cb'], token_endpoint_auth_method: 'none' });
};

async function webApp(environmentId = env, input: Record<string, unknown> = {}, workspace = ws) {
  const created = await mutate(workspace.client, 'createApplication', 'CreateApplicationInput', 'application { clientId }', { environmentId, name: 'App', type: 'WEB', redirectUris: [REDIRECT], ...input });
  const clientId = created.application.clientId as string;
  const secret = (await mutate(workspace.client, 'createClientSecret', 'CreateClientSecretInput', 'secret', { clientId })).secret as string;
  return { clientId, secret };
}

const configOf = (app: { clientId: string; secret: string }, iss = issuer) =>
  client.discovery(new URL(iss), app.clientId, undefined, client.ClientSecretPost(app.secret), { execute: [client.allowInsecureRequests] });

async function authorizeUrl(config: client.Configuration, extra: Record<string, string> = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid offline_access', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra });
  return { url, verifier };
}

/** Signs in by code when the browser shows the email page; returns where it ends. */
async function through(browser: HttpBrowser, url: URL, email: string) {
  let result = await browser.go(url.toString());
  if ('page' in result && browser.html.includes('Email address')) {
    await browser.submit('/sign-in/email', { email });
    const [message] = (await ws.client.data(OUTBOX, { env })).developmentOutbox.nodes;
    result = await browser.submit('/sign-in/code', { code: /code is (\d{6})/.exec(message.text)![1] });
  }
  return result;
}

beforeAll(async () => {
  server = await startServer({}, { outboundFetch: outside });
  ws = await server.workspace('Hardening');
  env = ws.development.id;
  issuer = (await ws.client.data(`query($id: ID!) { environment(id: $id) { issuer } }`, { id: env })).environment.issuer;
  await mutate(ws.client, 'createResourceServer', 'CreateResourceServerInput', 'resourceServer { id }', { environmentId: env, name: 'API', identifier: API, scopes: [{ name: 'read' }] });
});
afterAll(() => server.close());

describe('the sign-in code', () => {
  it('cannot be guessed across many codes: past the daily wrong-code budget no new code is sent to that client', async () => {
    const app = await webApp();
    const config = await configOf(app);
    const email = 'guess-target@example.com';
    let sent = 0;
    for (let round = 0; round * 5 < WRONG_CODE_LIMITS.perEmailFromIp; round += 1) {
      // Each round from a new browser (of one client address), five wrong guesses each.
      const browser = new HttpBrowser(server.url);
      await browser.go((await authorizeUrl(config)).url.toString());
      await browser.submit('/sign-in/email', { email });
      if (!browser.html.includes('Check your email')) break;
      sent += 1;
      const [message] = (await ws.client.data(OUTBOX, { env })).developmentOutbox.nodes;
      const right = /code is (\d{6})/.exec(message.text)![1];
      const { fields } = browser.form('/sign-in/code');
      for (let guess = 0; guess < 5; guess += 1) await browser.go(`/e/${env}/sign-in/code`, { form: { ...fields, code: right === '000000' ? '111111' : '000000' } });
      if (round === 0) expect(sent).toBe(1);
    }
    const browser = new HttpBrowser(server.url);
    await browser.go((await authorizeUrl(config)).url.toString());
    await browser.submit('/sign-in/email', { email });
    expect(browser.status).toBe(429);
    expect(browser.html).toContain('Too many');
  });
});

describe('self-registered clients', () => {
  beforeAll(async () => {
    await mutate(ws.client, 'updateClientRegistrationPolicy', 'UpdateClientRegistrationPolicyInput', 'environment { id }', { environmentId: env, policy: 'OPEN', registrationScopes: ['read'] });
  });

  it('are no open redirector: their errors are pages, not redirects to whatever they registered', async () => {
    const browser = new HttpBrowser(server.url);
    const url = new URL(`${issuer}/oauth/authorize`);
    url.search = new URLSearchParams({ client_id: DOCUMENT_URL, redirect_uri: 'https://evil.example/cb', response_type: 'token', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' }).toString();
    const result = await browser.go(url.toString());
    expect('page' in result).toBe(true);
    expect(browser.status).toBe(400);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('prompt', 'none');
    const silent = await browser.go(url.toString());
    expect('page' in silent).toBe(true);
  });

  it('are one client per environment: a second environment using the same document is not locked out', async () => {
    const other = await server.workspace('Other');
    const otherEnv = other.development.id;
    await mutate(other.client, 'updateClientRegistrationPolicy', 'UpdateClientRegistrationPolicyInput', 'environment { id }', { environmentId: otherEnv, policy: 'OPEN' });
    const otherIssuer = (await other.client.data(`query($id: ID!) { environment(id: $id) { issuer } }`, { id: otherEnv })).environment.issuer;
    const browser = new HttpBrowser(server.url);
    for (const iss of [issuer, otherIssuer, issuer]) {
      const url = new URL(`${iss}/oauth/authorize`);
      url.search = new URLSearchParams({ client_id: DOCUMENT_URL, redirect_uri: 'https://evil.example/cb', response_type: 'code', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' }).toString();
      await browser.go(url.toString());
      expect(browser.status, iss).toBe(200);
      expect(browser.html).toContain('Email address');
    }
  });
});

describe('logout and re-authentication', () => {
  it('a cross-site POST to logout (no cookies) is turned into a navigation that signs out', async () => {
    const app = await webApp();
    const config = await configOf(app);
    const browser = new HttpBrowser(server.url);
    const { url, verifier } = await authorizeUrl(config);
    const done = (await through(browser, url, 'posted-logout@example.com')) as { redirect: URL };
    const tokens = await client.authorizationCodeGrant(config, done.redirect, { pkceCodeVerifier: verifier });
    // The RP's form posts from another site: SameSite=Lax keeps the cookies out of the POST.
    const posted = await fetch(`${issuer}/oauth/logout`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ id_token_hint: tokens.id_token! }),
    });
    expect(posted.status).toBe(303);
    // The browser follows the redirect as a top-level GET, with its cookies.
    await browser.go(posted.headers.get('location')!);
    expect(browser.html).toContain('You are signed out');
    expect((await client.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
  });

  it('signing in again as the same person keeps the session, and the other apps their refresh tokens', async () => {
    const first = await configOf(await webApp());
    const second = await configOf(await webApp());
    const browser = new HttpBrowser(server.url);
    const a = await authorizeUrl(first);
    const aDone = (await through(browser, a.url, 'again@example.com')) as { redirect: URL };
    const aTokens = await client.authorizationCodeGrant(first, aDone.redirect, { pkceCodeVerifier: a.verifier });
    const b = await authorizeUrl(second, { prompt: 'login', max_age: '0' });
    const bDone = (await through(browser, b.url, 'again@example.com')) as { redirect: URL };
    const bTokens = await client.authorizationCodeGrant(second, bDone.redirect, { pkceCodeVerifier: b.verifier });
    expect(bTokens.claims()!.sid).toBe(aTokens.claims()!.sid);
    expect((await client.refreshTokenGrant(first, aTokens.refresh_token!)).access_token).toBeTruthy();
  });
});

describe('grants', () => {
  it('a refresh refused for a wider scope does not use the token up', async () => {
    const config = await configOf(await webApp());
    const { url, verifier } = await authorizeUrl(config);
    const done = (await through(new HttpBrowser(server.url), url, 'widen@example.com')) as { redirect: URL };
    const tokens = await client.authorizationCodeGrant(config, done.redirect, { pkceCodeVerifier: verifier });
    await expect(client.refreshTokenGrant(config, tokens.refresh_token!, { scope: 'openid offline_access email' })).rejects.toMatchObject({ error: 'invalid_scope' });
    expect((await client.refreshTokenGrant(config, tokens.refresh_token!)).refresh_token).toBeTruthy();
  });

  it('a pushed request keeps no client credentials', async () => {
    const app = await webApp();
    const config = await configOf(app);
    await client.buildAuthorizationUrlWithPAR(config, { redirect_uri: REDIRECT, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256' });
    const rows = await systemFork(server.database.db.orm, 'test: reads pushed requests').find(PushedAuthorizationRequest, { clientId: app.clientId });
    expect(rows).toHaveLength(1);
    expect(Object.keys(rows[0].params)).not.toContain('client_secret');
    expect(JSON.stringify(rows[0].params)).not.toContain(app.secret);
  });

  it('an application people sign in to cannot introspect another application’s tokens', async () => {
    const owner = await configOf(await webApp(env, { allowedAudiences: [API], allowedScopes: ['read'] }));
    const nosy = await configOf(await webApp(env, { allowedAudiences: [API] }));
    const { url, verifier } = await authorizeUrl(owner, { scope: 'openid read', resource: API });
    const done = (await through(new HttpBrowser(server.url), url, 'introspected@example.com')) as { redirect: URL };
    const tokens = await client.authorizationCodeGrant(owner, done.redirect, { pkceCodeVerifier: verifier });
    expect((await client.tokenIntrospection(owner, tokens.access_token)).active).toBe(true);
    expect((await client.tokenIntrospection(nosy, tokens.access_token)).active).toBe(false);
  });
});

describe('consent of third-party applications', () => {
  it('is asked before anything about organizations is revealed, and again for another organization', async () => {
    const user = await mutate(ws.client, 'createUser', 'CreateUserInput', 'user { id }', { environmentId: env, email: 'orgs-consent@example.com' });
    const orgs: string[] = [];
    for (const name of ['North', 'South']) {
      const org = await mutate(ws.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId: env, name });
      await mutate(ws.client, 'createMembership', 'CreateMembershipInput', 'membership { id }', { organizationId: org.organization.id, userId: user.user.id });
      orgs.push(org.organization.id);
    }
    const stranger = await mutate(ws.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId: env, name: 'Stranger' });
    const thirdParty = await configOf(await webApp(env, { firstParty: false }));
    const browser = new HttpBrowser(server.url);
    // Signed in (through a first-party app), the third party probes silently: only consent_required, whatever the organization.
    const firstParty = await configOf(await webApp());
    await through(browser, (await authorizeUrl(firstParty, { organization_id: orgs[0] })).url, 'orgs-consent@example.com');
    for (const organization of [orgs[0], stranger.organization.id]) {
      const probe = (await browser.go((await authorizeUrl(thirdParty, { prompt: 'none', organization_id: organization })).url.toString())) as { redirect: URL };
      expect(probe.redirect.searchParams.get('error')).toBe('consent_required');
    }
    // Consent for North does not cover South.
    await browser.go((await authorizeUrl(thirdParty, { organization_id: orgs[0] })).url.toString());
    expect(browser.html).toContain('Allow App?');
    await browser.submit('/sign-in/consent', { decision: 'allow' });
    const north = (await browser.go((await authorizeUrl(thirdParty, { prompt: 'none', organization_id: orgs[0] })).url.toString())) as { redirect: URL };
    expect(north.redirect.searchParams.get('code')).toBeTruthy();
    const south = (await browser.go((await authorizeUrl(thirdParty, { prompt: 'none', organization_id: orgs[1] })).url.toString())) as { redirect: URL };
    expect(south.redirect.searchParams.get('error')).toBe('consent_required');
  });
});

describe('malformed input', () => {
  it('a query string with a NUL is a 400 page, not a server error', async () => {
    const browser = new HttpBrowser(server.url);
    await browser.go(`/e/${env}/oauth/authorize?client_id=x&state=%00`);
    expect(browser.status).toBe(400);
    expect(browser.html).toContain('malformed_query');
  });
});
