import { randomBytes } from 'node:crypto';
import { SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';
import { API, OTHER_API, basic, clientKeyPair, mutate, oauthFixture, postForm, request, requestFrom, type OAuthFixture } from '../helpers/oauth.js';
import type { GraphQLClient } from '../helpers/graphql.js';

/**
 * Malformed and hostile requests to the token, introspection and revocation endpoints: each gets
 * the RFC 6749 §5.2 error it deserves (status, `error`, `Cache-Control: no-store`, and
 * `WWW-Authenticate` on 401) and changes nothing: no token in the answer, no issuance audited.
 */

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
/** Every way a token gets issued is audited as one of these. */
const ISSUANCE_ACTIONS = ['oauth.token_issued', 'oauth.token_exchanged'];

type Response = Awaited<ReturnType<typeof postForm>>;

let server: TestServer;
let ws: TestWorkspace;
/** The main client: organization service account with a secret and an ES256 key (API, OTHER_API). */
let f: OAuthFixture;
/** A client of another environment of the same workspace. */
let foreign: OAuthFixture;
/** A second client of the same environment, secret only (no keys), client_credentials only. */
let peer: { clientId: string; secret: string };

const now = () => Math.floor(Date.now() / 1000);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const cc = { grant_type: 'client_credentials', resource: API };

async function auditCount(client: GraphQLClient, environmentId: string, actions: string[]): Promise<number> {
  const data = await client.data(`query($env: ID, $actions: [String!]) { auditEvents(environmentId: $env, filter: { actions: $actions }) { totalCount } }`, {
    env: environmentId,
    actions,
  });
  return data.auditEvents.totalCount;
}

/** Runs the hostile requests and checks that no token issuance was audited meanwhile. */
async function issuesNothing(run: () => Promise<void>, client = () => ws.client, environmentId = () => f.environmentId): Promise<void> {
  const before = await auditCount(client(), environmentId(), ISSUANCE_ACTIONS);
  await run();
  expect(await auditCount(client(), environmentId(), ISSUANCE_ACTIONS), 'token issuances audited by hostile requests').toBe(before);
}

/** An RFC 6749 §5.2 error answer, with nothing issued. */
function expectOAuthError(response: Response, status: number, error: string, label = '') {
  const what = `${label} → ${status} ${error}; got ${response.status} ${JSON.stringify(response.body)}`;
  expect(response.status, what).toBe(status);
  expect(response.body, what).toMatchObject({ error });
  expect(typeof response.body.error_description, what).toBe('string');
  expect(response.body.access_token, what).toBeUndefined();
  expect(response.headers.get('content-type'), what).toMatch(/^application\/json/);
  expect(response.headers.get('cache-control'), what).toBe('no-store');
  if (status === 401) expect(response.headers.get('www-authenticate'), what).toMatch(/^Basic realm="[^"]+"$/);
  else expect(response.headers.get('www-authenticate'), what).toBeNull();
}

function expectToken(response: Response, label = '') {
  expect(response.status, `${label}: ${JSON.stringify(response.body)}`).toBe(200);
  expect(response.body.access_token, label).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  expect(response.headers.get('cache-control'), label).toBe('no-store');
}

const token = (form: Record<string, string> | string, headers: Record<string, string> = {}) => postForm(f.tokenEndpoint, form, headers);
const withBasic = (form: Record<string, string> | string = cc, id = f.clientId, secret = f.secret) => token(form, { authorization: basic(id, secret) });
const withPost = (form: Record<string, string> = cc, id = f.clientId, secret = f.secret) => token({ ...form, client_id: id, client_secret: secret });

/** POSTs raw bytes with whatever headers, for the transport-level cases. */
const raw = (url: string, init: RequestInit): Promise<Response> => request(url, init);

/**
 * POSTs a form from another loopback address: another client IP, as far as the server can tell.
 * With `gate`, the headers go out at once and the body only when the gate opens, so that several
 * requests reach the handler together.
 */
function postFrom(localAddress: string, url: string, form: Record<string, string>, headers: Record<string, string> = {}, gate?: Promise<unknown>): Promise<Response> {
  const body = new URLSearchParams(form).toString();
  return requestFrom(localAddress, url, { body, gate, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });
}

interface AssertionOptions {
  key?: CryptoKey;
  kid?: string;
  alg?: string;
  claims?: JWTPayload;
  omit?: ('exp' | 'jti' | 'iss' | 'sub' | 'aud')[];
}

/** A client assertion (RFC 7523) for `f`, valid unless told otherwise. */
async function assertion(options: AssertionOptions = {}): Promise<string> {
  const claims: JWTPayload = {
    iss: f.clientId,
    sub: f.clientId,
    aud: f.issuer,
    jti: randomBytes(12).toString('hex'),
    iat: now(),
    exp: now() + 120,
    ...options.claims,
  };
  for (const name of options.omit ?? []) delete claims[name];
  return new SignJWT(claims)
    .setProtectedHeader({ alg: options.alg ?? 'ES256', kid: options.kid ?? f.key.publicJwk.kid })
    .sign(options.key ?? f.key.privateKey);
}

const withAssertion = (clientAssertion: string, form: Record<string, string> = cc) =>
  token({ ...form, client_assertion_type: ASSERTION_TYPE, client_assertion: clientAssertion });

async function serviceAccount(environmentId: string, input: Record<string, unknown>): Promise<{ clientId: string; secret: string }> {
  const account = await mutate(ws.client, 'createServiceAccount', 'CreateServiceAccountInput', 'serviceAccount { clientId }', {
    environmentId,
    allowedScopes: ['read', 'write'],
    allowedAudiences: [API],
    ...input,
  });
  const secret = await mutate(ws.client, 'createClientSecret', 'CreateClientSecretInput', 'secret', { clientId: account.serviceAccount.clientId });
  return { clientId: account.serviceAccount.clientId, secret: secret.secret };
}

const introspect = (tokenValue: string, id: string, secret: string) => postForm(`${f.issuer}/oauth/introspect`, { token: tokenValue }, { authorization: basic(id, secret) });

/**
 * Waits (bounded) until the token endpoint's cache has heard of a management change. The cache
 * is dropped by a NOTIFY that, on PostgreSQL, can arrive a few milliseconds after the mutation
 * has answered: until then a new secret is refused, and a revoked secret or a disabled client
 * still gets tokens. That window is a known gap of its own; these tests are about what happens
 * after it. The probe issues no token: it authenticates at the introspection endpoint.
 */
async function settled(probe: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`the OAuth cache never saw: ${what}`);
    await sleep(10);
  }
}
const authenticates = async (id: string, secret: string) => (await introspect('x', id, secret)).status === 200;

