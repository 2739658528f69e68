import http from 'node:http';
import { deflateRawSync } from 'node:zlib';
import * as client from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/db/id.js';
import { systemFork } from '../../src/db/tenant-scope.js';
import { SsoConnection } from '../../src/modules/connection/connection.entity.js';
import { launchChromium } from '../helpers/browser.js';
import { HttpBrowser } from '../helpers/browser-http.js';
import { mutate } from '../helpers/oauth.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

const REDIRECT = 'http://localhost:3000/callback';
const SIMULATOR = `ssoConnection { id type status organizationId allowGuestDomains saml { spEntityId acsUrl idpEntityId idpSsoUrl allowIdpInitiated requireSignedAssertion idpCertificates { subject notAfter } } }
  organization { id name externalId domains { domain state } }`;
const TRACES = `query($con: ID, $filter: SsoTraceFilterInput) { ssoTraces(connectionId: $con, first: 5, filter: $filter) { nodes { outcome reason email protocol samlRequest samlResponse steps { step } } } }`;

let server: TestServer;
let ws: TestWorkspace;
let env: string;
let issuer: string;
let simulator: { id: string; organizationId: string; saml: { acsUrl: string; idpSsoUrl: string; idpEntityId: string } };
let organizationId: string;
let config: client.Configuration;

const createSimulator = (environmentId: string, selection = SIMULATOR) =>
  ws.client.data(`mutation($input: CreateSimulatorConnectionInput!) { createSimulatorConnection(input: $input) { ${selection} userErrors { code field message } } }`, { input: { environmentId } });

beforeAll(async () => {
  server = await startServer();
  ws = await server.workspace('IdP simulator');
  env = ws.development.id;
  issuer = (await ws.client.data(`query($id: ID!) { environment(id: $id) { issuer } }`, { id: env })).environment.issuer;
  const created = (await createSimulator(env)).createSimulatorConnection;
  expect(created.userErrors).toEqual([]);
  simulator = created.ssoConnection;
  organizationId = created.organization.id;
  const app = await mutate(ws.client, 'createApplication', 'CreateApplicationInput', 'application { clientId }', { environmentId: env, name: 'Portal', type: 'WEB', redirectUris: [REDIRECT] });
  const { secret } = await mutate(ws.client, 'createClientSecret', 'CreateClientSecretInput', 'secret', { clientId: app.application.clientId });
  config = await client.discovery(new URL(issuer), app.application.clientId, undefined, client.ClientSecretPost(secret), { execute: [client.allowInsecureRequests] });
});
afterAll(() => server.close());

/** Authorize → email page → the address → (home-realm discovery) the simulator page with Gatehouse's AuthnRequest. */
async function toSimulator(browser: HttpBrowser, email = 'alice@example.com') {
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid email profile', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'st' });
  await browser.go(url.toString());
  const atSimulator = await browser.submit('/sign-in/email', { email });
  expect('page' in atSimulator, browser.html.slice(0, 800)).toBe(true);
  expect(browser.url.startsWith(`${simulator.saml.idpSsoUrl}?SAMLRequest=`), `${browser.url} ${browser.status} ${browser.html.slice(0, 600)}`).toBe(true);
  const requestId = /AuthnRequest <code>([^<]+)<\/code>/.exec(browser.html)![1];
  return { verifier, requestId };
}

interface Answer {
  scenario?: string;
  email?: string;
  given_name?: string;
  family_name?: string;
  groups?: string;
  attributes?: string;
}

/** Submits the simulator's form; returns the auto-posting page's response. */
async function simulate(browser: HttpBrowser, answer: Answer = {}) {
  const { action, fields } = browser.form(`/sso/simulator/${simulator.id}`);
  return browser.request(action, { form: { ...fields, email: 'alice@example.com', given_name: 'Alice', family_name: 'Example', groups: 'Engineering', attributes: '', scenario: 'success', ...answer } });
}

/** The auto-posting page's form, posted to the ACS (as its script does); where the browser ends up. */
async function postToAcs(browser: HttpBrowser) {
  const { action, fields } = browser.form('/acs');
  expect(action).toBe(simulator.saml.acsUrl);
  return browser.go(action, { form: fields });
}

