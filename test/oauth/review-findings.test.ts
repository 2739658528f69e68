import { randomBytes } from 'node:crypto';
import { decodeJwt, SignJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';
import { API, OTHER_API, basic, clientKeyPair, mutate, oauthFixture, postForm, requestFrom, type KeyPair, type OAuthFixture } from '../helpers/oauth.js';

/**
 * Regressions of the outside security review (issue 8), through the real HTTP interface:
 *  4   token exchange: audience bounded across hops, organization boundary for actors,
 *      namespaced outside subjects and actors, exchanged tokens stop with their subject;
 *  8   introspection answers only the token's own client or its resource servers;
 *  10  one party's failed client logins lock out nobody else behind its address;
 *  11a NUL and ill-formed Unicode are bad input at every OAuth endpoint, never a 500.
 */

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
const JWT = 'urn:ietf:params:oauth:token-type:jwt';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const EXTERNAL_ISSUER = 'https://idp.partner.example.test';
/** Failed authentications (and open registrations) per address per minute on this server. */
const BUDGET = 5;
const UNKNOWN_CLIENT = 'sva_00000000000000000000000000';

type Client = { clientId: string; secret: string };
type Response = { status: number; headers: Headers; body: any };

let server: TestServer;
let ws: TestWorkspace;
/** An organization's (Acme's) service account reaching API and OTHER_API with read write other. */
let f: OAuthFixture;
let partner: KeyPair;

/** Each test that counts failures or registrations per address gets loopback addresses of its own. */
let lastHost = 10;
const freshAddress = () => `127.0.0.${(lastHost += 1)}`;

const from = requestFrom;

const formFrom = (address: string, url: string, form: Record<string, string>, headers: Record<string, string> = {}) =>
  from(address, url, { headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form).toString() });

