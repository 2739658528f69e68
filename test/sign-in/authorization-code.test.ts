import http from 'node:http';
import * as client from 'openid-client';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENDED_SESSION_KEEP_MS, pruneSignInState } from '../../src/http/oauth/housekeeping.js';
import { systemFork } from '../../src/db/tenant-scope.js';
import { LogoutNotice } from '../../src/modules/session/logout-notice.entity.js';
import { UserSession } from '../../src/modules/session/session.entity.js';
import { AuthorizationCode, RefreshToken } from '../../src/modules/user-token/user-token.entity.js';
import { HttpBrowser } from '../helpers/browser-http.js';
import { API, mutate } from '../helpers/oauth.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

const REDIRECT = 'http://localhost:3000/callback';
const OUTBOX = `query($env: ID) { developmentOutbox(environmentId: $env, first: 1) { nodes { recipient subject text } } }`;

let server: TestServer;
let ws: TestWorkspace;
let env: string;
let issuer: string;
let web: { clientId: string; secret: string };

async function createApp(input: Record<string, unknown>) {
  const created = await mutate(ws.client, 'createApplication', 'CreateApplicationInput', 'application { id clientId }', { environmentId: env, ...input });
  return created.application.clientId as string;
}

async function webConfig(clientId = web.clientId, secret = web.secret) {
  const config = await client.discovery(new URL(issuer), clientId, undefined, client.ClientSecretPost(secret), { execute: [client.allowInsecureRequests] });
  return config;
}

/** The newest message of the development outbox: its code and link. */
async function lastMail(to: string) {
  const [message] = (await ws.client.data(OUTBOX, { env })).developmentOutbox.nodes;
  expect(message.recipient).toBe(to);
  return { code: /code is (\d{6})/.exec(message.text)![1], link: /(http\S+\/sign-in\/link\?token=\S+)/.exec(message.text)![1], subject: message.subject as string };
}

/** Signs `email` in through the hosted pages, from the authorization URL to the redirect back. */
async function signIn(browser: HttpBrowser, authorizationUrl: URL, email: string, by: 'code' | 'link' = 'code') {
  const first = await browser.go(authorizationUrl.toString());
  if ('redirect' in first) return first.redirect;
  await browser.submit('/sign-in/email', { email });
  expect(browser.html).toContain('Check your email');
  const mail = await lastMail(email);
  let result;
  if (by === 'code') {
    result = await browser.submit('/sign-in/code', { code: mail.code });
  } else {
    await browser.go(mail.link);
    result = await browser.submit('/sign-in/link');
  }
  return result;
}

beforeAll(async () => {
  // The back-channel logout receiver listens on loopback.
  // Back-channel logout retries within the test: 0.3 s apart (the worker wakes itself when one falls due).
  server = await startServer({ allowPrivateTargets: true, backchannelLogoutRetrySchedule: [0.3, 0.3] });
  ws = await server.workspace('Sign-in');
  env = ws.development.id;
  issuer = (await ws.client.data(`query($id: ID!) { environment(id: $id) { issuer } }`, { id: env })).environment.issuer;
  await mutate(ws.client, 'createResourceServer', 'CreateResourceServerInput', 'resourceServer { id }', {
    environmentId: env,
    name: 'Example API',
    identifier: API,
    scopes: [{ name: 'read', description: 'Read your things' }],
  });
  const clientId = await createApp({ name: 'Dashboard', type: 'WEB', redirectUris: [REDIRECT], allowedAudiences: [API], allowedScopes: ['read'] });
  const secret = await mutate(ws.client, 'createClientSecret', 'CreateClientSecretInput', 'secret', { clientId });
  web = { clientId, secret: secret.secret };
});
afterAll(() => server.close());