describe('createSimulatorConnection', () => {
  it('sets up "Simulated Customer" with verified example.com and example.org and an active SIMULATOR connection, once', async () => {
    const created = (await createSimulator(env)).createSimulatorConnection;
    expect(created.userErrors).toEqual([]);
    expect(created.ssoConnection).toMatchObject({
      id: simulator.id,
      type: 'SIMULATOR',
      status: 'ACTIVE',
      organizationId,
      saml: {
        idpEntityId: `${issuer}/sso/simulator/${simulator.id}`,
        idpSsoUrl: `${issuer}/sso/simulator/${simulator.id}`,
        acsUrl: `${issuer}/sso/saml/${simulator.id}/acs`,
        allowIdpInitiated: true,
        requireSignedAssertion: true,
        idpCertificates: [{ subject: `CN=Gatehouse IdP simulator ${simulator.id}` }],
      },
    });
    expect(new Date(created.ssoConnection.saml.idpCertificates[0].notAfter).getTime()).toBeGreaterThan(Date.now() + 5 * 365 * 86_400_000);
    expect(created.organization).toMatchObject({ id: organizationId, name: 'Simulated Customer', externalId: 'gatehouse:simulated-customer' });
    expect(created.organization.domains).toEqual([
      { domain: 'example.com', state: 'VERIFIED' },
      { domain: 'example.org', state: 'VERIFIED' },
    ]);
    // Created once, audited once; the sealed key is nowhere in the trail.
    const events = await ws.client.data(`query($env: ID) { auditEvents(environmentId: $env, first: 20, filter: { actions: ["connection.created", "organization.created"] }) { nodes { action after } } }`, { env });
    expect(events.auditEvents.nodes.map((event: { action: string }) => event.action).sort()).toEqual(['connection.created', 'organization.created']);
    expect(JSON.stringify(events)).not.toMatch(/PRIVATE KEY|simulatorKey/);
    const connections = await ws.client.data(`query($env: ID) { ssoConnections(environmentId: $env, first: 10) { nodes { id type } } }`, { env });
    expect(connections.ssoConnections.nodes).toEqual([{ id: simulator.id, type: 'SIMULATOR' }]);
  });

  it('is refused in PRODUCTION, and explains a domain another organization holds', async () => {
    const production = (await createSimulator(ws.production.id)).createSimulatorConnection;
    expect(production).toMatchObject({ ssoConnection: null, organization: null, userErrors: [{ code: 'sso_connection.simulator_development_only', field: ['input', 'environmentId'] }] });

    const other = await server.workspace('Taken domain');
    await mutate(other.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId: other.development.id, name: 'Example Inc', domains: [{ domain: 'example.org' }] });
    const taken = await other.client.data(`mutation($input: CreateSimulatorConnectionInput!) { createSimulatorConnection(input: $input) { ssoConnection { id } userErrors { code field message } } }`, {
      input: { environmentId: other.development.id },
    });
    expect(taken.createSimulatorConnection.userErrors).toMatchObject([{ code: 'sso_connection.simulator_domain_taken', field: ['input', 'environmentId'] }]);
    expect(taken.createSimulatorConnection.userErrors[0].message).toContain('example.org belongs to the organization "Example Inc"');
  });

  it('keeps the simulated IdP\'s entity id, SSO URL and certificate its own', async () => {
    const refused = async (mutation: string, input: object) =>
      (await ws.client.data(`mutation($input: ${mutation[0]!.toUpperCase()}${mutation.slice(1)}Input!) { ${mutation}(input: $input) { userErrors { code field } } }`, { input: { id: simulator.id, ...input } }))[mutation].userErrors[0];
    expect(await refused('updateSamlConnection', { idpSsoUrl: 'https://idp.example.test/sso' })).toMatchObject({ code: 'sso_connection.simulator_managed', field: ['input', 'idpSsoUrl'] });
    expect(await refused('updateOidcConnection', { issuer: 'https://idp.example.test' })).toMatchObject({ code: 'sso_connection.wrong_type' });
  });
});

