import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpBrowser } from '../helpers/browser-http.js';
import { clientKeyPair, mutate } from '../helpers/oauth.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

const SPA_ORIGIN = 'https://spa.example.com';
const SPA_REDIRECT = `${SPA_ORIGIN}/callback`;
const OUTBOX = `query($env: ID) { developmentOutbox(environmentId: $env, first: 1) { nodes { text } } }`;

let server: TestServer;
let ws: TestWorkspace;
let env: string;
let issuer: string;

async function createApp(input: Record<string, unknown>): Promise<string> {
  return (await mutate(ws.client, 'createApplication', 'CreateApplicationInput', 'application { clientId }', { environmentId: env, ...input })).application.clientId;
}

/** Through the hosted pages by code; returns the redirect back to the application. */
async function signIn(browser: HttpBrowser, url: URL, email: string): Promise<URL> {
  const first = await browser.go(url.toString());
  if ('redirect' in first) return first.redirect;
  await browser.submit('/sign-in/email', { email });
  const [message] = (await ws.client.data(OUTBOX, { env })).developmentOutbox.nodes;
  const done = await browser.submit('/sign-in/code', { code: /code is (\d{6})/.exec(message.text)![1] });
  return (done as { redirect: URL }).redirect;
}

beforeAll(async () => {
  server = await startServer();
  ws = await server.workspace('Public clients');
  env = ws.development.id;
  issuer = (await ws.client.data(`query($id: ID!) { environment(id: $id) { issuer } }`, { id: env })).environment.issuer;
});
afterAll(() => server.close());

describe('a single-page app (oauth4webapi, public client, PKCE only)', () => {
  let spa: string;
  let as: oauth.AuthorizationServer;
  beforeAll(async () => {
    spa = await createApp({ name: 'SPA', type: 'SPA', redirectUris: [SPA_REDIRECT], allowedWebOrigins: [SPA_ORIGIN] });
    const issuerUrl = new URL(issuer);
    as = await oauth.processDiscoveryResponse(issuerUrl, await oauth.discoveryRequest(issuerUrl, { algorithm: 'oidc', [oauth.allowInsecureRequests]: true }));
  });

  it('signs in, refreshes and reads userinfo without any secret', async () => {
    const spaClient: oauth.Client = { client_id: spa };
    const verifier = oauth.generateRandomCodeVerifier();
    const nonce = oauth.generateRandomNonce();
    const url = new URL(as.authorization_endpoint!);
    url.search = new URLSearchParams({
      client_id: spa,
      redirect_uri: SPA_REDIRECT,
      response_type: 'code',
      scope: 'openid email offline_access',
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      nonce,
    }).toString();
    const callback = await signIn(new HttpBrowser(server.url), url, 'spa-user@example.com');
    const params = oauth.validateAuthResponse(as, spaClient, callback, oauth.expectNoState);
    const options = { [oauth.allowInsecureRequests]: true };
    const response = await oauth.authorizationCodeGrantRequest(as, spaClient, oauth.None(), params, SPA_REDIRECT, verifier, options);
    const tokens = await oauth.processAuthorizationCodeResponse(as, spaClient, response, { expectedNonce: nonce, requireIdToken: true });
    const claims = oauth.getValidatedIdTokenClaims(tokens)!;
    expect(claims.email).toBe('spa-user@example.com');

    const refreshed = await oauth.processRefreshTokenResponse(as, spaClient, await oauth.refreshTokenGrantRequest(as, spaClient, oauth.None(), tokens.refresh_token!, options));
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    const info = await oauth.processUserInfoResponse(as, spaClient, claims.sub, await oauth.userInfoRequest(as, spaClient, refreshed.access_token, options));
    expect(info.email).toBe('spa-user@example.com');
  });

  it('answers CORS only for its allowed origins', async () => {
    const tokenRequest = (origin: string) =>
      fetch(`${issuer}/oauth/token`, {
        method: 'POST',
        headers: { origin, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'x'.repeat(43), client_id: spa }),
      });
    const allowed = await tokenRequest(SPA_ORIGIN);
    expect(allowed.status).toBe(400);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(SPA_ORIGIN);
    const foreign = await tokenRequest('https://evil.example');
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();

    const preflight = (origin: string) => fetch(`${issuer}/oauth/userinfo`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });
    const ok = await preflight(SPA_ORIGIN);
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(SPA_ORIGIN);
    expect(ok.headers.get('access-control-allow-headers')).toContain('authorization');
    expect((await preflight('https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses a public client without PKCE, and a confidential client without its credentials', async () => {
    const noVerifier = await fetch(`${issuer}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: 'x'.repeat(43), redirect_uri: SPA_REDIRECT, client_id: spa }),
    });
    expect(noVerifier.status).toBe(400);
    expect(await noVerifier.json()).toMatchObject({ error: 'invalid_request' });

    const web = await createApp({ name: 'Web', type: 'WEB', redirectUris: ['https://web.example.com/cb'] });
    const bare = await fetch(`${issuer}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: 'x'.repeat(43), redirect_uri: 'https://web.example.com/cb', code_verifier: 'v'.repeat(43), client_id: web }),
    });
    expect(bare.status).toBe(401);
    expect(await bare.json()).toMatchObject({ error: 'invalid_client' });

    // The authorization endpoint refuses plain PKCE and a missing challenge, at the client's redirect URI.
    for (const pkce of [{ code_challenge: 'x'.repeat(43), code_challenge_method: 'plain' }, {}] as Record<string, string>[]) {
      const url = new URL(`${issuer}/oauth/authorize`);
      url.search = new URLSearchParams({ client_id: spa, redirect_uri: SPA_REDIRECT, response_type: 'code', state: 'p', ...pkce }).toString();
      const result = (await new HttpBrowser(server.url).go(url.toString())) as { redirect: URL };
      expect(Object.fromEntries(result.redirect.searchParams)).toMatchObject({ error: 'invalid_request', state: 'p', iss: issuer });
    }
  });
});