describe('a web application signs a person in (openid-client as the app)', () => {
  it('discovers a complete OpenID Provider', async () => {
    const config = await webConfig();
    const metadata = config.serverMetadata();
    expect(metadata).toMatchObject({
      issuer,
      authorization_endpoint: `${issuer}/oauth/authorize`,
      userinfo_endpoint: `${issuer}/oauth/userinfo`,
      pushed_authorization_request_endpoint: `${issuer}/oauth/par`,
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
      id_token_signing_alg_values_supported: ['ES256'],
    });
    expect(metadata.grant_types_supported).toEqual(expect.arrayContaining(['authorization_code', 'refresh_token']));
  });

  it('by a mailed code: signs up, gets an ID token with the nonce, userinfo, and rotating refresh tokens', async () => {
    const config = await webConfig();
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid email profile offline_access',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    const browser = new HttpBrowser(server.url);
    const back = await signIn(browser, url, 'ada@example.com');
    expect('redirect' in (back as object) ? (back as { redirect: URL }).redirect.origin : (back as URL).origin).toBeDefined();
    const callback = back instanceof URL ? back : (back as { redirect: URL }).redirect;
    expect(callback.origin + callback.pathname).toBe(REDIRECT);
    expect(callback.searchParams.get('iss')).toBe(issuer);
    expect(callback.searchParams.get('state')).toBe(state);

    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
    const claims = tokens.claims()!;
    expect(claims).toMatchObject({ iss: issuer, aud: web.clientId, nonce, email: 'ada@example.com', email_verified: true, amr: ['otp'] });
    expect(claims.sub).toMatch(/^usr_/);
    expect(claims.sid).toMatch(/^ses_/);
    expect(typeof claims.auth_time).toBe('number');
    expect(tokens.refresh_token).toBeTruthy();

    const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    expect(info).toMatchObject({ sub: claims.sub, email: 'ada@example.com', email_verified: true });

    // Rotation: the new refresh token works, the old one revokes the family when it comes back.
    const rotated = await client.refreshTokenGrant(config, tokens.refresh_token!);
    expect(rotated.refresh_token).toBeTruthy();
    expect(rotated.refresh_token).not.toBe(tokens.refresh_token);
    await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(client.refreshTokenGrant(config, rotated.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    // The access token issued with the revoked family stops at userinfo.
    await expect(client.fetchUserInfo(config, rotated.access_token, claims.sub)).rejects.toBeTruthy();

    // The user was created by signing up, and the sign-in is audited.
    const events = await ws.client.data(`query($env: ID) { auditEvents(environmentId: $env, first: 50, filter: { actions: ["user.created", "user.signed_in", "oauth.refresh_token_replayed"] }) { nodes { action actor { type id } } } }`, { env });
    expect(events.auditEvents.nodes.map((event: { action: string }) => event.action).sort()).toEqual(['oauth.refresh_token_replayed', 'user.created', 'user.signed_in']);
  });

  it('by a magic link, with single sign-on for the next request of the same browser', async () => {
    const config = await webConfig();
    const browser = new HttpBrowser(server.url);
    const verifier = client.randomPKCECodeVerifier();
    const authorize = async (extra: Record<string, string> = {}) =>
      client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra });
    const back = await signIn(browser, await authorize(), 'grace@example.com', 'link');
    const callback = (back as { redirect: URL }).redirect;
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, idTokenExpected: true });
    expect(tokens.claims()).toMatchObject({ amr: ['mail'] });
    expect(tokens.refresh_token).toBeUndefined();

    // The session signs the next request in without a page.
    const again = await browser.go((await authorize()).toString());
    expect('redirect' in again && again.redirect.searchParams.get('code')).toBeTruthy();
    // prompt=login asks again.
    const login = await browser.go((await authorize({ prompt: 'login' })).toString());
    expect('page' in login && browser.html).toContain('Email address');
  });

  it('prompt=none without a session answers login_required to the application', async () => {
    const config = await webConfig();
    const browser = new HttpBrowser(server.url);
    const url = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256', prompt: 'none', state: 's1' });
    const result = await browser.go(url.toString());
    expect('redirect' in result).toBe(true);
    const { redirect } = result as { redirect: URL };
    expect(Object.fromEntries(redirect.searchParams)).toMatchObject({ error: 'login_required', state: 's1', iss: issuer });
  });

  it('refuses a reused code and revokes what it issued', async () => {
    const config = await webConfig();
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid offline_access', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const back = (await signIn(new HttpBrowser(server.url), url, 'reuse@example.com')) as { redirect: URL };
    const tokens = await client.authorizationCodeGrant(config, back.redirect, { pkceCodeVerifier: verifier });
    await expect(client.authorizationCodeGrant(config, back.redirect, { pkceCodeVerifier: verifier })).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    const introspection = await client.tokenIntrospection(config, tokens.access_token);
    expect(introspection.active).toBe(false);
  });

  it('refuses a wrong PKCE verifier or redirect URI, and the code is then dead', async () => {
    const config = await webConfig();
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const back = (await signIn(new HttpBrowser(server.url), url, 'pkce@example.com')) as { redirect: URL };
    await expect(client.authorizationCodeGrant(config, back.redirect, { pkceCodeVerifier: client.randomPKCECodeVerifier() })).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(client.authorizationCodeGrant(config, back.redirect, { pkceCodeVerifier: verifier })).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('never redirects to an unregistered redirect URI', async () => {
    const browser = new HttpBrowser(server.url);
    const url = new URL(`${issuer}/oauth/authorize`);
    url.search = new URLSearchParams({ client_id: web.clientId, redirect_uri: 'https://evil.example/cb', response_type: 'code', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' }).toString();
    const result = await browser.go(url.toString());
    expect('page' in result).toBe(true);
    expect(browser.status).toBe(400);
    expect(browser.html).toContain('invalid_request');
    expect(browser.html).not.toContain('evil.example');
  });

  it('answers the code with the redirect to the application, in the same request', async () => {
    const config = await webConfig();
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const browser = new HttpBrowser(server.url);
    await browser.go(url.toString());
    await browser.submit('/sign-in/email', { email: 'direct@example.com' });
    const { action, fields } = browser.form('/sign-in/code');
    const answer = await browser.request(action, { form: { ...fields, code: (await lastMail('direct@example.com')).code } });
    expect(answer.status).toBe(303);
    const back = new URL(answer.headers.get('location')!);
    expect(`${back.origin}${back.pathname}`).toBe(REDIRECT);
    // The session cookie comes with it.
    expect(browser.cookie(`gh_session_${env}`)).toBeTruthy();
    const tokens = await client.authorizationCodeGrant(config, back, { pkceCodeVerifier: verifier });
    expect(decodeJwt(tokens.id_token!).email).toBeUndefined();
    expect(decodeJwt(tokens.id_token!).sub).toMatch(/^usr_/);
  });

  it('issues tokens for an API with its scope and audience', async () => {
    const config = await webConfig();
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid read', resource: API, code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const back = (await signIn(new HttpBrowser(server.url), url, 'api@example.com')) as { redirect: URL };
    const tokens = await client.authorizationCodeGrant(config, back.redirect, { pkceCodeVerifier: verifier });
    const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`)), { issuer, audience: API, typ: 'at+jwt' });
    expect(payload).toMatchObject({ scope: 'openid read', client_id: web.clientId });
    expect(decodeJwt(tokens.id_token!).aud).toBe(web.clientId);
  });
});

describe('signing out (RP-initiated and back-channel logout)', () => {
  const received: string[] = [];
  /** Requests the receiver answers 503 before it answers 200 again. */
  let failuresLeft = 0;
  let receiver: http.Server;
  let receiverUrl: string;
  let app: { clientId: string; secret: string };

  beforeAll(async () => {
    receiver = http.createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        received.push(new URLSearchParams(body).get('logout_token') ?? '');
        if (failuresLeft > 0) {
          failuresLeft -= 1;
          response.writeHead(503).end();
        } else {
          response.writeHead(200).end();
        }
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/backchannel`;
    const clientId = await createApp({
      name: 'Portal',
      type: 'WEB',
      redirectUris: [REDIRECT],
      postLogoutRedirectUris: ['http://localhost:3000/signed-out'],
      backchannelLogoutUri: receiverUrl,
    });
    app = { clientId, secret: (await mutate(ws.client, 'createClientSecret', 'CreateClientSecretInput', 'secret', { clientId })).secret };
  });
  afterAll(() => new Promise<void>((resolve) => receiver.close(() => resolve())));

  async function signedIn(email: string) {
    const config = await webConfig(app.clientId, app.secret);
    const browser = new HttpBrowser(server.url);
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid offline_access', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const back = (await signIn(browser, url, email)) as { redirect: URL };
    const tokens = await client.authorizationCodeGrant(config, back.redirect, { pkceCodeVerifier: verifier });
    return { config, browser, tokens };
  }

  it('with id_token_hint ends the session at once, revokes its refresh tokens, returns to the registered URI and tells the app', async () => {
    const { config, browser, tokens } = await signedIn('leaver@example.com');
    const sid = tokens.claims()!.sid;
    const url = client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'http://localhost:3000/signed-out', state: 'bye' });
    const result = await browser.go(url.toString());
    expect('redirect' in result && result.redirect.toString()).toBe('http://localhost:3000/signed-out?state=bye');
    await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await client.tokenIntrospection(config, tokens.access_token)).active).toBe(false);

    // The next authorization request of that browser must sign in again.
    const again = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256', prompt: 'none' });
    const silent = await browser.go(again.toString());
    expect('redirect' in silent && silent.redirect.searchParams.get('error')).toBe('login_required');

    await expect.poll(() => received.length, { timeout: 5_000 }).toBeGreaterThan(0);
    const { payload, protectedHeader } = await jwtVerify(received.at(-1)!, createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`)), { issuer, audience: app.clientId });
    expect(protectedHeader.typ).toBe('logout+jwt');
    expect(payload).toMatchObject({ sid, sub: tokens.claims()!.sub, events: { 'http://schemas.openid.net/event/backchannel-logout': {} } });
    expect(payload.nonce).toBeUndefined();
  });

  /** The logout tokens the application received for a session, verified. */
  async function logoutTokensFor(sid: string) {
    const jwks = createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`));
    const verified = await Promise.all(received.map((token) => jwtVerify(token, jwks, { issuer, audience: app.clientId, typ: 'logout+jwt' }).then(({ payload }) => payload)));
    return verified.filter((payload) => payload.sid === sid);
  }

  const BACKCHANNEL_EVENTS = `query($env: ID, $target: ID) { auditEvents(environmentId: $env, first: 10, filter: { actions: ["session.backchannel_logout_delivered", "session.backchannel_logout_failed"], targetId: $target }) { nodes { action after } } }`;
  const backChannelOutcomes = async (sid: string) => (await ws.client.data(BACKCHANNEL_EVENTS, { env, target: sid })).auditEvents.nodes as { action: string; after: Record<string, unknown> }[];

  it('tells the app when an administrator revokes the session or suspends the user, not only at sign-out', async () => {
    const revoked = await signedIn('revoked-by-admin@example.com');
    const revokedSid = revoked.tokens.claims()!.sid as string;
    await mutate(ws.client, 'revokeSession', 'RevokeSessionInput', 'session { id }', { id: revokedSid });
    await expect.poll(async () => (await logoutTokensFor(revokedSid)).length, { timeout: 5_000 }).toBe(1);
    expect((await logoutTokensFor(revokedSid))[0]).toMatchObject({ sub: revoked.tokens.claims()!.sub, events: { 'http://schemas.openid.net/event/backchannel-logout': {} } });

    const suspended = await signedIn('suspended-by-admin@example.com');
    const suspendedSid = suspended.tokens.claims()!.sid as string;
    await mutate(ws.client, 'suspendUser', 'UserIdInput', 'user { id }', { id: suspended.tokens.claims()!.sub });
    await expect.poll(async () => (await logoutTokensFor(suspendedSid)).length, { timeout: 5_000 }).toBe(1);
    await expect.poll(() => backChannelOutcomes(suspendedSid), { timeout: 5_000 }).toEqual([
      { action: 'session.backchannel_logout_delivered', after: { outcome: 'status_200', attempts: 1 } },
    ]);
  });

  it('retries an application that fails until it answers, then gives up after the schedule; each outcome audited', async () => {
    const flaky = await signedIn('flaky-receiver@example.com');
    const flakySid = flaky.tokens.claims()!.sid as string;
    failuresLeft = 2;
    await mutate(ws.client, 'revokeSession', 'RevokeSessionInput', 'session { id }', { id: flakySid });
    await expect.poll(() => backChannelOutcomes(flakySid), { timeout: 10_000 }).toEqual([
      { action: 'session.backchannel_logout_delivered', after: { outcome: 'status_200', attempts: 3 } },
    ]);
    // A fresh logout token each attempt.
    const tokens = await logoutTokensFor(flakySid);
    expect(tokens).toHaveLength(3);
    expect(new Set(tokens.map((token) => token.jti)).size).toBe(3);

    const down = await signedIn('down-receiver@example.com');
    const downSid = down.tokens.claims()!.sid as string;
    failuresLeft = 100;
    await mutate(ws.client, 'revokeSession', 'RevokeSessionInput', 'session { id }', { id: downSid });
    await expect.poll(() => backChannelOutcomes(downSid), { timeout: 10_000 }).toEqual([
      { action: 'session.backchannel_logout_failed', after: { outcome: 'status_503', attempts: 3 } },
    ]);
    failuresLeft = 0;
    expect(await logoutTokensFor(downSid)).toHaveLength(3);
    // Nothing is left in the outbox.
    const left = await systemFork(server.database.db.orm, 'test: the back-channel logout outbox').count(LogoutNotice, { sessionId: { $in: [flakySid, downSid] } });
    expect(left).toBe(0);
  });

  it('without a hint asks the person first; the form needs its CSRF token', async () => {
    const { config, browser, tokens } = await signedIn('asked@example.com');
    await browser.go(`${issuer}/oauth/logout`);
    expect(browser.html).toContain('Sign out?');
    const { fields } = browser.form('/oauth/logout');
    // A forged form (no or another browser's token) signs nobody out.
    await browser.go(`${issuer}/oauth/logout`, { form: { ...fields, csrf: 'forged' } });
    expect(browser.html).toContain('Sign out?');
    expect((await client.tokenIntrospection(config, tokens.access_token)).active).toBe(true);
    await browser.submit('/oauth/logout');
    expect(browser.html).toContain('You are signed out');
    expect((await client.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
  });

  it('never redirects to an unregistered post-logout URI', async () => {
    const { config, browser, tokens } = await signedIn('open-redirect@example.com');
    const url = client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'https://evil.example/' });
    const result = await browser.go(url.toString());
    expect('page' in result).toBe(true);
    expect(browser.status).toBe(400);
    expect(browser.html).not.toContain('evil.example');
    expect((await client.tokenIntrospection(config, tokens.access_token)).active).toBe(true);
  });
});