beforeAll(async () => {
  // A budget large enough that the many failures of this file never reach it; the rate-limit
  // group starts its own server with a small one.
  server = await startServer({ authFailuresPerMinute: 100_000 });
  ws = await server.workspace();
  f = await oauthFixture(ws.client, ws.development.id);
  foreign = await oauthFixture(ws.client, ws.production.id);
  peer = await serviceAccount(ws.development.id, { name: 'Peer' });
});
afterAll(() => server?.close());

describe('client authentication with secrets', () => {
  it('works with the right secret, Basic or in the body (the control for what follows)', async () => {
    expectToken(await withBasic(), 'basic');
    expectToken(await withPost(), 'post');
    expectToken(await withBasic(cc, peer.clientId, peer.secret), 'peer');
  });

  it('refuses a wrong secret with 401 invalid_client, Basic or in the body', async () => {
    await issuesNothing(async () => {
      const viaBasic = await withBasic(cc, f.clientId, `${f.secret}x`);
      expectOAuthError(viaBasic, 401, 'invalid_client', 'wrong secret, basic');
      expect(viaBasic.headers.get('www-authenticate')).toBe('Basic realm="gatehouse"');
      expectOAuthError(await withPost(cc, f.clientId, 'ghcs_wrong'), 401, 'invalid_client', 'wrong secret, post');
      // Another client's secret is a wrong secret too.
      expectOAuthError(await withBasic(cc, f.clientId, peer.secret), 401, 'invalid_client', 'peer secret for f');
      expectOAuthError(await withBasic(cc, f.clientId, f.secret.slice(0, -1)), 401, 'invalid_client', 'truncated secret');
      expectOAuthError(await withBasic(cc, f.clientId, f.secret.toUpperCase()), 401, 'invalid_client', 'upper-cased secret');
    });
  });

  it('refuses unknown clients, and clients of another environment, alike', async () => {
    await issuesNothing(async () => {
      const unknownId = 'sva_00000000000000000000000000';
      expectOAuthError(await withBasic(cc, unknownId, f.secret), 401, 'invalid_client', 'unknown well-formed id, basic');
      expectOAuthError(await withPost(cc, unknownId, f.secret), 401, 'invalid_client', 'unknown well-formed id, post');
      expectOAuthError(await withBasic(cc, 'not-a-client', f.secret), 401, 'invalid_client', 'garbage id');
      expectOAuthError(await withBasic(cc, 'x'.repeat(5000), f.secret), 401, 'invalid_client', 'huge id');
      expectOAuthError(await withPost(cc, '__proto__', f.secret), 401, 'invalid_client', '__proto__ id');
      // Right id and secret, but of a client of the production environment.
      expectOAuthError(await withBasic(cc, foreign.clientId, foreign.secret), 401, 'invalid_client', 'foreign client, basic');
      expectOAuthError(await withPost(cc, foreign.clientId, foreign.secret), 401, 'invalid_client', 'foreign client, post');
    });
    // ...which works at its own environment.
    expectToken(await postForm(foreign.tokenEndpoint, cc, { authorization: basic(foreign.clientId, foreign.secret) }), 'foreign at home');
  });

  it('answers 400 invalid_request to empty or malformed Basic credentials and other schemes', async () => {
    await issuesNothing(async () => {
      const b64 = (value: string) => Buffer.from(value).toString('base64');
      const cases: [string, string][] = [
        ['no colon', `Basic ${b64(`${f.clientId}${f.secret}`)}`],
        ['not base64', 'Basic !!!!****'],
        ['empty credentials', 'Basic'],
        ['only a colon', `Basic ${b64(':')}`],
        ['empty client id', `Basic ${b64(`:${f.secret}`)}`],
        ['bad percent-encoding', `Basic ${b64(`${f.clientId}:%zz${f.secret}`)}`],
        ['Bearer scheme', `Bearer ${f.secret}`],
        ['Digest scheme', 'Digest username="x"'],
      ];
      for (const [label, authorization] of cases) expectOAuthError(await token(cc, { authorization }), 400, 'invalid_request', label);
    });
  });

  it('refuses a client_id in the body that differs from the authenticated one, even with the right secret', async () => {
    await issuesNothing(async () => {
      expectOAuthError(await withBasic({ ...cc, client_id: peer.clientId }), 400, 'invalid_request', 'basic + other client_id');
      expectOAuthError(await withBasic({ ...cc, client_id: `${f.clientId} ` }), 400, 'invalid_request', 'basic + client_id with a space');
      expectOAuthError(await withAssertion(await assertion(), { ...cc, client_id: peer.clientId }), 400, 'invalid_request', 'assertion + other client_id');
    });
    // The same client_id as the credentials is fine.
    expectToken(await withBasic({ ...cc, client_id: f.clientId }), 'basic + same client_id');
  });

  it('refuses two authentication methods at once, even when both are right', async () => {
    await issuesNothing(async () => {
      expectOAuthError(await withBasic({ ...cc, client_id: f.clientId, client_secret: f.secret }), 400, 'invalid_request', 'basic + client_secret');
      expectOAuthError(await withBasic({ ...cc, client_secret: f.secret }), 400, 'invalid_request', 'basic + client_secret without client_id');
      const jwt = await assertion();
      expectOAuthError(
        await token({ ...cc, client_assertion_type: ASSERTION_TYPE, client_assertion: jwt }, { authorization: basic(f.clientId, f.secret) }),
        400,
        'invalid_request',
        'basic + assertion',
      );
      expectOAuthError(
        await token({ ...cc, client_id: f.clientId, client_secret: f.secret, client_assertion_type: ASSERTION_TYPE, client_assertion: await assertion() }),
        400,
        'invalid_request',
        'client_secret + assertion',
      );
    });
  });

  it('answers 401 invalid_client with WWW-Authenticate when the client does not authenticate', async () => {
    await issuesNothing(async () => {
      expectOAuthError(await token(cc), 401, 'invalid_client', 'nothing');
      expectOAuthError(await token({ ...cc, client_id: f.clientId }), 401, 'invalid_client', 'client_id only');
      // An empty value counts as absent (RFC 6749 §3.1).
      expectOAuthError(await token({ ...cc, client_id: f.clientId, client_secret: '' }), 401, 'invalid_client', 'empty client_secret');
      expectOAuthError(await token(cc, { authorization: '' }), 401, 'invalid_client', 'empty Authorization header');
    });
  });
});

