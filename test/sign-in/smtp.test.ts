import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpBrowser } from '../helpers/browser-http.js';
import { mutate } from '../helpers/oauth.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';
import { smtpPeer, type SmtpPeer } from '../helpers/smtp.js';

const REDIRECT = 'http://localhost:3000/callback';

let peer: SmtpPeer;
let server: TestServer;
let ws: TestWorkspace;

beforeAll(async () => {
  peer = await smtpPeer();
  server = await startServer({ smtpUrl: peer.url, mailFrom: 'Acme Sign-in <signin@acme.example>' });
  ws = await server.workspace('SMTP sign-in');
});
afterAll(async () => {
  await server.close();
  await peer.close();
});

describe('sign-in mail through a real SMTP server', () => {
  it('sends the code and link to the address, in a PRODUCTION environment too, and nothing to an address that may not sign in', async () => {
    const env = ws.production.id;
    const issuer = (await ws.client.data(`query($id: ID!) { environment(id: $id) { issuer } }`, { id: env })).environment.issuer;
    const created = await mutate(ws.client, 'createApplication', 'CreateApplicationInput', 'application { clientId }', { environmentId: env, name: 'Portal', type: 'WEB', redirectUris: [REDIRECT] });
    const clientId = created.application.clientId;
    const secret = (await mutate(ws.client, 'createClientSecret', 'CreateClientSecretInput', 'secret', { clientId })).secret;
    const config = await client.discovery(new URL(issuer), clientId, undefined, client.ClientSecretPost(secret), { execute: [client.allowInsecureRequests] });
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid email', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });

    const browser = new HttpBrowser(server.url);
    await browser.go(url.toString());
    await browser.submit('/sign-in/email', { email: 'Smtp.User@Example.com' });
    expect(browser.html).toContain('Check your email');
    await peer.until(1);
    const [mail] = peer.received;
    expect(peer.envelopes[0]).toEqual(['smtp.user@example.com']);
    expect(mail.from?.text).toBe('"Acme Sign-in" <signin@acme.example>');
    const code = /code is (\d{6})/.exec(mail.text!)![1];
    expect(mail.subject).toContain(code);
    expect(mail.text).toContain(`${issuer}/sign-in/link?token=`);

    const done = (await browser.submit('/sign-in/code', { code })) as { redirect: URL };
    const tokens = await client.authorizationCodeGrant(config, done.redirect, { pkceCodeVerifier: verifier });
    expect(tokens.claims()!.email).toBe('smtp.user@example.com');

    // Invite-only: a stranger gets the same page and no mail.
    await ws.client.data(`mutation($input: UpdateEnvironmentInput!) { updateEnvironment(input: $input) { userErrors { code } } }`, { input: { id: env, signUpPolicy: 'INVITE_ONLY' } });
    const stranger = new HttpBrowser(server.url);
    await stranger.go(client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' }).toString());
    await stranger.submit('/sign-in/email', { email: 'stranger@example.com' });
    expect(stranger.html).toContain('Check your email');
    // A known user's mail after the stranger's attempt arrives second: nothing was sent in between.
    const known = new HttpBrowser(server.url);
    await known.go(client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' }).toString());
    await known.submit('/sign-in/email', { email: 'smtp.user@example.com' });
    await peer.until(2);
    expect(peer.envelopes).toEqual([['smtp.user@example.com'], ['smtp.user@example.com']]);
  });
});