describe('housekeeping', () => {
  it('forgets flows, codes, refresh families and sessions that can only be refused, and keeps live ones', async () => {
    const config = await webConfig();
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid offline_access', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const back = (await signIn(new HttpBrowser(server.url), url, 'housekeeping@example.com')) as { redirect: URL };
    const tokens = await client.authorizationCodeGrant(config, back.redirect, { pkceCodeVerifier: verifier });
    const store = systemFork(server.database.db.orm, 'test: ages sign-in state');
    const userId = tokens.claims()!.sub;
    const counts = async () => ({
      sessions: await store.count(UserSession, { userId }),
      codes: await store.count(AuthorizationCode, { userId }),
      refresh: await store.count(RefreshToken, { userId }),
    });
    expect(await counts()).toEqual({ sessions: 1, codes: 1, refresh: 1 });
    // Nothing live goes.
    await pruneSignInState(server.database.db.orm);
    expect(await counts()).toEqual({ sessions: 1, codes: 1, refresh: 1 });

    const longAgo = new Date(Date.now() - ENDED_SESSION_KEEP_MS - 60_000);
    await store.nativeUpdate(UserSession, { userId }, { endedAt: longAgo });
    await store.nativeUpdate(AuthorizationCode, { userId }, { expiresAt: longAgo, accessTokenExpiresAt: longAgo });
    await store.nativeUpdate(RefreshToken, { userId }, { familyExpiresAt: longAgo });
    expect(await pruneSignInState(server.database.db.orm)).toBeGreaterThanOrEqual(3);
    expect(await counts()).toEqual({ sessions: 0, codes: 0, refresh: 0 });
  });
});