describe('secret and client lifecycle', () => {
  it('refuses a secret once it has expired, while another secret of the client still works', async () => {
    const expiresAt = new Date(Date.now() + 2500);
    const created = await mutate(ws.client, 'createClientSecret', 'CreateClientSecretInput', 'secret clientSecret { id expiresAt }', {
      clientId: f.clientId,
      description: 'short-lived',
      expiresAt: expiresAt.toISOString(),
    });
    const shortLived: string = created.secret;
    await settled(() => authenticates(f.clientId, shortLived), 'the new secret');
    expectToken(await withBasic(cc, f.clientId, shortLived), 'short-lived secret before expiry');
    await sleep(Math.max(0, expiresAt.getTime() - Date.now()) + 100);
    await issuesNothing(async () => {
      expectOAuthError(await withBasic(cc, f.clientId, shortLived), 401, 'invalid_client', 'expired secret, basic');
      expectOAuthError(await withPost(cc, f.clientId, shortLived), 401, 'invalid_client', 'expired secret, post');
    });
    expectToken(await withBasic(), 'the other secret');
  });

  it('refuses a revoked secret, while another secret still works', async () => {
    const created = await mutate(ws.client, 'createClientSecret', 'CreateClientSecretInput', 'secret clientSecret { id }', { clientId: f.clientId });
    await settled(() => authenticates(f.clientId, created.secret), 'the new secret');
    expectToken(await withPost(cc, f.clientId, created.secret), 'second secret before revocation');
    const revoked = await mutate(ws.client, 'revokeClientSecret', 'ClientSecretIdInput', 'clientSecret { id revokedAt }', { id: created.clientSecret.id });
    expect(revoked.clientSecret.revokedAt).toBeTruthy();
    await settled(async () => !(await authenticates(f.clientId, created.secret)), 'the revocation');
    await issuesNothing(async () => {
      expectOAuthError(await withPost(cc, f.clientId, created.secret), 401, 'invalid_client', 'revoked secret, post');
      expectOAuthError(await withBasic(cc, f.clientId, created.secret), 401, 'invalid_client', 'revoked secret, basic');
    });
    expectToken(await withBasic(), 'the other secret');
  });

  it('refuses a disabled client, by secret and by key, and its tokens stop being active; re-enabled it works again', async () => {
    const key = await clientKeyPair();
    const victim = await serviceAccount(ws.development.id, { name: 'Victim', jwks: { keys: [key.publicJwk] } });
    const victimAssertion = () =>
      new SignJWT({ iss: victim.clientId, sub: victim.clientId, aud: f.issuer, jti: randomBytes(8).toString('hex'), exp: now() + 60 })
        .setProtectedHeader({ alg: 'ES256', kid: key.publicJwk.kid })
        .sign(key.privateKey);
    const before = await withBasic(cc, victim.clientId, victim.secret);
    expectToken(before, 'victim enabled');
    // The peer stands for the token's resource server (API); f, an organization's account, may
    // introspect only its organization's tokens.
    expect((await introspect(before.body.access_token, peer.clientId, peer.secret)).body.active).toBe(true);

    await mutate(ws.client, 'updateServiceAccount', 'UpdateServiceAccountInput', 'serviceAccount { enabled }', { id: victim.clientId, enabled: false });
    await settled(async () => !(await authenticates(victim.clientId, victim.secret)), 'the disabling');
    await issuesNothing(async () => {
      expectOAuthError(await withBasic(cc, victim.clientId, victim.secret), 401, 'invalid_client', 'disabled, basic');
      expectOAuthError(await withPost(cc, victim.clientId, victim.secret), 401, 'invalid_client', 'disabled, post');
      expectOAuthError(await withAssertion(await victimAssertion()), 401, 'invalid_client', 'disabled, private_key_jwt');
      // A disabled client cannot introspect either, and its token is no longer active.
      expectOAuthError(await introspect(before.body.access_token, victim.clientId, victim.secret), 401, 'invalid_client', 'disabled introspects');
      expect((await introspect(before.body.access_token, peer.clientId, peer.secret)).body).toEqual({ active: false });
    });

    await mutate(ws.client, 'updateServiceAccount', 'UpdateServiceAccountInput', 'serviceAccount { enabled }', { id: victim.clientId, enabled: true });
    await settled(() => authenticates(victim.clientId, victim.secret), 'the re-enabling');
    expectToken(await withBasic(cc, victim.clientId, victim.secret), 're-enabled, basic');
    expectToken(await withAssertion(await victimAssertion()), 're-enabled, private_key_jwt');
  });
});

