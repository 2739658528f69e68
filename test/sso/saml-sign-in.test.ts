import { inflateRawSync } from 'node:zlib';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemFork } from '../../src/db/tenant-scope.js';
import { pruneSignInState } from '../../src/http/oauth/housekeeping.js';
import { SamlRequest } from '../../src/modules/connection/saml-request.entity.js';
import { HttpBrowser } from '../helpers/browser-http.js';
import { mutate } from '../helpers/oauth.js';
import { createSigningKey, TestIdp, toBase64, type SigningKey } from '../helpers/saml-idp.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

const REDIRECT = 'http://localhost:3000/callback';
const IDP_ENTITY = 'https://idp.acme.test/metadata';
const IDP_SSO = 'https://idp.acme.test/sso';
const FAILURES = `query($env: ID, $target: ID) { auditEvents(environmentId: $env, first: 10, filter: { actions: ["sso.signin_failed"], targetId: $target }) { nodes { after } } }`;

let server: TestServer;
let ws: TestWorkspace;
let env: string;
let issuer: string;
let organizationId: string;
let connection: { id: string; saml: { spEntityId: string; acsUrl: string } };
let idp: TestIdp;
let key: SigningKey;
let config: client.Configuration;

beforeAll(async () => {
  server = await startServer();
  ws = await server.workspace('SAML sign-in');
  env = ws.development.id;
  issuer = (await ws.client.data(`query($id: ID!) { environment(id: $id) { issuer } }`, { id: env })).environment.issuer;
  organizationId = (await mutate(ws.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId: env, name: 'Acme', domains: [{ domain: 'acme.test', state: 'VERIFIED' }] }))
    .organization.id;
  key = await createSigningKey('idp.acme.test');
  idp = new TestIdp(IDP_ENTITY, key);
  connection = (
    await mutate(ws.client, 'createSamlConnection', 'CreateSamlConnectionInput', 'ssoConnection { id saml { spEntityId acsUrl } }', {
      organizationId,
      name: 'Acme IdP',
      status: 'ACTIVE',
      idpEntityId: IDP_ENTITY,
      idpSsoUrl: IDP_SSO,
      idpCertificates: [key.cert],
      requireSignedAssertion: false,
    })
  ).ssoConnection;
  const app = await mutate(ws.client, 'createApplication', 'CreateApplicationInput', 'application { clientId }', { environmentId: env, name: 'Portal', type: 'WEB', redirectUris: [REDIRECT] });
  const { secret } = await mutate(ws.client, 'createClientSecret', 'CreateClientSecretInput', 'secret', { clientId: app.application.clientId });
  config = await client.discovery(new URL(issuer), app.application.clientId, undefined, client.ClientSecretPost(secret), { execute: [client.allowInsecureRequests] });
});
afterAll(() => server.close());

/** Authorize → email page → the address → Gatehouse's redirect to the IdP, with the AuthnRequest's ID. */
async function toIdp(browser: HttpBrowser, email: string) {
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid email profile', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'st' });
  await browser.go(url.toString());
  const { fields } = browser.form('/sign-in/email');
  const sent = await browser.go(`/e/${env}/sign-in/email`, { form: { ...fields, email } });
  expect('redirect' in sent, browser.html.slice(0, 1500)).toBe(true);
  const atIdp = (sent as { redirect: URL }).redirect;
  expect(`${atIdp.origin}${atIdp.pathname}`).toBe(IDP_SSO);
  const request = inflateRawSync(Buffer.from(atIdp.searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
  const requestId = /ID="([^"]+)"/.exec(request)![1];
  expect(request).toContain(`AssertionConsumerServiceURL="${connection.saml.acsUrl}"`);
  expect(request).toContain(`<saml:Issuer>${connection.saml.spEntityId}</saml:Issuer>`);
  return { verifier, requestId, relayState: atIdp.searchParams.get('RelayState')! };
}

/** The IdP's signed answer for `requestId`, as the form it auto-posts to the ACS. */
async function answer(requestId: string, email: string, extra: Record<string, string[]> = {}) {
  const xml = await idp.response({
    sign: 'both',
    nameId: email,
    attributes: { email: [email], firstName: ['Alice'], lastName: ['Example'], ...extra },
    values: { Destination: connection.saml.acsUrl, Audience: connection.saml.spEntityId, SubjectRecipient: connection.saml.acsUrl, InResponseTo: requestId },
  });
  return toBase64(xml);
}