describe('branding', () => {
  it('shows the environment’s logo, admitted by the page’s CSP, and refuses a logo URL that is not https', async () => {
    const update = (logoUrl: string) =>
      ws.client.data(`mutation($input: UpdateEnvironmentInput!) { updateEnvironment(input: $input) { environment { logoUrl } userErrors { code field } } }`, { input: { id: env, logoUrl } });
    for (const bad of ['http://cdn.example.com/logo.png', 'javascript:alert(1)', 'https://user:pw@cdn.example.com/l.png', 'https://cdn.example.com/l.png"onerror="x']) {
      expect((await update(bad)).updateEnvironment.userErrors, bad).toEqual([{ code: 'environment.invalid_logo_url', field: ['input', 'logoUrl'] }]);
    }
    expect((await update('https://cdn.example.com/acme.png')).updateEnvironment.environment.logoUrl).toBe('https://cdn.example.com/acme.png');
    try {
      const config = await webConfig();
      const url = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256' });
      const browser = new HttpBrowser(server.url);
      // The cache sees the change at once (the environment row's notice).
      const response = await fetch(url, { redirect: 'manual' }).then((first) => browser.request(new URL(first.headers.get('location')!, url).toString(), { headers: { cookie: first.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ') } }));
      expect(browser.html).toContain('<img class="logo" src="https://cdn.example.com/acme.png" alt="Development">');
      expect(response.headers.get('content-security-policy')).toContain("img-src 'self' https://cdn.example.com;");
    } finally {
      await update('');
    }
  });
});