describe('private_key_jwt', () => {
  it('accepts a well-formed assertion with the issuer as audience (the control)', async () => {
    expectToken(await withAssertion(await assertion()), 'issuer audience');
    expectToken(await withAssertion(await assertion({ claims: { aud: [f.issuer] as unknown as string } })), 'issuer as a one-element list');
  });

  it('refuses unsigned and HMAC assertions', async () => {
    await issuesNothing(async () => {
      const claims = { iss: f.clientId, sub: f.clientId, aud: f.issuer, jti: randomBytes(8).toString('hex'), exp: now() + 60 };
      const unsigned = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`;
      expectOAuthError(await withAssertion(unsigned), 401, 'invalid_client', 'alg none');
      // alg none with a stolen ES256 signature still attached.
      const stolen = (await assertion()).split('.')[2];
      expectOAuthError(await withAssertion(`${unsigned}${stolen}`), 401, 'invalid_client', 'alg none with a signature');
      // HS256 keyed with the client's own secret: a server that accepted it would have to hold the secret.
      const hmac = await new SignJWT({ ...claims, jti: randomBytes(8).toString('hex') })
        .setProtectedHeader({ alg: 'HS256' })
        .sign(new TextEncoder().encode(f.secret));
      expectOAuthError(await withAssertion(hmac), 401, 'invalid_client', 'HS256 with the secret');
      // HS256 keyed with the public key as published (the classic key-confusion attack).
      const confused = await new SignJWT({ ...claims, jti: randomBytes(8).toString('hex') })
        .setProtectedHeader({ alg: 'HS256', kid: f.key.publicJwk.kid })
        .sign(new TextEncoder().encode(JSON.stringify(f.key.publicJwk)));
      expectOAuthError(await withAssertion(confused), 401, 'invalid_client', 'HS256 with the public JWK');
    });
  });

  it('refuses assertions signed by a key the client did not register, or tampered with', async () => {
    await issuesNothing(async () => {
      const stranger = await clientKeyPair('ES256', f.key.publicJwk.kid);
      expectOAuthError(await withAssertion(await assertion({ key: stranger.privateKey })), 401, 'invalid_client', 'unregistered key, same kid');
      const other = await clientKeyPair('ES256');
      expectOAuthError(await withAssertion(await assertion({ key: other.privateKey, kid: other.publicJwk.kid })), 401, 'invalid_client', 'unregistered key and kid');
      const rsa = await clientKeyPair('RS256');
      expectOAuthError(await withAssertion(await assertion({ key: rsa.privateKey, alg: 'RS256', kid: rsa.publicJwk.kid })), 401, 'invalid_client', 'unregistered RSA key');
      // The registered key's signature over other claims.
      const [header, , signature] = (await assertion()).split('.');
      const forged = b64url({ iss: f.clientId, sub: f.clientId, aud: f.issuer, jti: 'forged', exp: now() + 60 });
      expectOAuthError(await withAssertion(`${header}.${forged}.${signature}`), 401, 'invalid_client', 'tampered payload');
      expectOAuthError(await withAssertion('not-a-jwt'), 401, 'invalid_client', 'not a JWT');
      // Signed by the registered key, but claiming to be the peer client (which has no keys).
      expectOAuthError(await withAssertion(await assertion({ claims: { iss: peer.clientId, sub: peer.clientId } })), 401, 'invalid_client', 'as a keyless peer');
    });
  });

  it('refuses the wrong audience, issuer or subject', async () => {
    await issuesNothing(async () => {
      const audiences: [string, unknown][] = [
        ["another environment's token endpoint", foreign.tokenEndpoint],
        ["another environment's issuer", foreign.issuer],
        ['the introspection endpoint', `${f.issuer}/oauth/introspect`],
        ['a trailing slash', `${f.tokenEndpoint}/`],
        ['the server root', server.url],
        ['a list of wrong ones', [foreign.tokenEndpoint, 'https://evil.example.test']],
        // RFC 7523bis: the issuer only, as the single audience (the audience-injection fix).
        ['our token endpoint', f.tokenEndpoint],
        ['the issuer among others', [f.issuer, 'https://evil.example.test']],
      ];
      for (const [label, aud] of audiences) {
        expectOAuthError(await withAssertion(await assertion({ claims: { aud: aud as string } })), 401, 'invalid_client', `aud: ${label}`);
      }
      expectOAuthError(await withAssertion(await assertion({ omit: ['aud'] })), 401, 'invalid_client', 'no aud');
      expectOAuthError(await withAssertion(await assertion({ claims: { iss: 'https://evil.example.test' } })), 401, 'invalid_client', 'wrong iss');
      expectOAuthError(await withAssertion(await assertion({ claims: { iss: peer.clientId } })), 401, 'invalid_client', 'iss of another client');
      expectOAuthError(await withAssertion(await assertion({ omit: ['iss'] })), 401, 'invalid_client', 'no iss');
      expectOAuthError(await withAssertion(await assertion({ claims: { sub: peer.clientId } })), 401, 'invalid_client', 'sub of another client');
      expectOAuthError(await withAssertion(await assertion({ claims: { sub: 'sva_00000000000000000000000000' } })), 401, 'invalid_client', 'unknown sub');
      expectOAuthError(await withAssertion(await assertion({ claims: { iss: foreign.clientId, sub: foreign.clientId } })), 401, 'invalid_client', 'foreign client');
    });
  });

  it('refuses a missing jti or exp, an expired one, and one valid for longer than 600 s', async () => {
    await issuesNothing(async () => {
      expectOAuthError(await withAssertion(await assertion({ omit: ['jti'] })), 401, 'invalid_client', 'no jti');
      expectOAuthError(await withAssertion(await assertion({ omit: ['exp'] })), 401, 'invalid_client', 'no exp');
      expectOAuthError(await withAssertion(await assertion({ claims: { exp: now() - 120, iat: now() - 300 } })), 401, 'invalid_client', 'expired');
      expectOAuthError(await withAssertion(await assertion({ claims: { exp: now() + 900 } })), 401, 'invalid_client', 'exp 900 s ahead');
      expectOAuthError(await withAssertion(await assertion({ claims: { exp: now() + 365 * 86400 } })), 401, 'invalid_client', 'exp a year ahead');
      expectOAuthError(await withAssertion(await assertion({ claims: { nbf: now() + 300 } })), 401, 'invalid_client', 'not yet valid');
      expectOAuthError(await withAssertion(await assertion({ claims: { jti: 'j'.repeat(300) } })), 401, 'invalid_client', 'jti too long');
    });
    // Just under the limit is fine.
    expectToken(await withAssertion(await assertion({ claims: { exp: now() + 590 } })), 'exp 590 s ahead');
  });

  it('accepts an assertion once: a replay is refused, also when raced', async () => {
    const once = await assertion();
    expectToken(await withAssertion(once), 'first use');
    await issuesNothing(async () => {
      expectOAuthError(await withAssertion(once), 401, 'invalid_client', 'replay');
      // The same jti in a freshly signed assertion is a replay too.
      const jti = JSON.parse(Buffer.from(once.split('.')[1], 'base64url').toString()).jti;
      expectOAuthError(await withAssertion(await assertion({ claims: { jti } })), 401, 'invalid_client', 'same jti, new assertion');
    });
    const raced = await assertion({ claims: { aud: f.issuer } });
    const before = await auditCount(ws.client, f.environmentId, ISSUANCE_ACTIONS);
    const results = await Promise.all(Array.from({ length: 4 }, () => withAssertion(raced)));
    expect(results.map((result) => result.status).sort()).toEqual([200, 401, 401, 401]);
    for (const result of results.filter((r) => r.status !== 200)) expectOAuthError(result, 401, 'invalid_client', 'raced replay');
    expect(await auditCount(ws.client, f.environmentId, ISSUANCE_ACTIONS)).toBe(before + 1);
    // And a used assertion does not authenticate at the introspection endpoint either.
    expectOAuthError(
      await postForm(`${f.issuer}/oauth/introspect`, { token: results.find((r) => r.status === 200)!.body.access_token, client_assertion_type: ASSERTION_TYPE, client_assertion: raced }),
      401,
      'invalid_client',
      'replay at introspection',
    );
  });

  it('answers 400 invalid_request to a wrong or missing client_assertion_type', async () => {
    await issuesNothing(async () => {
      const jwt = await assertion();
      expectOAuthError(await token({ ...cc, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer', client_assertion: jwt }), 400, 'invalid_request', 'saml2 type');
      expectOAuthError(await token({ ...cc, client_assertion: jwt }), 400, 'invalid_request', 'no type');
      expectOAuthError(await token({ ...cc, client_assertion_type: ASSERTION_TYPE }), 400, 'invalid_request', 'type without assertion');
    });
  });
});

describe('NUL bytes in credentials', () => {
  it('are refused as bad input, not a server error, and fail no concurrent request', async () => {
    // A registered client of its own whose assertions carry a NUL in the jti (signature valid).
    const key = await clientKeyPair();
    const holder = await serviceAccount(ws.development.id, { name: 'NUL holder', jwks: { keys: [key.publicJwk] } });
    const nulJti = () =>
      new SignJWT({ iss: holder.clientId, sub: holder.clientId, aud: f.issuer, jti: `a\u0000${randomBytes(4).toString('hex')}`, exp: now() + 60 })
        .setProtectedHeader({ alg: 'ES256', kid: key.publicJwk.kid })
        .sign(key.privateKey);
    const nulSub = `${b64url({ alg: 'ES256' })}.${b64url({ iss: 'x', sub: 'sva_\u0000', aud: f.issuer, jti: 'j', exp: now() + 60 })}.c2ln`;
    const poisons = [
      ['percent-encoded NUL in the Basic client id', () => token(cc, { authorization: `Basic ${Buffer.from(`${f.clientId}%00:${f.secret}`).toString('base64')}` }), 400, 'invalid_request'],
      ['raw NUL in the Basic client id', () => token(cc, { authorization: `Basic ${Buffer.from(`x\u0000y:${f.secret}`).toString('base64')}` }), 400, 'invalid_request'],
      ['NUL in the Basic secret', () => token(cc, { authorization: `Basic ${Buffer.from(`${f.clientId}:${f.secret}%00`).toString('base64')}` }), 400, 'invalid_request'],
      ['NUL in client_id (post)', () => withPost(cc, `${f.clientId}\u0000`, f.secret), 400, 'invalid_request'],
      ['NUL in the sub of an assertion', () => withAssertion(nulSub), 401, 'invalid_client'],
      ['NUL in the jti of a validly signed assertion', async () => withAssertion(await nulJti()), 401, 'invalid_client'],
    ] as const;
    await issuesNothing(async () => {
      for (const [label, send, status, error] of poisons) expectOAuthError(await send(), status, error, label);
    });
    // Sent alongside legitimate requests (hot-path writes are batched): those still succeed.
    for (const [label, send] of poisons) {
      const [poisoned, ...legit] = await Promise.all([send(), withBasic(), withBasic(), withAssertion(await assertion())]);
      expect(poisoned.status, label).toBeLessThan(500);
      for (const response of legit) expectToken(response, `legitimate request beside: ${label}`);
    }
  });
});

describe('grant types and parameters', () => {
  it('answers invalid_request to a missing grant_type, with or without client authentication', async () => {
    await issuesNothing(async () => {
      expectOAuthError(await withBasic({ resource: API }), 400, 'invalid_request', 'authenticated');
      expectOAuthError(await token({ resource: API }), 400, 'invalid_request', 'anonymous');
      expectOAuthError(await withBasic({ grant_type: '', resource: API }), 400, 'invalid_request', 'empty grant_type');
    });
  });

  it('answers unsupported_grant_type to an unknown grant, but only once the client authenticated', async () => {
    await issuesNothing(async () => {
      for (const grantType of ['password', 'implicit', '__proto__', 'constructor', 'toString', 'CLIENT_CREDENTIALS', 'client_credentials ']) {
        expectOAuthError(await withBasic({ grant_type: grantType, resource: API }), 400, 'unsupported_grant_type', `grant ${grantType}`);
        expectOAuthError(await withPost({ grant_type: grantType, resource: API }), 400, 'unsupported_grant_type', `grant ${grantType}, post`);
      }
      // Grants of people's sign-in exist, but a service account may not use them.
      for (const grantType of ['authorization_code', 'refresh_token']) {
        expectOAuthError(await withBasic({ grant_type: grantType, resource: API }), 400, 'unauthorized_client', `grant ${grantType}`);
      }
      // An unauthenticated caller learns nothing about grants.
      expectOAuthError(await withBasic({ grant_type: 'password', resource: API }, f.clientId, 'wrong'), 401, 'invalid_client', 'password, wrong secret');
      expectOAuthError(await token({ grant_type: 'password', resource: API }), 401, 'invalid_client', 'password, no auth');
    });
  });

  it('answers invalid_request to repeated parameters', async () => {
    const auth = { authorization: basic(f.clientId, f.secret) };
    await issuesNothing(async () => {
      const bodies = [
        `grant_type=client_credentials&grant_type=client_credentials&resource=${encodeURIComponent(API)}`,
        `grant_type=client_credentials&resource=${encodeURIComponent(API)}&scope=read&scope=read`,
        `grant_type=client_credentials&resource=${encodeURIComponent(API)}&scope=read&scope=write`,
      ];
      for (const body of bodies) expectOAuthError(await token(body, auth), 400, 'invalid_request', body);
      const post = `grant_type=client_credentials&resource=${encodeURIComponent(API)}&client_id=${f.clientId}&client_secret=${f.secret}`;
      expectOAuthError(await token(`${post}&client_secret=${f.secret}`), 400, 'invalid_request', 'client_secret twice');
      expectOAuthError(await token(`${post}&client_id=${f.clientId}`), 400, 'invalid_request', 'client_id twice');
    });
  });

  it('answers invalid_target to two resources', async () => {
    await issuesNothing(async () => {
      const body = `grant_type=client_credentials&resource=${encodeURIComponent(API)}&resource=${encodeURIComponent(OTHER_API)}`;
      expectOAuthError(await withBasic(body), 400, 'invalid_target', 'two resources');
      expectOAuthError(await withBasic(`${body.replace(encodeURIComponent(OTHER_API), encodeURIComponent(API))}`), 400, 'invalid_target', 'the same resource twice');
    });
  });

  it('answers invalid_request to a malformed scope, and to NUL bytes or too many parameters', async () => {
    await issuesNothing(async () => {
      for (const scope of ['read"', 'read "write"', 'read\\write', 're\u00e9d', 'read\twrite']) {
        expectOAuthError(await withBasic({ ...cc, scope }), 400, 'invalid_request', `scope ${JSON.stringify(scope)}`);
      }
      expectOAuthError(await withBasic({ ...cc, scope: 'read\u0000' }), 400, 'invalid_request', 'NUL in scope');
      const many = Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`p${i}`, 'x']));
      expectOAuthError(await withBasic({ ...cc, ...many }), 400, 'invalid_request', '70 parameters');
    });
  });

  it('answers unauthorized_client to a grant the client may not use', async () => {
    const subject = await withBasic({ ...cc, scope: 'read' });
    expectToken(subject, 'subject token');
    const exchange = { grant_type: TOKEN_EXCHANGE, resource: API, subject_token: subject.body.access_token, subject_token_type: ACCESS_TOKEN_TYPE };
    const exchanger = await serviceAccount(ws.development.id, { name: 'Exchanger', grantTypes: [TOKEN_EXCHANGE] });
    await issuesNothing(async () => {
      // f has client_credentials only.
      expectOAuthError(await withBasic(exchange), 400, 'unauthorized_client', 'f exchanging');
      // The exchanger has token exchange only.
      expectOAuthError(await withBasic(cc, exchanger.clientId, exchanger.secret), 400, 'unauthorized_client', 'exchanger using client_credentials');
    });
    // The control: the exchanger may exchange the same subject token.
    const exchanged = await withBasic(exchange, exchanger.clientId, exchanger.secret);
    expectToken(exchanged, 'exchanger exchanging');
    expect(exchanged.body.issued_token_type).toBe(ACCESS_TOKEN_TYPE);
  });
});

describe('transport', () => {
  it('answers 413 with an OAuth error to a body over 32 KiB', async () => {
    const padded = (bytes: number) => `${new URLSearchParams(cc).toString()}&padding=${'a'.repeat(bytes)}`;
    // The control: just under the limit, the same request succeeds.
    expectToken(await withBasic(padded(30 * 1024)), '30 KiB');
    await issuesNothing(async () => {
      expectOAuthError(await withBasic(padded(33 * 1024)), 413, 'invalid_request', '33 KiB');
      expectOAuthError(await withBasic(padded(1024 * 1024)), 413, 'invalid_request', '1 MiB');
    });
  });

  it('answers 415 invalid_request to JSON and other media types', async () => {
    const auth = basic(f.clientId, f.secret);
    await issuesNothing(async () => {
      const json = await raw(f.tokenEndpoint, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body: JSON.stringify(cc) });
      expectOAuthError(json, 415, 'invalid_request', 'application/json');
      const text = await raw(f.tokenEndpoint, { method: 'POST', headers: { 'content-type': 'text/plain', authorization: auth }, body: new URLSearchParams(cc).toString() });
      expectOAuthError(text, 415, 'invalid_request', 'text/plain');
      const xml = await raw(f.tokenEndpoint, { method: 'POST', headers: { 'content-type': 'application/xml', authorization: auth }, body: '<grant_type>client_credentials</grant_type>' });
      expectOAuthError(xml, 415, 'invalid_request', 'application/xml');
      const introspection = await raw(`${f.issuer}/oauth/introspect`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body: '{"token":"x"}' });
      expectOAuthError(introspection, 415, 'invalid_request', 'JSON at introspection');
    });
  });

  it('answers 400 to a request without a body', async () => {
    await issuesNothing(async () => {
      const empty = await raw(f.tokenEndpoint, { method: 'POST', headers: { authorization: basic(f.clientId, f.secret) } });
      expectOAuthError(empty, 400, 'invalid_request', 'no body');
      const emptyForm = await raw(f.tokenEndpoint, { method: 'POST', headers: { authorization: basic(f.clientId, f.secret), 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
      expectOAuthError(emptyForm, 400, 'invalid_request', 'empty form');
    });
  });

  it('does not answer GET on the token endpoint, even with valid parameters in the query', async () => {
    await issuesNothing(async () => {
      const query = new URLSearchParams({ ...cc, client_id: f.clientId, client_secret: f.secret }).toString();
      const get = await raw(`${f.tokenEndpoint}?${query}`, { method: 'GET', headers: { authorization: basic(f.clientId, f.secret) } });
      expectOAuthError(get, 405, 'invalid_request', 'GET');
      expect(get.headers.get('allow')).toBe('POST');
    });
  });

  it('answers 404 for an unknown environment', async () => {
    await issuesNothing(async () => {
      for (const env of ['env_00000000000000000000000000', 'env_x', '..%2F..', ws.development.id.toUpperCase()]) {
        for (const endpoint of ['token', 'introspect', 'revoke']) {
          const response = await postForm(`${server.url}/e/${env}/oauth/${endpoint}`, { ...cc, token: 'x' }, { authorization: basic(f.clientId, f.secret) });
          expectOAuthError(response, 404, 'invalid_request', `${env} ${endpoint}`);
        }
      }
    });
  });
});

describe('introspection and revocation', () => {
  it('need client authentication', async () => {
    const issued = await withBasic();
    expectToken(issued, 'token');
    const introspectUrl = `${f.issuer}/oauth/introspect`;
    const revokeUrl = `${f.issuer}/oauth/revoke`;
    const revokedBefore = await auditCount(ws.client, f.environmentId, ['oauth.token_revoked']);
    await issuesNothing(async () => {
      for (const url of [introspectUrl, revokeUrl]) {
        const anonymous = await postForm(url, { token: issued.body.access_token });
        expectOAuthError(anonymous, 401, 'invalid_client', `${url} without auth`);
        expect(anonymous.body.active).toBeUndefined();
        expectOAuthError(await postForm(url, { token: issued.body.access_token, client_id: f.clientId }), 401, 'invalid_client', `${url} client_id only`);
        const wrong = await postForm(url, { token: issued.body.access_token }, { authorization: basic(f.clientId, 'wrong') });
        expectOAuthError(wrong, 401, 'invalid_client', `${url} wrong secret`);
        expect(wrong.body.active).toBeUndefined();
        expectOAuthError(
          await postForm(url, { token: issued.body.access_token }, { authorization: basic(foreign.clientId, foreign.secret) }),
          401,
          'invalid_client',
          `${url} foreign client`,
        );
        expectOAuthError(await postForm(url, {}, { authorization: basic(f.clientId, f.secret) }), 400, 'invalid_request', `${url} without token`);
      }
    });
    expect(await auditCount(ws.client, f.environmentId, ['oauth.token_revoked'])).toBe(revokedBefore);
    // Nothing above revoked it.
    expect((await introspect(issued.body.access_token, f.clientId, f.secret)).body).toMatchObject({ active: true, client_id: f.clientId });
  });

  it("answers 200 to revoking another client's token, which stays active", async () => {
    const issued = await withBasic();
    expectToken(issued, 'token');
    const revokeUrl = `${f.issuer}/oauth/revoke`;
    const revokedBefore = await auditCount(ws.client, f.environmentId, ['oauth.token_revoked']);
    const byPeer = await postForm(revokeUrl, { token: issued.body.access_token }, { authorization: basic(peer.clientId, peer.secret) });
    expect(byPeer.status).toBe(200);
    expect(byPeer.headers.get('cache-control')).toBe('no-store');
    const hinted = await postForm(revokeUrl, { token: issued.body.access_token, token_type_hint: 'access_token' }, { authorization: basic(peer.clientId, peer.secret) });
    expect(hinted.status).toBe(200);
    expect((await introspect(issued.body.access_token, f.clientId, f.secret)).body).toMatchObject({ active: true, client_id: f.clientId });
    expect((await introspect(issued.body.access_token, peer.clientId, peer.secret)).body.active).toBe(true);
    expect(await auditCount(ws.client, f.environmentId, ['oauth.token_revoked'])).toBe(revokedBefore);

    // The control: its own client revokes it.
    const own = await postForm(revokeUrl, { token: issued.body.access_token }, { authorization: basic(f.clientId, f.secret) });
    expect(own.status).toBe(200);
    expect((await introspect(issued.body.access_token, f.clientId, f.secret)).body).toEqual({ active: false });
    expect(await auditCount(ws.client, f.environmentId, ['oauth.token_revoked'])).toBe(revokedBefore + 1);
  });
});

describe('rate limiting of failed client authentication', () => {
  let limited: TestServer;
  let lws: TestWorkspace;
  let lf: OAuthFixture;

  beforeAll(async () => {
    limited = await startServer({ authFailuresPerMinute: 3 });
    lws = await limited.workspace();
    lf = await oauthFixture(lws.client, lws.development.id);
  });
  afterAll(() => limited?.close());

  it('audits the failures within the budget, without the secret, then answers 429 and audits no more', async () => {
    const failedAction = ['oauth.client_authentication_failed'];
    const presented = [`ghcs_${randomBytes(16).toString('hex')}`, `ghcs_${randomBytes(16).toString('hex')}`, `ghcs_${randomBytes(16).toString('hex')}`];
    const over = [`ghcs_${randomBytes(16).toString('hex')}`, `ghcs_${randomBytes(16).toString('hex')}`];
    const unknownClient = 'sva_00000000000000000000000000';
    expect(await auditCount(lws.client, lws.development.id, failedAction)).toBe(0);

    expectToken(await postForm(lf.tokenEndpoint, cc, { authorization: basic(lf.clientId, lf.secret) }), 'the control');
    await issuesNothing(
      async () => {
        // Three failures: the budget.
        expectOAuthError(await postForm(lf.tokenEndpoint, cc, { authorization: basic(lf.clientId, presented[0]) }), 401, 'invalid_client', 'failure 1');
        expectOAuthError(await postForm(lf.tokenEndpoint, { ...cc, client_id: lf.clientId, client_secret: presented[1] }), 401, 'invalid_client', 'failure 2');
        expectOAuthError(await postForm(lf.tokenEndpoint, cc, { authorization: basic(unknownClient, presented[2]) }), 401, 'invalid_client', 'failure 3');
        // Past it: 429 to every failure, at every endpoint.
        for (const [label, attempt] of [
          ['failure 4', () => postForm(lf.tokenEndpoint, cc, { authorization: basic(lf.clientId, over[0]) })],
          ['failure 5', () => postForm(lf.tokenEndpoint, { ...cc, client_id: lf.clientId, client_secret: over[1] })],
          // Without trusted proxies, a forwarded-for header is no way around the budget.
          ['spoofed X-Forwarded-For', () => postForm(lf.tokenEndpoint, cc, { authorization: basic(lf.clientId, over[0]), 'x-forwarded-for': '203.0.113.9' })],
          ['introspection', () => postForm(`${lf.issuer}/oauth/introspect`, { token: 'x' }, { authorization: basic(lf.clientId, over[0]) })],
        ] as const) {
          const response = await attempt();
          expectOAuthError(response, 429, 'invalid_client', label);
          const retryAfter = Number(response.headers.get('retry-after'));
          expect(Number.isInteger(retryAfter), label).toBe(true);
          expect(retryAfter, label).toBeGreaterThanOrEqual(1);
          expect(retryAfter, label).toBeLessThanOrEqual(60);
        }
      },
      () => lws.client,
      () => lws.development.id,
    );
    // Credentials are verified before the budget is asked: the right secret still works from
    // the same address (issue 8, finding 10), and only failures are throttled.
    expectToken(await postForm(lf.tokenEndpoint, cc, { authorization: basic(lf.clientId, lf.secret) }), 'right secret past the budget');
    expect(await auditCount(lws.client, lws.development.id, ['oauth.token_issued'])).toBe(2);

    const audited = await lws.client.data(
      `query($env: ID, $actions: [String!]) { auditEvents(environmentId: $env, filter: { actions: $actions }, first: 50) {
        totalCount nodes { action actor { type id name } after before targets { type id } ip userAgent requestId }
      } }`,
      { env: lws.development.id, actions: failedAction },
    );
    expect(audited.auditEvents.totalCount).toBe(3);
    for (const node of audited.auditEvents.nodes) {
      expect(node.actor).toEqual({ type: 'ANONYMOUS', id: null, name: null });
      expect(typeof node.after.reason).toBe('string');
      expect(node.after.reason.length).toBeGreaterThan(0);
      expect(node.ip).toBe('127.0.0.1');
    }
    const reasons = audited.auditEvents.nodes.map((node: any) => `${node.after.method}:${node.after.reason}:${node.after.clientId}`).sort();
    expect(reasons).toEqual(
      [
        `client_secret_basic:wrong_or_expired_secret:${lf.clientId}`,
        `client_secret_post:wrong_or_expired_secret:${lf.clientId}`,
        `client_secret_basic:unknown_client:${unknownClient}`,
      ].sort(),
    );
    const dump = JSON.stringify(audited);
    for (const secret of [...presented, ...over, lf.secret]) expect(dump).not.toContain(secret);
    expect(dump).not.toContain(basic(lf.clientId, presented[0]).slice(6));
  });

  it('counts per client IP, and a concurrent burst past the budget is not audited either', async () => {
    const failedAction = ['oauth.client_authentication_failed'];
    const auditedBefore = await auditCount(lws.client, lws.development.id, failedAction);
    // A client of its own, so that its per-client budget is untouched too.
    const key = await clientKeyPair();
    const account = await mutate(lws.client, 'createServiceAccount', 'CreateServiceAccountInput', 'serviceAccount { clientId }', {
      environmentId: lws.development.id,
      name: 'Burst',
      allowedAudiences: [API],
      jwks: { keys: [key.publicJwk] },
    });
    const clientId: string = account.serviceAccount.clientId;
    const sign = (signingKey: CryptoKey) =>
      new SignJWT({ iss: clientId, sub: clientId, aud: lf.issuer, jti: randomBytes(8).toString('hex'), exp: now() + 60 })
        .setProtectedHeader({ alg: 'ES256', kid: key.publicJwk.kid })
        .sign(signingKey);
    const form = async (signingKey: CryptoKey) => ({ ...cc, client_assertion_type: ASSERTION_TYPE, client_assertion: await sign(signingKey) });
    // Another address has a budget of its own: 127.0.0.1 is refused by now, 127.0.0.2 is not
    // (each failure names a client of its own, so no per-client budget is involved).
    const unknownClient = (n: number) => `sva_0000000000000000000000000${n}`;
    expectOAuthError(await postForm(lf.tokenEndpoint, cc, { authorization: basic(unknownClient(1), 'ghcs_x') }), 429, 'invalid_client', 'a failure from 127.0.0.1');
    expectOAuthError(await postFrom('127.0.0.3', lf.tokenEndpoint, cc, { authorization: basic(unknownClient(2), 'ghcs_x') }), 401, 'invalid_client', 'a failure from 127.0.0.3');
    // A valid client is never refused for others' failures at its address.
    expectToken(await postForm(lf.tokenEndpoint, await form(key.privateKey)), 'from 127.0.0.1');
    expectToken(await postFrom('127.0.0.2', lf.tokenEndpoint, await form(key.privateKey)), 'from 127.0.0.2');

    // Eight forged assertions at once (signature checks run off the event loop, so the requests
    // overlap): three fit the budget, the rest are refused and not audited.
    const stranger = await clientKeyPair('ES256', key.publicJwk.kid);
    const forged = await Promise.all(Array.from({ length: 8 }, () => form(stranger.privateKey)));
    await issuesNothing(
      async () => {
        const gate = sleep(200);
        const burst = await Promise.all(forged.map((body) => postFrom('127.0.0.2', lf.tokenEndpoint, body, {}, gate)));
        expect(burst.map((response) => response.status).sort()).toEqual([401, 401, 401, 429, 429, 429, 429, 429]);
        for (const response of burst) expectOAuthError(response, response.status, 'invalid_client', `burst ${response.status}`);
        for (const response of burst.filter((r) => r.status === 429)) expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        // Now this address is refused too, for any further failure.
        expectOAuthError(await postFrom('127.0.0.2', lf.tokenEndpoint, await form(stranger.privateKey)), 429, 'invalid_client', 'a failure after the burst');
      },
      () => lws.client,
      () => lws.development.id,
    );
    // ...while a valid assertion from there still authenticates.
    expectToken(await postFrom('127.0.0.2', lf.tokenEndpoint, await form(key.privateKey)), 'valid after the burst');
    const audited = await lws.client.data(
      `query($env: ID, $actions: [String!]) { auditEvents(environmentId: $env, filter: { actions: $actions }, first: 50) { totalCount nodes { actor { type } after before ip targets { id } } } }`,
      { env: lws.development.id, actions: failedAction },
    );
    // The burst's three, and the one failure from 127.0.0.3.
    expect(audited.auditEvents.totalCount).toBe(auditedBefore + 4);
    const fromBurst = audited.auditEvents.nodes.filter((node: any) => node.ip === '127.0.0.2');
    expect(fromBurst).toHaveLength(3);
    for (const node of fromBurst) {
      expect(node).toMatchObject({ actor: { type: 'ANONYMOUS' }, after: { method: 'private_key_jwt', clientId, reason: expect.stringMatching(/signature/) }, targets: [{ id: clientId }] });
    }
    const dump = JSON.stringify(audited);
    for (const body of forged) expect(dump).not.toContain(body.client_assertion.split('.')[2]);
  });
});