describe('a native app (RFC 8252)', () => {
  it('is answered at a loopback redirect URI on any port', async () => {
    const native = await createApp({ name: 'CLI', type: 'NATIVE', redirectUris: ['http://127.0.0.1/callback'] });
    const verifier = client.randomPKCECodeVerifier();
    const config = await client.discovery(new URL(issuer), native, undefined, client.None(), { execute: [client.allowInsecureRequests] });
    const redirect = 'http://127.0.0.1:53127/callback';
    const url = client.buildAuthorizationUrl(config, { redirect_uri: redirect, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const callback = await signIn(new HttpBrowser(server.url), url, 'cli-user@example.com');
    expect(callback.origin).toBe('http://127.0.0.1:53127');
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier });
    expect(tokens.claims()!.aud).toBe(native);
  });
});

describe('a web app with private_key_jwt and pushed authorization requests (RFC 9126)', () => {
  it('pushes its request, signs in with the request_uri once, and authenticates with a signed assertion', async () => {
    const key = await clientKeyPair();
    const web = await createApp({ name: 'Signed web', type: 'WEB', redirectUris: ['https://web.example.com/cb'], jwks: { keys: [key.publicJwk] } });
    const config = await client.discovery(new URL(issuer), web, undefined, client.PrivateKeyJwt(key.privateKey), { execute: [client.allowInsecureRequests] });
    const verifier = client.randomPKCECodeVerifier();
    const url = await client.buildAuthorizationUrlWithPAR(config, {
      redirect_uri: 'https://web.example.com/cb',
      scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: 'pushed',
    });
    expect([...url.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
    const browser = new HttpBrowser(server.url);
    const callback = await signIn(browser, url, 'par-user@example.com');
    expect(callback.searchParams.get('state')).toBe('pushed');
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: 'pushed' });
    expect(tokens.claims()!.aud).toBe(web);

    // The request_uri is good once.
    await browser.go(url.toString());
    expect(browser.status).toBe(400);
    expect(browser.html).toContain('request_uri');

    // A pushed request is checked like any other: a bad redirect URI is a JSON error to the client.
    await expect(client.buildAuthorizationUrlWithPAR(config, { redirect_uri: 'https://evil.example/cb', scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' })).rejects.toMatchObject({
      error: 'invalid_request',
    });
  });
});