/** A JSON registration request (RFC 7591), each from a fresh address so the open-registration budget never interferes. */
const register = (body: unknown, headers: Record<string, string> = {}, address = freshAddress()) =>
  from(address, `${f.issuer}/oauth/register`, { headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

function expectError(response: Response, status: number, error: string, label = '') {
  const what = `${label} → ${status} ${error}; got ${response.status} ${JSON.stringify(response.body)}`;
  expect(response.status, what).toBe(status);
  expect(response.body, what).toMatchObject({ error });
  expect(response.body.access_token, what).toBeUndefined();
}

async function serviceAccount(name: string, input: Record<string, unknown>): Promise<Client> {
  const created = await mutate(ws.client, 'createServiceAccount', 'CreateServiceAccountInput', 'serviceAccount { clientId }', { environmentId: f.environmentId, name, ...input });
  const secret = await mutate(ws.client, 'createClientSecret', 'CreateClientSecretInput', 'secret', { clientId: created.serviceAccount.clientId });
  return { clientId: created.serviceAccount.clientId, secret: secret.secret };
}

async function accessToken(client: Client, params: Record<string, string>): Promise<string> {
  const response = await postForm(f.tokenEndpoint, { grant_type: 'client_credentials', ...params }, { authorization: basic(client.clientId, client.secret) });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body.access_token;
}

const exchange = (client: Client, params: Record<string, string>) =>
  postForm(f.tokenEndpoint, { grant_type: TOKEN_EXCHANGE, subject_token_type: ACCESS_TOKEN, ...params }, { authorization: basic(client.clientId, client.secret) });

async function exchanged(client: Client, params: Record<string, string>): Promise<string> {
  const response = await exchange(client, params);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body.access_token;
}

const introspect = (token: string, client: Client) => postForm(`${f.issuer}/oauth/introspect`, { token }, { authorization: basic(client.clientId, client.secret) });
const isActive = async (token: string, client: Client) => (await introspect(token, client)).body.active as boolean;

/** A token of the trusted partner IdP, for this environment. */
const partnerToken = (claims: JWTPayload) =>
  new SignJWT({ iss: EXTERNAL_ISSUER, aud: f.issuer, ...claims }).setProtectedHeader({ alg: 'ES256', kid: partner.publicJwk.kid }).setIssuedAt().setExpirationTime('5m').sign(partner.privateKey);

const setPolicy = (input: Record<string, unknown>) =>
  mutate(ws.client, 'updateClientRegistrationPolicy', 'UpdateClientRegistrationPolicyInput', 'initialAccessToken environment { clientRegistrationPolicy }', {
    environmentId: f.environmentId,
    ...input,
  });

async function auditCount(actions: string[]): Promise<number> {
  const data = await ws.client.data(`query($env: ID, $actions: [String!]) { auditEvents(environmentId: $env, filter: { actions: $actions }) { totalCount } }`, {
    env: f.environmentId,
    actions,
  });
  return data.auditEvents.totalCount;
}

beforeAll(async () => {
  server = await startServer({ authFailuresPerMinute: BUDGET });
  ws = await server.workspace();
  f = await oauthFixture(ws.client, ws.development.id);
  partner = await clientKeyPair('ES256', 'partner-1');
  await mutate(ws.client, 'createTrustedIssuer', 'CreateTrustedIssuerInput', 'trustedIssuer { id }', {
    environmentId: f.environmentId,
    name: 'Partner IdP',
    issuer: EXTERNAL_ISSUER,
    jwks: { keys: [partner.publicJwk] },
    audiences: [f.issuer],
  });
});
afterAll(() => server?.close());

describe('4. token exchange', () => {
  const exchanger = { grantTypes: ['client_credentials', TOKEN_EXCHANGE], allowedScopes: ['read', 'write', 'other'], allowedAudiences: [API, OTHER_API] };
  /** S: may reach API only. */
  let narrow: Client;
  /** X and Y: may reach API and OTHER_API, and exchange. */
  let x: Client;
  let y: Client;

  beforeAll(async () => {
    narrow = await serviceAccount('Narrow subject', { allowedScopes: ['read'], allowedAudiences: [API] });
    x = await serviceAccount('Exchanger X', exchanger);
    y = await serviceAccount('Exchanger Y', exchanger);
  });

  it('bounds the audience by the original subject client across any number of hops', async () => {
    const subjectToken = await accessToken(narrow, { resource: API });
    // One hop: refused (this held before).
    expectError(await exchange(x, { subject_token: subjectToken, resource: OTHER_API }), 400, 'invalid_target', 'one hop');
    // Two hops: first to API (the new token's client_id is X), then that token to OTHER_API.
    const hop1 = await exchanged(x, { subject_token: subjectToken, resource: API });
    expect(decodeJwt(hop1)).toMatchObject({ sub: narrow.clientId, client_id: x.clientId, aud: API });
    expectError(await exchange(x, { subject_token: hop1, resource: OTHER_API }), 400, 'invalid_target', 'two hops, same exchanger');
    expectError(await exchange(y, { subject_token: hop1, resource: OTHER_API }), 400, 'invalid_target', 'two hops, another exchanger');
    // Deeper: still bound by S.
    const hop2 = await exchanged(y, { subject_token: hop1, resource: API });
    const hop3 = await exchanged(x, { subject_token: hop2 });
    expect(decodeJwt(hop3)).toMatchObject({ sub: narrow.clientId, client_id: x.clientId, aud: API });
    expectError(await exchange(y, { subject_token: hop3, resource: OTHER_API }), 400, 'invalid_target', 'four hops');
    expectError(await exchange(y, { subject_token: hop3, audience: OTHER_API }), 400, 'invalid_target', 'four hops, audience parameter');
    // The chain a token carries is bounded: five exchanges deep, no further.
    const hop5 = await exchanged(x, { subject_token: await exchanged(y, { subject_token: hop3 }) });
    expect((decodeJwt(hop5).gh_exchanged_from as unknown[]).length).toBe(5);
    expectError(await exchange(y, { subject_token: hop5 }), 400, 'invalid_request', 'six hops');
  });

  it("never takes provenance from a client's custom claims", async () => {
    // A narrow client whose custom claims pretend its tokens were exchanged from a wide client's.
    const created = await ws.client.request(
      `mutation($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) { serviceAccount { clientId } userErrors { code } } }`,
      {
        input: {
          environmentId: f.environmentId,
          name: 'Forger',
          allowedScopes: ['read'],
          allowedAudiences: [API],
          customClaims: { gh_exchanged_from: [{ jti: 'at_01jd0000000000000000000000', client_id: x.clientId }], team: 'blue' },
        },
      },
    );
    const payload = created.data?.createServiceAccount;
    // The management API may refuse the claim name outright; if it takes it, the token endpoint ignores it.
    if (!payload?.serviceAccount) return;
    const secret = await mutate(ws.client, 'createClientSecret', 'CreateClientSecretInput', 'secret', { clientId: payload.serviceAccount.clientId });
    const forger = { clientId: payload.serviceAccount.clientId, secret: secret.secret };
    const token = await accessToken(forger, { resource: API });
    expect(decodeJwt(token)).toMatchObject({ team: 'blue' });
    expect(decodeJwt(token).gh_exchanged_from).toBeUndefined();
    expectError(await exchange(y, { subject_token: token, resource: OTHER_API }), 400, 'invalid_target', 'forged provenance');
  });

  it('applies the organization boundary to actor tokens', async () => {
    const globex = await mutate(ws.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId: f.environmentId, name: 'Globex' });
    const acmeExchanger = await serviceAccount('Acme exchanger', { ...exchanger, organizationId: f.organizationId });
    const globexAccount = await serviceAccount('Globex account', { organizationId: globex.organization.id, allowedScopes: ['read'], allowedAudiences: [API] });
    const subjectToken = await accessToken({ clientId: f.clientId, secret: f.secret }, { resource: API, scope: 'read' });
    const globexActor = await accessToken(globexAccount, { resource: API });
    const withActor = (actor: string) => ({ subject_token: subjectToken, actor_token: actor, actor_token_type: ACCESS_TOKEN, resource: API });

    expectError(await exchange(acmeExchanger, withActor(globexActor)), 400, 'invalid_request', "Acme's exchanger naming Globex's account");
    expectError(await exchange(x, withActor(globexActor)), 400, 'invalid_request', "an environment exchanger naming Globex's account for Acme");
    // Nor for an outside subject, through Acme's exchanger.
    const outsider = await partnerToken({ sub: 'partner-user-1', scope: 'read' });
    expectError(await exchange(acmeExchanger, { ...withActor(globexActor), subject_token: outsider, subject_token_type: JWT }), 400, 'invalid_request', 'outside subject');

    // The controls: an actor of the same organization, or of none.
    const acmeActor = await accessToken(acmeExchanger, { resource: API });
    expect(decodeJwt(await exchanged(acmeExchanger, withActor(acmeActor)))).toMatchObject({ org_id: f.organizationId, act: { sub: acmeExchanger.clientId } });
    const xActor = await accessToken(x, { resource: API });
    expect(decodeJwt(await exchanged(x, withActor(xActor)))).toMatchObject({ org_id: f.organizationId, act: { sub: x.clientId } });
  });

  it('namespaces outside subjects and records the issuer on every outside actor', async () => {
    // A partner token whose sub is a local client id must not read as that client.
    const spoof = await partnerToken({ sub: narrow.clientId, scope: 'read' });
    const fromSpoof = await exchanged(x, { subject_token: spoof, subject_token_type: JWT, resource: API });
    const claims = decodeJwt(fromSpoof);
    expect(claims.sub).toBe(`${EXTERNAL_ISSUER}#${narrow.clientId}`);
    expect(claims.org_id).toBeUndefined();
    const own = decodeJwt(await accessToken(narrow, { resource: API }));
    expect(claims.sub).not.toBe(own.sub);
    // Exchanged again, it stays namespaced, bounded by the first exchanger.
    expect(decodeJwt(await exchanged(y, { subject_token: fromSpoof, resource: API })).sub).toBe(`${EXTERNAL_ISSUER}#${narrow.clientId}`);

    // Actors the partner names, and a partner actor token, carry the partner as iss; an iss the
    // partner gives (a third party) is kept.
    const delegated = await partnerToken({ sub: 'partner-user-7', scope: 'read', act: { sub: x.clientId, act: { sub: 'agent-9', iss: 'https://third.example.test' } } });
    const partnerActor = await partnerToken({ sub: y.clientId });
    const result = decodeJwt(await exchanged(x, { subject_token: delegated, subject_token_type: JWT, actor_token: partnerActor, actor_token_type: JWT, resource: API }));
    expect(result.sub).toBe(`${EXTERNAL_ISSUER}#partner-user-7`);
    expect(result.act).toEqual({
      sub: y.clientId,
      iss: EXTERNAL_ISSUER,
      act: { sub: x.clientId, iss: EXTERNAL_ISSUER, act: { sub: 'agent-9', iss: 'https://third.example.test' } },
    });
    // The partner cannot name actors of this environment.
    const claimsOurs = await partnerToken({ sub: 'partner-user-8', scope: 'read', act: { sub: x.clientId, iss: f.issuer } });
    expectError(await exchange(x, { subject_token: claimsOurs, subject_token_type: JWT, resource: API }), 400, 'invalid_request', 'act with our issuer');
  });

  it('stops exchanged tokens, at every hop, when a token before them is revoked', async () => {
    const subjectToken = await accessToken(narrow, { resource: API });
    const hop1 = await exchanged(x, { subject_token: subjectToken, resource: API });
    const hop2 = await exchanged(y, { subject_token: hop1, resource: API });
    expect(await isActive(hop1, x)).toBe(true);
    expect(await isActive(hop2, y)).toBe(true);

    // The middle of the chain: X revokes its token; Y's, exchanged from it, stops too.
    expect((await postForm(`${f.issuer}/oauth/revoke`, { token: hop1 }, { authorization: basic(x.clientId, x.secret) })).status).toBe(200);
    expect(await isActive(hop2, y)).toBe(false);
    expect(await isActive(subjectToken, narrow)).toBe(true);

    // The root: S revokes its token; everything exchanged from it stops, and cannot be exchanged again.
    const other1 = await exchanged(x, { subject_token: subjectToken, resource: API });
    const other2 = await exchanged(y, { subject_token: other1, resource: API });
    expect((await postForm(`${f.issuer}/oauth/revoke`, { token: subjectToken }, { authorization: basic(narrow.clientId, narrow.secret) })).status).toBe(200);
    expect(await isActive(other1, x)).toBe(false);
    expect(await isActive(other2, y)).toBe(false);
    expectError(await exchange(y, { subject_token: other1, resource: API }), 400, 'invalid_request', 're-exchange after revocation');
    expectError(await exchange(x, { subject_token: other2, resource: API }), 400, 'invalid_request', 're-exchange two hops after revocation');
  });

  it('stops exchanged tokens when the subject client, or any client up the chain, is disabled', async () => {
    const subjectClient = await serviceAccount('Soon disabled subject', { allowedScopes: ['read'], allowedAudiences: [API] });
    const middle = await serviceAccount('Soon disabled exchanger', exchanger);
    const hop1 = await exchanged(middle, { subject_token: await accessToken(subjectClient, { resource: API }), resource: API });
    const hop2 = await exchanged(y, { subject_token: hop1, resource: API });
    const viaX = await exchanged(x, { subject_token: await accessToken(subjectClient, { resource: API }), resource: API });
    expect(await isActive(hop2, y)).toBe(true);
    expect(await isActive(viaX, x)).toBe(true);

    // The exchanger in the middle is disabled: Y's token from it stops.
    await mutate(ws.client, 'updateServiceAccount', 'UpdateServiceAccountInput', 'serviceAccount { enabled }', { id: middle.clientId, enabled: false });
    expect(await eventually(() => isActive(hop2, y), (active) => !active, 5000)).toBe(false);
    expect(await isActive(viaX, x)).toBe(true);

    // The subject's client is disabled: the token X got for it stops, and cannot be exchanged again.
    await mutate(ws.client, 'updateServiceAccount', 'UpdateServiceAccountInput', 'serviceAccount { enabled }', { id: subjectClient.clientId, enabled: false });
    expect(await eventually(() => isActive(viaX, x), (active) => !active, 5000)).toBe(false);
    expectError(await exchange(y, { subject_token: viaX, resource: API }), 400, 'invalid_request', 'exchange of a disabled subject');
  });
});

describe('8. introspection', () => {
  it("answers active only to the token's own client or a client standing for a resource server in its audience", async () => {
    const token = await accessToken({ clientId: f.clientId, secret: f.secret }, { resource: API, scope: 'read' });
    // The token's own client.
    expect((await introspect(token, { clientId: f.clientId, secret: f.secret })).body).toMatchObject({ active: true, client_id: f.clientId, aud: API });
    // An API's backend: a client the builder provisioned for the token's audience.
    const backend = await serviceAccount('API backend', { allowedScopes: ['read'], allowedAudiences: [API] });
    expect((await introspect(token, backend)).body).toMatchObject({ active: true, sub: f.clientId });

    // Anyone else learns nothing: exactly {"active": false}.
    const otherApi = await serviceAccount('Other API backend', { allowedScopes: ['other'], allowedAudiences: [OTHER_API] });
    expect((await introspect(token, otherApi)).body, 'a client of another audience').toEqual({ active: false });
    const noAudience = await serviceAccount('No audience', {});
    expect((await introspect(token, noAudience)).body, 'a client of no audience').toEqual({ active: false });
    const globex = await mutate(ws.client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId: f.environmentId, name: 'Globex for introspection' });
    const otherOrg = await serviceAccount('Globex API account', { organizationId: globex.organization.id, allowedScopes: ['read'], allowedAudiences: [API] });
    expect((await introspect(token, otherOrg)).body, "another organization's account").toEqual({ active: false });

    // A client anyone registered under OPEN registration, whose scopes give it API as audience.
    await setPolicy({ policy: 'OPEN', registrationScopes: ['read'] });
    const registered = await register({ client_name: 'Anonymous', scope: 'read' });
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    const anonymous = { clientId: registered.body.client_id, secret: registered.body.client_secret };
    expect((await introspect(token, anonymous)).body, 'an anonymously registered client').toEqual({ active: false });
    // ...which still introspects its own tokens.
    const own = await accessToken(anonymous, { resource: API });
    expect((await introspect(own, anonymous)).body).toMatchObject({ active: true, client_id: anonymous.clientId });
    await setPolicy({ policy: 'OFF' });
  });
});

