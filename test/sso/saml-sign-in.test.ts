import { createVerify, X509Certificate } from 'node:crypto';
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
async function toIdp(browser: HttpBrowser, email: string, extra: Record<string, string> = {}, idpSso = IDP_SSO, target = () => connection) {
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid email profile', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'st', ...extra });
  await browser.go(url.toString());
  const { fields } = browser.form('/sign-in/email');
  const sent = await browser.go(`/e/${env}/sign-in/email`, { form: { ...fields, email } });
  expect('redirect' in sent, browser.html.slice(0, 1500)).toBe(true);
  const atIdp = (sent as { redirect: URL }).redirect;
  expect(`${atIdp.origin}${atIdp.pathname}`).toBe(idpSso);
  const request = inflateRawSync(Buffer.from(atIdp.searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
  const requestId = /ID="([^"]+)"/.exec(request)![1];
  expect(request).toContain(`AssertionConsumerServiceURL="${target().saml.acsUrl}"`);
  expect(request).toContain(`<saml:Issuer>${target().saml.spEntityId}</saml:Issuer>`);
  return { verifier, requestId, relayState: atIdp.searchParams.get('RelayState')!, request };
}

/** The IdP's signed answer for `requestId`, as the form it auto-posts to the ACS. */
async function answer(requestId: string, email: string, extra: Record<string, string[]> = {}, nameId = email, by = { idp, connection }) {
  const { idp: signer, connection: target } = by;
  const xml = await signer.response({
    sign: 'both',
    nameId,
    attributes: { email: [email], firstName: ['Alice'], lastName: ['Example'], ...extra },
    values: { Destination: target.saml.acsUrl, Audience: target.saml.spEntityId, SubjectRecipient: target.saml.acsUrl, InResponseTo: requestId },
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

  it('signs in only a browser that started the flow and brought the answer: a forwarded request leads nowhere', async () => {
    // The attacker starts a flow and forwards the IdP link (its AuthnRequest) to a victim,
    // whose IdP session answers it in the victim's browser.
    const attacker = new HttpBrowser(server.url);
    const { requestId, relayState } = await toIdp(attacker, 'carol@acme.test');
    const flow = /name="flow" value="(flw_[0-9a-z]+)"/.exec(attacker.html)?.[1] ?? /flow=(flw_[0-9a-z]+)/.exec(attacker.url)![1];
    const samlResponse = await answer(requestId, 'victim@acme.test');
    const victim = new HttpBrowser(server.url);
    const result = await victim.go(connection.saml.acsUrl, { form: { SAMLResponse: samlResponse, RelayState: relayState } });
    expect('page' in result).toBe(true);
    expect(victim.status).toBe(400);
    expect(victim.html).toContain('flow_not_found');
    // Without the token the ACS gave the victim's browser, the attacker's flow gets nothing.
    await attacker.go(`/e/${env}/sso/saml/continue?request=${relayState}&flow=${flow}`);
    expect(attacker.status).toBe(400);
    expect(attacker.html).toContain('flow_not_found');
    await attacker.go(`/e/${env}/sso/saml/continue?request=${relayState}&flow=${flow}&answer=guessed`);
    expect(attacker.html).toContain('flow_not_found');
    expect((await ws.client.data(`query($env: ID) { users(environmentId: $env, first: 50) { nodes { email } } }`, { env })).users.nodes.map((u: any) => u.email)).not.toContain('victim@acme.test');
  });

  it('asks the IdP for a fresh sign-in when the application does (prompt=login, max_age)', async () => {
    expect((await toIdp(new HttpBrowser(server.url), 'frank@acme.test', { prompt: 'login' })).request).toContain('ForceAuthn="true"');
    expect((await toIdp(new HttpBrowser(server.url), 'frank@acme.test', { max_age: '0' })).request).toContain('ForceAuthn="true"');
    expect((await toIdp(new HttpBrowser(server.url), 'frank@acme.test')).request).not.toContain('ForceAuthn');
  });

  it('lets a guest-admitting IdP sign in its guests, never take over an existing account by email, and follows its NameID', async () => {
    // Another organization, whose IdP admits addresses outside its verified domains.
    const evilOrg = (await mutate(ws.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId: env, name: 'Evil', domains: [{ domain: 'evil.test', state: 'VERIFIED' }] })).organization.id;
    const evilKey = await createSigningKey('idp.evil.test');
    const evilIdp = new TestIdp('https://idp.evil.test/metadata', evilKey);
    const evil = (
      await mutate(ws.client, 'createSamlConnection', 'CreateSamlConnectionInput', 'ssoConnection { id saml { spEntityId acsUrl } }', {
        organizationId: evilOrg,
        name: 'Evil IdP',
        status: 'ACTIVE',
        idpEntityId: 'https://idp.evil.test/metadata',
        idpSsoUrl: 'https://idp.evil.test/sso',
        idpCertificates: [evilKey.cert],
        allowGuestDomains: true,
      })
    ).ssoConnection;
    const viaEvil = async (email: string, nameId: string) => {
      const browser = new HttpBrowser(server.url);
      const { verifier, requestId, relayState } = await toIdp(browser, 'someone@evil.test', {}, 'https://idp.evil.test/sso', () => evil);
      const result = await browser.go(evil.saml.acsUrl, { form: { SAMLResponse: await answer(requestId, email, {}, nameId, { idp: evilIdp, connection: evil }), RelayState: relayState } });
      return { browser, verifier, result };
    };
    // alice@acme.test signed in through Acme's IdP before: Evil's IdP cannot become her.
    const takeover = await viaEvil('alice@acme.test', 'alice-at-evil');
    expect(takeover.browser.status).toBe(403);
    expect(takeover.browser.html).toContain('guest_email_taken');
    // A guest it vouches for is created unverified, and found again by NameID when the email changes.
    const first = await viaEvil('Grace@Contractor.test', 'grace-1');
    const tokens = await client.authorizationCodeGrant(config, (first.result as { redirect: URL }).redirect, { pkceCodeVerifier: first.verifier, expectedState: 'st' });
    expect(tokens.claims()).toMatchObject({ email: 'grace@contractor.test', email_verified: false, org_id: evilOrg });
    const again = await viaEvil('grace@new-contractor.test', 'grace-1');
    const second = await client.authorizationCodeGrant(config, (again.result as { redirect: URL }).redirect, { pkceCodeVerifier: again.verifier, expectedState: 'st' });
    expect(second.claims()!.sub).toBe(tokens.claims()!.sub);
  });

  it('goes straight to the IdP the routing hints lead to: connection_id, organization_id, domain_hint, login_hint', async () => {
    const start = async (hints: Record<string, string>) => {
      const url = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256', ...hints });
      const result = await new HttpBrowser(server.url).go(url.toString());
      return 'redirect' in result ? `${result.redirect.origin}${result.redirect.pathname}` : 'email page';
    };
    expect(await start({ connection_id: connection.id })).toBe(IDP_SSO);
    expect(await start({ organization_id: organizationId })).toBe(IDP_SSO);
    expect(await start({ domain_hint: 'ACME.test' })).toBe(IDP_SSO);
    expect(await start({ login_hint: 'someone@acme.test' })).toBe(IDP_SSO);
    // Hints that lead nowhere (unknown, another environment's, a domain nobody verified): the email page.
    const other = (await mutate(ws.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId: ws.production.id, name: 'Elsewhere' })).organization.id;
    expect(await start({ connection_id: 'con_01jzzzzzzzzzzzzzzzzzzzzzzz' })).toBe('email page');
    expect(await start({ organization_id: other })).toBe('email page');
    expect(await start({ domain_hint: 'unverified.test', login_hint: 'x@unverified.test' })).toBe('email page');
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

const TRACES = `query($con: ID, $filter: SsoTraceFilterInput) {
  ssoTraces(connectionId: $con, first: 20, filter: $filter) {
    totalCount
    nodes { id outcome reason detail email userId requestIds protocol samlRequest samlResponse profile steps { step ok detail } expiresAt }
  }
}`;

describe('sign-in traces', () => {
  it('keeps each attempt with its steps, messages and outcome, findable by the request id an error page showed', async () => {
    const browser = new HttpBrowser(server.url);
    const { verifier, requestId, relayState } = await toIdp(browser, 'tracy@acme.test');
    const back = (await browser.go(connection.saml.acsUrl, { form: { SAMLResponse: await answer(requestId, 'tracy@acme.test', { department: ['Finance'] }), RelayState: relayState } })) as { redirect: URL };
    await client.authorizationCodeGrant(config, back.redirect, { pkceCodeVerifier: verifier, expectedState: 'st' });
    const succeeded = (await ws.client.data(TRACES, { con: connection.id, filter: { outcome: 'SUCCEEDED' } })).ssoTraces.nodes.find((trace: { email: string }) => trace.email === 'tracy@acme.test');
    expect(succeeded.steps.map((step: { step: string }) => step.step)).toEqual(['request_sent', 'response_validated', 'request_matched', 'signed_in']);
    expect(succeeded).toMatchObject({ protocol: 'SAML', reason: null, userId: expect.stringMatching(/^usr_/) });
    expect(succeeded.samlRequest).toContain(`ID="${requestId}"`);
    expect(succeeded.samlResponse).toContain(`InResponseTo="${requestId}"`);
    expect(succeeded.profile.attributes.department).toEqual(['Finance']);
    expect(succeeded.requestIds.length).toBe(3);

    // A refusal after the request was matched ends that attempt's trace; the page's request id finds it.
    const refused = new HttpBrowser(server.url);
    const other = await toIdp(refused, 'ursula@acme.test');
    await refused.request(connection.saml.acsUrl, { form: { SAMLResponse: await answer(other.requestId, 'ursula@elsewhere.test') } });
    const shown = /Request: <code>(req_[0-9a-z]+)<\/code>/.exec(refused.html)![1];
    const failed = (await ws.client.data(TRACES, { con: connection.id, filter: { requestId: shown } })).ssoTraces.nodes;
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ outcome: 'FAILED', reason: 'domain_not_allowed' });
    expect(failed[0].steps.map((step: { step: string }) => step.step)).toEqual(['request_sent', 'response_validated', 'failed']);

    // A response that matches no request (or fails before it could) is an attempt of its own, with what was posted.
    const stray = new HttpBrowser(server.url);
    await stray.request(connection.saml.acsUrl, { form: { SAMLResponse: Buffer.from('<not-saml/>').toString('base64') } });
    const strayId = /Request: <code>(req_[0-9a-z]+)<\/code>/.exec(stray.html)![1];
    const [malformed] = (await ws.client.data(TRACES, { con: connection.id, filter: { requestId: strayId } })).ssoTraces.nodes;
    expect(malformed).toMatchObject({ outcome: 'FAILED', samlResponse: '<not-saml/>', samlRequest: null, profile: null });

    // Kept for the retention period, then gone.
    expect(new Date(malformed.expiresAt).getTime()).toBeGreaterThan(Date.now() + 13 * 24 * 3600_000);
    await pruneSignInState(server.database.db.orm, new Date(Date.now() + 15 * 24 * 3600_000));
    expect((await ws.client.data(TRACES, { con: connection.id })).ssoTraces.totalCount).toBe(0);
  });
});

describe('attribute and group mapping', () => {
  it('reads the connection\'s attribute names, sets mapped custom attributes, and gives roles by the first matching group', async () => {
    await mutate(ws.client, 'createRole', 'CreateRoleInput', 'role { key }', { environmentId: env, key: 'billing', name: 'Billing' });
    await mutate(ws.client, 'createCustomAttributeDefinition', 'CreateCustomAttributeDefinitionInput', 'customAttributeDefinition { key }', { environmentId: env, key: 'department', type: 'STRING' });
    await mutate(ws.client, 'createCustomAttributeDefinition', 'CreateCustomAttributeDefinitionInput', 'customAttributeDefinition { key }', { environmentId: env, key: 'employee_number', type: 'NUMBER' });
    const mapped = await mutate(ws.client, 'updateSamlConnection', 'UpdateSamlConnectionInput', 'ssoConnection { attributeMapping { email custom } groupRoleMappings { group roleKeys } }', {
      id: connection.id,
      attributeMapping: { email: 'primaryMail', custom: { department: 'dept', employee_number: 'empNo' } },
      groupRoleMappings: [
        { group: 'Gatehouse Admins', roleKeys: ['admin'] },
        { group: 'Finance', roleKeys: ['billing', 'member'] },
      ],
    });
    expect(mapped.ssoConnection).toMatchObject({ attributeMapping: { email: 'primaryMail', custom: { department: 'dept', employee_number: 'empNo' } }, groupRoleMappings: [{ group: 'Gatehouse Admins' }, { group: 'Finance' }] });

    const signInWith = async (attributes: Record<string, string[]>) => {
      const browser = new HttpBrowser(server.url);
      const { verifier, requestId, relayState } = await toIdp(browser, 'mapped@acme.test');
      const back = (await browser.go(connection.saml.acsUrl, { form: { SAMLResponse: await answer(requestId, 'ignored@acme.test', { email: ['ignored@acme.test'], ...attributes }, 'mapped-nameid'), RelayState: relayState } })) as { redirect: URL };
      expect(back.redirect, browser.html.slice(0, 800)).toBeDefined();
      return (await client.authorizationCodeGrant(config, back.redirect, { pkceCodeVerifier: verifier, expectedState: 'st' })).claims()!;
    };
    // Both groups match: the first row wins. The connection's email attribute wins over `email`.
    const first = await signInWith({ primaryMail: ['Mapped@Acme.test'], groups: ['finance', 'Gatehouse Admins'], dept: ['Research'], empNo: ['4711'] });
    expect(first).toMatchObject({ email: 'mapped@acme.test', roles: ['admin'] });
    const users = await ws.client.data(`query($env: ID) { users(environmentId: $env, first: 100) { nodes { email customAttributes } } }`, { env });
    expect(users.users.nodes.find((u: { email: string }) => u.email === 'mapped@acme.test').customAttributes).toEqual({ department: 'Research', employee_number: 4711 });
    // Moved to Finance at the IdP: the next sign-in follows, and the change is audited.
    expect(await signInWith({ primaryMail: ['mapped@acme.test'], groups: ['Finance'], empNo: ['not a number'] })).toMatchObject({ roles: ['billing', 'member'] });
    const changed = await ws.client.data(`query($env: ID) { auditEvents(environmentId: $env, first: 5, filter: { actions: ["membership.roles_changed"] }) { nodes { before after } } }`, { env });
    expect(changed.auditEvents.nodes[0]).toMatchObject({ before: { roles: ['admin'] }, after: { roles: ['billing', 'member'], changedBy: 'sso' } });
    // In no mapped group: the default role.
    expect(await signInWith({ primaryMail: ['mapped@acme.test'], groups: ['Interns'] })).toMatchObject({ roles: ['member'] });

    // Bad mappings are refused, naming the field.
    const refused = async (input: object) =>
      (await ws.client.data(`mutation($input: UpdateSamlConnectionInput!) { updateSamlConnection(input: $input) { userErrors { code field } } }`, { input: { id: connection.id, ...input } })).updateSamlConnection.userErrors[0];
    expect(await refused({ groupRoleMappings: [{ group: 'X', roleKeys: ['no-such-role'] }] })).toMatchObject({ code: 'role.unknown', field: ['input', 'groupRoleMappings', '0', 'roleKeys'] });
    expect(await refused({ groupRoleMappings: [{ group: 'X', roleKeys: ['admin'] }, { group: 'x', roleKeys: ['member'] }] })).toMatchObject({ code: 'sso_connection.duplicate_group' });
    expect(await refused({ attributeMapping: { custom: { shoe_size: 'shoe' } } })).toMatchObject({ code: 'sso_connection.unknown_attribute' });
    expect(await refused({ attributeMapping: { email: 'mail\u202Eliam' } })).toMatchObject({ code: 'sso_connection.invalid_attribute_name' });

    // Roles back to Gatehouse: the mapping is emptied, and a sign-in no longer touches them.
    await mutate(ws.client, 'updateSamlConnection', 'UpdateSamlConnectionInput', 'ssoConnection { id }', { id: connection.id, groupRoleMappings: [], attributeMapping: null });
  });
});

describe('organizations that require SSO', () => {
  const OUTBOX = `query($env: ID) { developmentOutbox(environmentId: $env, first: 1) { nodes { recipient text } } }`;

  it('sends no code to their addresses, refuses a code sent before, and shows why', async () => {
    const strict = (await mutate(ws.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id requireSso }', { environmentId: env, name: 'Strict', domains: [{ domain: 'strict.test', state: 'VERIFIED' }] }))
      .organization;
    expect(strict.requireSso).toBe(false);
    // A code asked for while passwordless sign-in was still allowed…
    const early = new HttpBrowser(server.url);
    await early.go(client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256' }).toString());
    await early.submit('/sign-in/email', { email: 'bob@strict.test' });
    expect(early.html).toContain('Check your email');
    const [mail] = (await ws.client.data(OUTBOX, { env })).developmentOutbox.nodes;
    expect(mail.recipient).toBe('bob@strict.test');
    // …is refused once the organization requires SSO.
    await mutate(ws.client, 'updateOrganization', 'UpdateOrganizationInput', 'organization { requireSso }', { id: strict.id, requireSso: true });
    await early.submit('/sign-in/code', { code: /code is (\d{6})/.exec(mail.text)![1] });
    expect(early.status).toBe(422);
    expect(early.html).toContain('requires you to sign in through its identity provider');
    const failures = await ws.client.data(`query($env: ID) { auditEvents(environmentId: $env, first: 1, filter: { actions: ["user.signin_failed"] }) { nodes { after } } }`, { env });
    expect(failures.auditEvents.nodes[0].after).toMatchObject({ reason: 'sso_required' });

    // Without an active connection the address gets a page that says why, and no mail.
    const later = new HttpBrowser(server.url);
    await later.go(client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256' }).toString());
    await later.submit('/sign-in/email', { email: 'carol@strict.test' });
    expect(later.status).toBe(403);
    expect(later.html).toContain('sso_required');
    expect((await ws.client.data(OUTBOX, { env })).developmentOutbox.nodes[0].recipient).not.toBe('carol@strict.test');
  });
});

describe('IdP-initiated sign-in', () => {
  it('signs the person in and asks the application to start its own sign-in, which then completes at once; never twice', async () => {
    const START = 'http://localhost:3000/start-sign-in';
    const portal = await mutate(ws.client, 'createApplication', 'CreateApplicationInput', 'application { id clientId initiateLoginUri }', {
      environmentId: env,
      name: 'Launcher',
      type: 'WEB',
      redirectUris: [REDIRECT],
      initiateLoginUri: START,
    });
    expect(portal.application.initiateLoginUri).toBe(START);
    const plain = await mutate(ws.client, 'createApplication', 'CreateApplicationInput', 'application { id }', { environmentId: env, name: 'No start URL', type: 'WEB', redirectUris: [REDIRECT] });
    const refused = async (input: object) =>
      (await ws.client.data(`mutation($input: UpdateSamlConnectionInput!) { updateSamlConnection(input: $input) { userErrors { code field } } }`, { input: { id: connection.id, ...input } })).updateSamlConnection.userErrors[0];
    expect(await refused({ idpInitiatedApplicationId: plain.application.id })).toMatchObject({ code: 'sso_connection.application_cannot_start_sign_in', field: ['input', 'idpInitiatedApplicationId'] });
    expect(await refused({ idpInitiatedApplicationId: 'app_01jzzzzzzzzzzzzzzzzzzzzzzz' })).toMatchObject({ code: 'sso_connection.unknown_application' });
    await mutate(ws.client, 'updateSamlConnection', 'UpdateSamlConnectionInput', 'ssoConnection { saml { allowIdpInitiated idpInitiatedApplicationId } }', {
      id: connection.id,
      allowIdpInitiated: true,
      idpInitiatedApplicationId: portal.application.id,
    });

    // The IdP's portal posts an unsolicited response (no InResponseTo) to the ACS.
    const xml = await idp.response({
      sign: 'both',
      nameId: 'irene@acme.test',
      attributes: { email: ['irene@acme.test'] },
      values: { Destination: connection.saml.acsUrl, Audience: connection.saml.spEntityId, SubjectRecipient: connection.saml.acsUrl, InResponseTo: null },
    });
    const browser = new HttpBrowser(server.url);
    const landed = (await browser.go(connection.saml.acsUrl, { form: { SAMLResponse: toBase64(xml), RelayState: '' } })) as { redirect: URL };
    expect(`${landed.redirect.origin}${landed.redirect.pathname}`).toBe(START);
    expect(landed.redirect.searchParams.get('iss')).toBe(issuer);
    expect(landed.redirect.searchParams.get('login_hint')).toBe('irene@acme.test');
    // The application starts a normal authorization request: the browser is signed in, so a code comes back at once.
    const appConfig = await client.discovery(new URL(issuer), portal.application.clientId, undefined, client.ClientSecretPost((await mutate(ws.client, 'createClientSecret', 'CreateClientSecretInput', 'secret', { clientId: portal.application.clientId })).secret), {
      execute: [client.allowInsecureRequests],
    });
    const verifier = client.randomPKCECodeVerifier();
    const authorize = client.buildAuthorizationUrl(appConfig, { redirect_uri: REDIRECT, scope: 'openid email', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 's1', login_hint: 'irene@acme.test' });
    const back = (await browser.go(authorize.toString())) as { redirect: URL };
    expect(back.redirect.searchParams.get('code'), browser.html.slice(0, 400)).toBeTruthy();
    const tokens = await client.authorizationCodeGrant(appConfig, back.redirect, { pkceCodeVerifier: verifier, expectedState: 's1' });
    expect(tokens.claims()).toMatchObject({ email: 'irene@acme.test', amr: ['sso'], org_id: organizationId });

    // The same response again, in any browser: refused.
    const replay = new HttpBrowser(server.url);
    await replay.request(connection.saml.acsUrl, { form: { SAMLResponse: toBase64(xml) } });
    expect(replay.status).toBe(400);
    expect(replay.html).toContain('sso.replayed');
    const trace = (await ws.client.data(`query($con: ID) { ssoTraces(connectionId: $con, first: 5, filter: { outcome: SUCCEEDED }) { nodes { email steps { step } } } }`, { con: connection.id })).ssoTraces.nodes[0];
    expect(trace).toMatchObject({ email: 'irene@acme.test' });
    expect(trace.steps.map((step: { step: string }) => step.step)).toEqual(['response_validated', 'idp_initiated', 'signed_in', 'handed_to_application']);

    await mutate(ws.client, 'updateSamlConnection', 'UpdateSamlConnectionInput', 'ssoConnection { id }', { id: connection.id, allowIdpInitiated: false, idpInitiatedApplicationId: null });
  });
});

describe('SP keys: signed AuthnRequests and encrypted assertions', () => {
  const KEYS = `query($id: ID!) { node(id: $id) { ... on SsoConnection { spKeys { id use certificate fingerprint } } } }`;
  const newKey = (use: 'SIGNING' | 'ENCRYPTION', connectionId = connection.id) =>
    ws.client.data(`mutation($input: CreateSsoSpKeyInput!) { createSsoSpKey(input: $input) { spKey { id use certificate fingerprint } userErrors { code field } } }`, { input: { connectionId, use } });

  it('signs AuthnRequests with the newest signing key and lists every key in the SP metadata', async () => {
    const { spKey } = (await newKey('SIGNING')).createSsoSpKey;
    expect(spKey).toMatchObject({ use: 'SIGNING', certificate: expect.stringContaining('BEGIN CERTIFICATE') });
    expect(new X509Certificate(spKey.certificate).fingerprint256).toBe(spKey.fingerprint);
    const metadata = await (await fetch(connection.saml.spEntityId + '/metadata')).text();
    expect(metadata).toContain('AuthnRequestsSigned="true"');
    expect(metadata).toContain(spKey.certificate.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '').slice(0, 64));

    const browser = new HttpBrowser(server.url);
    const verifier = client.randomPKCECodeVerifier();
    await browser.go(client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' }).toString());
    const sent = (await browser.go(`/e/${env}/sign-in/email`, { form: { ...browser.form('/sign-in/email').fields, email: 'sig@acme.test' } })) as { redirect: URL };
    // SAML Bindings §3.4.4.1: the signature covers the query as sent, SAMLRequest, RelayState, SigAlg.
    const query = sent.redirect.search.slice(1);
    const signed = query.slice(0, query.indexOf('&Signature='));
    expect(signed).toMatch(/^SAMLRequest=[^&]+&RelayState=[^&]+&SigAlg=http%3A%2F%2Fwww\.w3\.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256$/);
    const signature = Buffer.from(sent.redirect.searchParams.get('Signature')!, 'base64');
    expect(createVerify('RSA-SHA256').update(signed).verify(spKey.certificate, signature)).toBe(true);
    expect(createVerify('RSA-SHA256').update(signed.replace('RelayState=', 'RelayState=x')).verify(spKey.certificate, signature)).toBe(false);

    await ws.client.data(`mutation($id: ID!) { deleteSsoSpKey(input: { id: $id }) { deletedId } }`, { id: spKey.id });
  });

  it('decrypts assertions encrypted to any listed encryption key, and no longer to a deleted one', async () => {
    const first = (await newKey('ENCRYPTION')).createSsoSpKey.spKey;
    const second = (await newKey('ENCRYPTION')).createSsoSpKey.spKey;
    expect((await ws.client.data(KEYS, { id: connection.id })).node.spKeys.map((key: { id: string }) => key.id)).toEqual([second.id, first.id]);
    const signInEncryptedTo = async (cert: string, email: string) => {
      const browser = new HttpBrowser(server.url);
      const { verifier, requestId, relayState } = await toIdp(browser, email);
      const xml = await idp.response({
        sign: 'assertion',
        nameId: email,
        attributes: { email: [email] },
        encrypt: { cert },
        values: { Destination: connection.saml.acsUrl, Audience: connection.saml.spEntityId, SubjectRecipient: connection.saml.acsUrl, InResponseTo: requestId },
      });
      expect(xml).toContain('EncryptedAssertion');
      const result = await browser.go(connection.saml.acsUrl, { form: { SAMLResponse: toBase64(xml), RelayState: relayState } });
      return { browser, result, verifier };
    };
    const old = await signInEncryptedTo(first.certificate, 'enc1@acme.test');
    const tokens = await client.authorizationCodeGrant(config, (old.result as { redirect: URL }).redirect, { pkceCodeVerifier: old.verifier, expectedState: 'st' });
    expect(tokens.claims()).toMatchObject({ email: 'enc1@acme.test', amr: ['sso'] });
    expect('redirect' in (await signInEncryptedTo(second.certificate, 'enc2@acme.test')).result).toBe(true);

    await ws.client.data(`mutation($id: ID!) { deleteSsoSpKey(input: { id: $id }) { deletedId } }`, { id: first.id });
    const refused = await signInEncryptedTo(first.certificate, 'enc3@acme.test');
    expect(refused.browser.status).toBe(400);
    expect(refused.browser.html).toContain('sso.decryption_failed');
    await ws.client.data(`mutation($id: ID!) { deleteSsoSpKey(input: { id: $id }) { deletedId } }`, { id: second.id });
  });

  it('refuses a fourth key of one use, and keys for a connection that is not SAML', async () => {
    const made = [];
    for (let index = 0; index < 3; index += 1) made.push((await newKey('SIGNING')).createSsoSpKey.spKey.id);
    expect((await newKey('SIGNING')).createSsoSpKey.userErrors[0]).toMatchObject({ code: 'sso_connection.too_many_sp_keys', field: ['input', 'use'] });
    for (const id of made) await ws.client.data(`mutation($id: ID!) { deleteSsoSpKey(input: { id: $id }) { deletedId } }`, { id });
    const oidc = await mutate(ws.client, 'createOidcConnection', 'CreateOidcConnectionInput', 'ssoConnection { id }', { organizationId, name: 'OIDC' });
    expect((await newKey('SIGNING', oidc.ssoConnection.id)).createSsoSpKey.userErrors[0]).toMatchObject({ code: 'sso_connection.wrong_type' });
  });
});

describe('concurrent first sign-ins', () => {
  it('sign the same new person in twice at once as one user', async () => {
    const start = async () => {
      const browser = new HttpBrowser(server.url);
      const { verifier, requestId, relayState } = await toIdp(browser, 'twice@acme.test');
      const acs = await browser.request(connection.saml.acsUrl, { form: { SAMLResponse: await answer(requestId, 'twice@acme.test', {}, 'twice-nameid'), RelayState: relayState } });
      expect(acs.status).toBe(303);
      return { browser, verifier, next: acs.headers.get('location')! };
    };
    const [one, two] = await Promise.all([start(), start()]);
    // Both browsers come back at once: both transactions want to create the user and its link.
    const [first, second] = (await Promise.all([one.browser.go(one.next), two.browser.go(two.next)])) as { redirect: URL }[];
    const subjects = await Promise.all(
      [
        [first, one.verifier],
        [second, two.verifier],
      ].map(async ([result, verifier]) => (await client.authorizationCodeGrant(config, (result as { redirect: URL }).redirect, { pkceCodeVerifier: verifier as string, expectedState: 'st' })).claims()!.sub),
    );
    expect(subjects[0]).toBe(subjects[1]);
  });
});