describe('SP-initiated SAML sign-in', () => {
  it('sends an address of a verified domain to the IdP, and the app gets tokens for a user made member of the organization', async () => {
    const browser = new HttpBrowser(server.url);
    const { verifier, requestId, relayState } = await toIdp(browser, 'alice@acme.test');
    const samlResponse = await answer(requestId, 'alice@acme.test');
    const back = (await browser.go(connection.saml.acsUrl, { form: { SAMLResponse: samlResponse, RelayState: relayState } })) as { redirect: URL };
    expect(back.redirect.searchParams.get('state')).toBe('st');
    const tokens = await client.authorizationCodeGrant(config, back.redirect, { pkceCodeVerifier: verifier, expectedState: 'st' });
    expect(tokens.claims()).toMatchObject({ email: 'alice@acme.test', email_verified: true, given_name: 'Alice', family_name: 'Example', org_id: organizationId, roles: ['member'], amr: ['sso'] });

    // The same response again: its request was answered; refused, and audited.
    const replayed = await new HttpBrowser(server.url).request(connection.saml.acsUrl, { form: { SAMLResponse: samlResponse } });
    expect(replayed.status).toBe(400);
    const failures = (await ws.client.data(FAILURES, { env, target: connection.id })).auditEvents.nodes;
    expect(failures[0].after).toMatchObject({ reason: 'replayed' });
  });

  it('refuses an address outside the organization\'s verified domains, a response for another connection, and an unsolicited one', async () => {
    const browser = new HttpBrowser(server.url);
    const { requestId } = await toIdp(browser, 'bob@acme.test');
    const guest = await browser.request(connection.saml.acsUrl, { form: { SAMLResponse: await answer(requestId, 'mallory@evil.test') } });
    expect(guest.status).toBe(400);
    expect(browser.html).toContain('sso.domain_not_allowed');
    const unsolicited = await browser.request(connection.saml.acsUrl, { form: { SAMLResponse: await answer('_never_sent', 'bob@acme.test') } });
    expect(unsolicited.status).toBe(400);
    expect(browser.html).toContain('sso.in_response_to');
    // Nobody was signed in: the flow still asks who you are.
    expect((await ws.client.data(`query($env: ID) { users(environmentId: $env, first: 50) { nodes { email } } }`, { env })).users.nodes.map((u: any) => u.email)).not.toContain('mallory@evil.test');
  });

  it('signs in only the browser that started the flow: a response posted into another browser leads nowhere', async () => {
    const attacker = new HttpBrowser(server.url);
    const { requestId } = await toIdp(attacker, 'carol@acme.test');
    const samlResponse = await answer(requestId, 'carol@acme.test');
    const victim = new HttpBrowser(server.url);
    const result = await victim.go(connection.saml.acsUrl, { form: { SAMLResponse: samlResponse } });
    expect('page' in result).toBe(true);
    expect(victim.status).toBe(400);
    expect(victim.html).toContain('flow_not_found');
  });

  it('keeps at most ten pending requests per flow', async () => {
    const browser = new HttpBrowser(server.url);
    await toIdp(browser, 'erin@acme.test');
    const flow = (/flow=(flw_[0-9a-z]+)/.exec(browser.url) ?? /name="flow" value="(flw_[0-9a-z]+)"/.exec(browser.html))![1];
    for (let started = 1; started < 10; started += 1) expect('redirect' in (await browser.go(`/e/${env}/sso/saml/${connection.id}/start?flow=${flow}`))).toBe(true);
    await browser.go(`/e/${env}/sso/saml/${connection.id}/start?flow=${flow}`);
    expect(browser.status).toBe(429);
  });

  it('forgets requests once they expire, answered or not', async () => {
    const { requestId } = await toIdp(new HttpBrowser(server.url), 'dave@acme.test');
    const store = systemFork(server.database.db.orm, 'test: ages a SAML request');
    await store.nativeUpdate(SamlRequest, { requestId }, { expiresAt: new Date(Date.now() - 1000) });
    await pruneSignInState(server.database.db.orm);
    expect(await store.count(SamlRequest, { requestId })).toBe(0);
  });
});