describe('10. failed client logins', () => {
  const tokenForm = { grant_type: 'client_credentials', resource: API };

  it('throttle the failing party only: a valid client behind the same address still authenticates', async () => {
    const address = freshAddress();
    const failedBefore = await auditCount(['oauth.client_authentication_failed']);
    for (let i = 0; i < BUDGET; i += 1) {
      expectError(await formFrom(address, f.tokenEndpoint, tokenForm, { authorization: basic(UNKNOWN_CLIENT, `ghcs_${randomBytes(8).toString('hex')}`) }), 401, 'invalid_client', `failure ${i + 1}`);
    }
    const throttled = await formFrom(address, f.tokenEndpoint, tokenForm, { authorization: basic(UNKNOWN_CLIENT, 'ghcs_again') });
    expectError(throttled, 429, 'invalid_client', 'past the budget');
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

    // Another client behind the same address, with valid credentials, by secret and by key, at the token and introspection endpoints.
    const issued = await formFrom(address, f.tokenEndpoint, tokenForm, { authorization: basic(f.clientId, f.secret) });
    expect(issued.status, JSON.stringify(issued.body)).toBe(200);
    const assertion = await new SignJWT({ iss: f.clientId, sub: f.clientId, aud: f.issuer, jti: randomBytes(8).toString('hex') })
      .setProtectedHeader({ alg: 'ES256', kid: f.key.publicJwk.kid })
      .setExpirationTime('1m')
      .sign(f.key.privateKey);
    expect((await formFrom(address, f.tokenEndpoint, { ...tokenForm, client_assertion_type: ASSERTION_TYPE, client_assertion: assertion })).status).toBe(200);
    const introspection = await formFrom(address, `${f.issuer}/oauth/introspect`, { token: issued.body.access_token }, { authorization: basic(f.clientId, f.secret) });
    expect(introspection.body).toMatchObject({ active: true });

    // The failing party stays throttled, and its failures past the budget are not audited.
    expectError(await formFrom(address, f.tokenEndpoint, tokenForm, { authorization: basic(UNKNOWN_CLIENT, 'ghcs_still') }), 429, 'invalid_client', 'still failing');
    expectError(await formFrom(address, f.tokenEndpoint, tokenForm, { authorization: basic(f.clientId, 'ghcs_wrong') }), 429, 'invalid_client', 'a wrong secret from there');
    expect(await auditCount(['oauth.client_authentication_failed'])).toBe(failedBefore + BUDGET);
  });

  it('let a valid initial access token register from an address whose other parties failed', async () => {
    const { initialAccessToken } = await setPolicy({ policy: 'INITIAL_ACCESS_TOKEN', registrationScopes: ['read'], issueInitialAccessToken: true });
    const address = freshAddress();
    for (let i = 0; i <= BUDGET; i += 1) await formFrom(address, f.tokenEndpoint, tokenForm, { authorization: basic(UNKNOWN_CLIENT, 'ghcs_x') });
    expectError(await formFrom(address, f.tokenEndpoint, tokenForm, { authorization: basic(UNKNOWN_CLIENT, 'ghcs_x') }), 429, 'invalid_client', 'the address is throttled');
    const registered = await register({ client_name: 'Behind the NAT' }, { authorization: `Bearer ${initialAccessToken}` }, address);
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    // A wrong initial access token from there is a failure past the budget.
    expectError(await register({ client_name: 'Guess' }, { authorization: 'Bearer ghiat_wrong' }, address), 429, 'invalid_token', 'wrong token');
    await setPolicy({ policy: 'OFF' });
  });
});