describe('the simulator', () => {
  it('signs alice@example.com in, SP-initiated, through the real ACS: the app gets her tokens in the simulated organization', async () => {
    const browser = new HttpBrowser(server.url);
    const { verifier, requestId } = await toSimulator(browser);
    expect(browser.html).toContain('Simulated Customer');
    expect(browser.html).toContain('value="alice@example.com"');
    const posted = await simulate(browser);
    expect(posted.status).toBe(200);
    // Our own static script posts the form on; nothing inline, and the form may lead back to the app.
    const csp = posted.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain('form-action \'self\' http://localhost:3000');
    expect(browser.html).toContain('<script src="/assets/simulator.js" defer></script>');
    const script = await fetch(`${server.url}/assets/simulator.js`);
    expect(script.headers.get('content-type')).toContain('text/javascript');
    expect(await script.text()).toContain('document.forms[0].submit()');

    const back = (await postToAcs(browser)) as { redirect: URL };
    expect(back.redirect, browser.html.slice(0, 800)).toBeDefined();
    const tokens = await client.authorizationCodeGrant(config, back.redirect, { pkceCodeVerifier: verifier, expectedState: 'st' });
    expect(tokens.claims()).toMatchObject({ email: 'alice@example.com', email_verified: true, given_name: 'Alice', family_name: 'Example', org_id: organizationId, amr: ['sso'] });

    const [trace] = (await ws.client.data(TRACES, { con: simulator.id, filter: { outcome: 'SUCCEEDED' } })).ssoTraces.nodes;
    expect(trace).toMatchObject({ email: 'alice@example.com', protocol: 'SIMULATOR' });
    expect(trace.samlRequest).toContain(`ID="${requestId}"`);
    expect(trace.samlResponse).toContain(`InResponseTo="${requestId}"`);
    expect(trace.steps.map((step: { step: string }) => step.step)).toEqual(['request_sent', 'response_validated', 'request_matched', 'signed_in']);
  });

  it('sends the groups and custom attributes typed, which the connection\'s mapping reads', async () => {
    await mutate(ws.client, 'createRole', 'CreateRoleInput', 'role { key }', { environmentId: env, key: 'billing', name: 'Billing' });
    await mutate(ws.client, 'createCustomAttributeDefinition', 'CreateCustomAttributeDefinitionInput', 'customAttributeDefinition { key }', { environmentId: env, key: 'department', type: 'STRING' });
    await mutate(ws.client, 'updateSamlConnection', 'UpdateSamlConnectionInput', 'ssoConnection { id }', {
      id: simulator.id,
      attributeMapping: { custom: { department: 'dept' } },
      groupRoleMappings: [{ group: 'Finance', roleKeys: ['billing'] }],
    });
    const browser = new HttpBrowser(server.url);
    const { verifier } = await toSimulator(browser, 'bob@example.org');
    await simulate(browser, { email: 'bob@example.org', given_name: 'Bob', groups: 'Staff, Finance', attributes: 'dept=Research\r\nemployee_type = contractor' });
    const back = (await postToAcs(browser)) as { redirect: URL };
    const claims = (await client.authorizationCodeGrant(config, back.redirect, { pkceCodeVerifier: verifier, expectedState: 'st' })).claims()!;
    expect(claims).toMatchObject({ email: 'bob@example.org', given_name: 'Bob', org_id: organizationId, roles: ['billing'] });
    const users = await ws.client.data(`query($env: ID) { users(environmentId: $env, first: 50) { nodes { email customAttributes } } }`, { env });
    expect(users.users.nodes.find((user: { email: string }) => user.email === 'bob@example.org').customAttributes).toEqual({ department: 'Research' });
    const [trace] = (await ws.client.data(TRACES, { con: simulator.id, filter: { outcome: 'SUCCEEDED' } })).ssoTraces.nodes;
    expect(trace.samlResponse).toContain('<saml:AttributeValue>contractor</saml:AttributeValue>');
    await mutate(ws.client, 'updateSamlConnection', 'UpdateSamlConnectionInput', 'ssoConnection { id }', { id: simulator.id, attributeMapping: null, groupRoleMappings: [] });
  });

  // Each fault meets the real validation (or the request matching after it) with its own reason.
  const FAULTS: [scenario: string, reason: string][] = [
    ['guest_domain', 'domain_not_allowed'],
    ['expired', 'expired'],
    ['not_yet_valid', 'not_yet_valid'],
    ['wrong_audience', 'audience'],
    ['wrong_recipient', 'recipient'],
    ['unsigned', 'unsigned'],
    ['other_key', 'bad_signature'],
    ['sha1', 'weak_algorithm'],
    ['missing_email', 'no_email'],
    ['error_status', 'status'],
    // The connection names no application for IdP-initiated sign-ins (see the test below).
    ['idp_initiated', 'idp_initiated_unavailable'],
  ];
  it.each(FAULTS)('answers %s: the ACS refuses it with sso.%s, and the attempt\'s trace says so', async (scenario, reason) => {
    const browser = new HttpBrowser(server.url);
    await toSimulator(browser, 'carol@example.com');
    expect((await simulate(browser, { scenario, email: 'carol@example.com' })).status).toBe(200);
    const result = await postToAcs(browser);
    expect('page' in result).toBe(true);
    expect(browser.status).toBe(400);
    expect(browser.html).toContain(`sso.${reason}`);
    const shown = /Request: <code>(req_[0-9a-z]+)<\/code>/.exec(browser.html)![1];
    const traces = (await ws.client.data(TRACES, { con: simulator.id, filter: { requestId: shown } })).ssoTraces.nodes;
    expect(traces).toMatchObject([{ outcome: 'FAILED', reason }]);
    if (scenario === 'guest_domain') expect(traces[0].samlResponse).toContain('carol@outside.test');
  });

  it('accepts what a connection\'s settings admit: SHA-1 when allowed, a guest when guests are', async () => {
    await mutate(ws.client, 'updateSamlConnection', 'UpdateSamlConnectionInput', 'ssoConnection { id }', { id: simulator.id, allowSha1: true, allowGuestDomains: true });
    for (const scenario of ['sha1', 'guest_domain']) {
      const browser = new HttpBrowser(server.url);
      await toSimulator(browser, 'dave@example.com');
      expect(browser.html).not.toContain(scenario === 'sha1' ? 'sso.weak_algorithm' : 'sso.domain_not_allowed');
      await simulate(browser, { scenario, email: 'dave@example.com' });
      const back = await postToAcs(browser);
      expect('redirect' in back, `${scenario}: ${browser.html.slice(0, 600)}`).toBe(true);
    }
    await mutate(ws.client, 'updateSamlConnection', 'UpdateSamlConnectionInput', 'ssoConnection { id }', { id: simulator.id, allowSha1: false, allowGuestDomains: false });
  });

  it('starts an IdP-initiated sign-in from its own page, handed over to the application the connection names', async () => {
    const START = 'http://localhost:3000/start-sign-in';
    const launcher = await mutate(ws.client, 'createApplication', 'CreateApplicationInput', 'application { id }', { environmentId: env, name: 'Launcher', type: 'WEB', redirectUris: [REDIRECT], initiateLoginUri: START });
    await mutate(ws.client, 'updateSamlConnection', 'UpdateSamlConnectionInput', 'ssoConnection { id }', { id: simulator.id, idpInitiatedApplicationId: launcher.application.id });
    // The IdP's own page, without any AuthnRequest: IdP-initiated is what it offers.
    const browser = new HttpBrowser(server.url);
    await browser.go(simulator.saml.idpSsoUrl);
    expect(browser.status).toBe(200);
    expect(browser.html).toContain('No AuthnRequest');
    expect(browser.html).toMatch(/<option value="idp_initiated" selected>/);
    const posted = await simulate(browser, { scenario: 'idp_initiated', email: 'erin@example.com' });
    expect(posted.headers.get('content-security-policy')).toContain('form-action \'self\' http://localhost:3000');
    const landed = (await postToAcs(browser)) as { redirect: URL };
    expect(`${landed.redirect.origin}${landed.redirect.pathname}`).toBe(START);
    expect(landed.redirect.searchParams.get('login_hint')).toBe('erin@example.com');
    await mutate(ws.client, 'updateSamlConnection', 'UpdateSamlConnectionInput', 'ssoConnection { id }', { id: simulator.id, idpInitiatedApplicationId: null });
  });

  it('exists only for SIMULATOR connections of DEVELOPMENT environments', async () => {
    const acme = await mutate(ws.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId: env, name: 'Acme' });
    const saml = await mutate(ws.client, 'createSamlConnection', 'CreateSamlConnectionInput', 'ssoConnection { id }', { organizationId: acme.organization.id, name: 'Acme IdP' });
    // A SIMULATOR connection that found its way into PRODUCTION (the API makes none there).
    const productionOrg = await mutate(ws.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId: ws.production.id, name: 'Prod' });
    const rows = systemFork(server.database.db.orm, 'test: a SIMULATOR connection in PRODUCTION');
    const original = await rows.findOneOrFail(SsoConnection, { id: simulator.id });
    const planted = rows.create(SsoConnection, {
      id: newId('ssoConnection'),
      environmentId: ws.production.id,
      organizationId: productionOrg.organization.id,
      name: original.name,
      type: original.type,
      provider: original.provider,
      status: original.status,
      idpEntityId: original.idpEntityId,
      idpSsoUrl: original.idpSsoUrl,
      idpCertificates: original.idpCertificates,
      simulatorKeySealed: original.simulatorKeySealed,
    });
    await rows.persistAndFlush(planted);
    const browser = new HttpBrowser(server.url);
    for (const path of [`/e/${env}/sso/simulator/${saml.ssoConnection.id}`, `/e/${ws.production.id}/sso/simulator/${planted.id}`, `/e/${ws.production.id}/sso/simulator/${simulator.id}`, `/e/${env}/sso/simulator/nonsense`]) {
      await browser.request(path);
      expect(browser.status, path).toBe(404);
      expect(browser.html).toContain('simulator_not_found');
      await browser.request(path, { form: { csrf: 'x', scenario: 'success', email: 'alice@example.com' } });
      expect(browser.status, path).toBe(404);
    }
  });

  it('takes a form only with the CSRF token of the browser that opened it', async () => {
    const browser = new HttpBrowser(server.url);
    await toSimulator(browser);
    const { action, fields } = browser.form(`/sso/simulator/${simulator.id}`);
    const answer = { email: 'mallory@example.com', scenario: 'success' };
    await browser.request(action, { form: { ...fields, csrf: '', ...answer } });
    expect(browser.status).toBe(403);
    expect(browser.html).toContain('csrf_failed');
    const other = new HttpBrowser(server.url);
    await other.request(simulator.saml.idpSsoUrl);
    await other.request(action, { form: { ...fields, ...answer } });
    expect(other.status).toBe(403);
    // Unknown scenarios and bad addresses are refused too.
    await browser.request(action, { form: { ...fields, ...answer, scenario: 'teleport' } });
    expect(browser.status).toBe(400);
    await browser.request(action, { form: { ...fields, ...answer, email: 'not an address' } });
    expect(browser.status).toBe(400);
  });

  it('reads AuthnRequests safely: no DTD, bounded inflation, an ID it can echo', async () => {
    const encoded = (xml: string) => encodeURIComponent(deflateRawSync(Buffer.from(xml)).toString('base64'));
    const page = async (samlRequest: string) => {
      const browser = new HttpBrowser(server.url);
      await browser.request(`${simulator.saml.idpSsoUrl}?SAMLRequest=${samlRequest}`);
      return browser;
    };
    const doctype = await page(encoded('<!DOCTYPE r [<!ENTITY x "y">]><samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_a" Version="2.0"/>'));
    expect(doctype.status).toBe(400);
    expect(doctype.html).toContain('DOCTYPE');
    const bomb = await page(encodeURIComponent(deflateRawSync(Buffer.alloc(2_000_000, 0x20)).toString('base64')));
    expect(bomb.status).toBe(400);
    expect((await page(encoded('<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="1&quot;&gt;x" Version="2.0"/>'))).status).toBe(400);
    expect((await page(encoded('<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_a" Version="2.0"/>'))).status).toBe(400);
    expect((await page('bm90IGRlZmxhdGVk')).status).toBe(400);
    // Another ACS named in the request: the answer still goes only to the connection's own.
    const elsewhere = await page(encoded('<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_b" Version="2.0" AssertionConsumerServiceURL="https://evil.test/acs"/>'));
    expect(elsewhere.status).toBe(200);
    expect(elsewhere.html).toContain('the simulator answers at the connection&#39;s own ACS');
    await simulate(elsewhere);
    expect(elsewhere.form('/acs').action).toBe(simulator.saml.acsUrl);
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

  it('hosted sign-in → alice@example.com → the simulator → back at the app with a code, under the pages\' CSP', async () => {
    const context = await browser.newContext();
    const page: Page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (entry) => {
      if (entry.type() === 'error' && !entry.location().url.endsWith('/favicon.ico')) problems.push(entry.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(appConfig, { redirect_uri: `${appOrigin}/callback`, scope: 'openid email', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'chromium' });
    await page.goto(url.toString());
    await page.getByLabel('Email address').fill('alice@example.com');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'IdP simulator' }).waitFor();
    expect(await page.getByLabel('Scenario').inputValue()).toBe('success');
    await page.getByRole('button', { name: 'Send the response' }).click();
    await page.waitForURL((landed) => landed.toString().startsWith(appOrigin), { timeout: 10_000 });
    const callback = new URL(page.url());
    expect(callback.searchParams.get('code')).toBeTruthy();
    const tokens = await client.authorizationCodeGrant(appConfig, callback, { pkceCodeVerifier: verifier, expectedState: 'chromium' });
    expect(tokens.claims()).toMatchObject({ email: 'alice@example.com', org_id: organizationId, amr: ['sso'] });
    expect(problems).toEqual([]);
    await context.close();
  });
});