describe('11a. NUL and ill-formed Unicode', () => {
  const NUL = '\u0000';
  const LONE = '\ud800';

  it('are invalid_client_metadata anywhere in a registration, never a 500', async () => {
    await setPolicy({ policy: 'OPEN', registrationScopes: ['read'] });
    let deep: unknown = 'x';
    for (let i = 0; i < 40; i += 1) deep = [deep];
    const key = await clientKeyPair();
    const bodies: [string, unknown][] = [
      ['NUL in client_name', { client_name: `a${NUL}b` }],
      ['lone surrogate in client_name', { client_name: `a${LONE}b` }],
      ['lone low surrogate in client_name', { client_name: 'a\udc00' }],
      ['NUL in contacts', { contacts: [`ops${NUL}@example.test`] }],
      ['lone surrogate in contacts', { contacts: [`ops${LONE}@example.test`] }],
      ['lone surrogate in software_id', { software_id: LONE }],
      ['NUL in client_uri', { client_uri: `https://app.example.test/${NUL}` }],
      ['lone surrogate in a redirect URI', { redirect_uris: [`https://app.example.test/cb${LONE}`] }],
      ['NUL in a JWK', { token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ ...key.publicJwk, kid: `k${NUL}` }] } }],
      ['lone surrogate in scope', { scope: `read ${LONE}` }],
      ['NUL in an unknown member', { client_name: 'ok', extension: `x${NUL}` }],
      ['NUL in a member name', { client_name: 'ok', [`x${NUL}`]: 1 }],
      ['lone surrogate in a member name', { client_name: 'ok', [`x${LONE}`]: 1 }],
      ['deep nesting', { client_name: 'ok', extension: deep }],
    ];
    for (const [label, body] of bodies) expectError(await register(body), 400, 'invalid_client_metadata', label);

    // The control: astral characters (well-formed surrogate pairs) are fine and kept.
    const created = await register({ client_name: 'Rocket 🚀 client', contacts: ['ops@example.test'] });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.client_name).toBe('Rocket 🚀 client');

    // RFC 7592 update with the same poison; and a NUL in the path of the client.
    const uri = created.body.registration_client_uri as string;
    const bearer = { authorization: `Bearer ${created.body.registration_access_token}` };
    const put = (body: unknown) => from(freshAddress(), uri, { method: 'PUT', headers: { ...bearer, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expectError(await put({ client_id: created.body.client_id, client_name: `x${NUL}` }), 400, 'invalid_client_metadata', 'update with NUL');
    expectError(await put({ client_id: created.body.client_id, contacts: [LONE] }), 400, 'invalid_client_metadata', 'update with a lone surrogate');
    const read = await from(freshAddress(), uri, { method: 'GET', headers: bearer });
    expect(read.body.client_name).toBe('Rocket 🚀 client');
    const nulPath = await from(freshAddress(), `${f.issuer}/oauth/register/app_%00`, { method: 'GET', headers: bearer });
    expectError(nulPath, 401, 'invalid_token', 'NUL in the client path');
    await setPolicy({ policy: 'OFF' });
  });

  it('are invalid_request in form parameters and in the claims of outside tokens, without failing concurrent requests', async () => {
    const exchangerAccount = await serviceAccount('Exchanger for poison', {
      grantTypes: ['client_credentials', TOKEN_EXCHANGE],
      allowedScopes: ['read'],
      allowedAudiences: [API],
    });
    const auth = { authorization: basic(exchangerAccount.clientId, exchangerAccount.secret) };
    // A NUL in a parameter name (the value was refused before).
    expectError(await postForm(f.tokenEndpoint, `grant_type=client_credentials&resource=${encodeURIComponent(API)}&x%00y=1`, auth), 400, 'invalid_request', 'NUL in a name');

    // Claims a trusted issuer asserts go into our token and the audit trail.
    const poisons: [string, JWTPayload][] = [
      ['NUL in sub', { sub: `user${NUL}` }],
      ['lone surrogate in sub', { sub: `user${LONE}` }],
      ['lone surrogate in jti', { sub: 'user-1', jti: LONE }],
      ['lone surrogate in an actor', { sub: 'user-1', act: { sub: LONE } }],
      ['NUL in an actor iss', { sub: 'user-1', act: { sub: 'agent', iss: `https://x.example.test/${NUL}` } }],
      ['a sub too long', { sub: 'u'.repeat(300) }],
    ];
    for (const [label, claims] of poisons) {
      const subjectToken = await partnerToken({ scope: 'read', ...claims });
      const [poisoned, ...legit] = await Promise.all([
        postForm(f.tokenEndpoint, { grant_type: TOKEN_EXCHANGE, subject_token: subjectToken, subject_token_type: JWT, resource: API }, auth),
        postForm(f.tokenEndpoint, { grant_type: 'client_credentials', resource: API }, auth),
        postForm(f.tokenEndpoint, { grant_type: 'client_credentials', resource: API }, auth),
      ]);
      expectError(poisoned, 400, 'invalid_request', label);
      for (const response of legit) expect(response.status, `beside ${label}: ${JSON.stringify(response.body)}`).toBe(200);
    }
  });
});
