import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';
import { API, basic, mutate, oauthFixture, postForm, type OAuthFixture } from '../helpers/oauth.js';

let server: TestServer;
let ws: TestWorkspace;
let f: OAuthFixture;

beforeAll(async () => {
  server = await startServer();
  ws = await server.workspace();
  f = await oauthFixture(ws.client, ws.development.id);
});
afterAll(() => server?.close());

async function token(): Promise<string> {
  const response = await postForm(f.tokenEndpoint, { grant_type: 'client_credentials', resource: API }, { authorization: basic(f.clientId, f.secret) });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body.access_token;
}

const kidOf = (jwt: string) => decodeProtectedHeader(jwt).kid;
const publishedKids = async () => ((await (await fetch(f.jwksUri)).json()) as { keys: { kid: string }[] }).keys.map((key) => key.kid);
const keys = async () =>
  (await ws.client.data(`query($env: ID) { signingKeys(environmentId: $env) { id kid algorithm state activatesAt supersededAt unpublishAt revokedAt } }`, { env: f.environmentId }))
    .signingKeys as { id: string; kid: string; algorithm: string; state: string; unpublishAt: string | null }[];
const introspect = async (jwt: string) =>
  (await postForm(`${f.issuer}/oauth/introspect`, { token: jwt }, { authorization: basic(f.clientId, f.secret) })).body.active as boolean;
/** A resource server that has just started: it fetches the JWKS afresh. */
const freshVerifier = () => createRemoteJWKSet(new URL(f.jwksUri));
const waitUntil = (iso: string) => new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(iso) - Date.now()) + 100));

describe('signing key rotation and revocation, seen by a jose resource server', () => {
  it('publishes the next key before it signs, keeps the old one until its tokens expire, and drops revoked keys at once', async () => {
    const resourceServer = createRemoteJWKSet(new URL(f.jwksUri));
    const verify = (jwt: string, jwks = resourceServer) => jwtVerify(jwt, jwks, { issuer: f.issuer, audience: API });

    const first = await token();
    const [k1] = await keys();
    expect(k1).toMatchObject({ algorithm: 'ES256', state: 'ACTIVE', kid: kidOf(first) });
    await verify(first);

    // Rotation: the new (EdDSA) key is published now and signs two seconds later.
    const rotated = await mutate(ws.client, 'rotateSigningKey', 'RotateSigningKeyInput', 'signingKey { id kid state activatesAt algorithm }', {
      environmentId: f.environmentId,
      algorithm: 'EdDSA',
      activateAfterSeconds: 2,
    });
    const k2 = rotated.signingKey;
    expect(k2).toMatchObject({ state: 'NEXT', algorithm: 'EdDSA' });
    expect(await publishedKids()).toEqual([k2.kid, k1.kid]);
    const duringOverlap = await token();
    expect(kidOf(duringOverlap)).toBe(k1.kid);
    await verify(duringOverlap);
    // A resource server that refreshes its JWKS cache during the overlap (jose then waits 30 s
    // before fetching again, whatever kid it meets).
    const refreshed = createRemoteJWKSet(new URL(f.jwksUri));
    await verify(duringOverlap, refreshed);

    // A second rotation while one is pending is refused.
    const pending = await ws.client.data(
      `mutation($input: RotateSigningKeyInput!) { rotateSigningKey(input: $input) { signingKey { id } userErrors { code } } }`,
      { input: { environmentId: f.environmentId } },
    );
    expect(pending.rotateSigningKey.userErrors).toEqual([{ code: 'signing_key.rotation_pending' }]);

    await waitUntil(k2.activatesAt);
    const afterActivation = await token();
    expect(decodeProtectedHeader(afterActivation)).toMatchObject({ kid: k2.kid, alg: 'EdDSA', typ: 'at+jwt' });
    // It cached the JWKS before activation and already knows the new key.
    await verify(afterActivation, refreshed);
    await verify(first, refreshed);
    const states = await keys();
    expect(states.map((key) => [key.kid, key.state])).toEqual([
      [k2.kid, 'ACTIVE'],
      [k1.kid, 'RETIRED'],
    ]);
    // Retired, it stays published until the longest-lived token it may have signed has expired.
    expect(Date.parse(states[1].unpublishAt!)).toBeGreaterThanOrEqual(Date.parse(k2.activatesAt) + 86_400_000 - 1000);
    expect(await publishedKids()).toEqual([k2.kid, k1.kid]);

    // Emergency revocation of the retired key: gone from the JWKS, its tokens rejected.
    await mutate(ws.client, 'revokeSigningKey', 'SigningKeyIdInput', 'signingKey { state }', { id: k1.id });
    expect(await publishedKids()).toEqual([k2.kid]);
    await expect(verify(first, freshVerifier())).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    expect(await introspect(first)).toBe(false);
    expect(await introspect(afterActivation)).toBe(true);

    // Revoking the signing key itself: a new key of the same algorithm signs at once.
    await mutate(ws.client, 'revokeSigningKey', 'SigningKeyIdInput', 'signingKey { state }', { id: k2.id });
    const replacement = await token();
    const [k3] = await keys();
    expect(k3).toMatchObject({ state: 'ACTIVE', algorithm: 'EdDSA', kid: kidOf(replacement) });
    expect(await publishedKids()).toEqual([k3.kid]);
    await verify(replacement, freshVerifier());
    expect(await introspect(afterActivation)).toBe(false);

    const events = await ws.client.data(`query($env: ID) { auditEvents(environmentId: $env, filter: { actions: ["signing_key.*"] }) { nodes { action } } }`, {
      env: f.environmentId,
    });
    expect(events.auditEvents.nodes.map((event: { action: string }) => event.action).sort()).toEqual(['signing_key.revoked', 'signing_key.revoked', 'signing_key.rotated']);
  });

  it('signs with RS256 when selected', async () => {
    await mutate(ws.client, 'rotateSigningKey', 'RotateSigningKeyInput', 'signingKey { id }', {
      environmentId: f.environmentId,
      algorithm: 'RS256',
      activateAfterSeconds: 0,
    });
    const jwt = await token();
    expect(decodeProtectedHeader(jwt).alg).toBe('RS256');
    await jwtVerify(jwt, freshVerifier(), { issuer: f.issuer, audience: API });
  });

  it('keeps private keys sealed at rest', async () => {
    const rows = (await server.database.db.orm.em.getConnection().execute(`select private_sealed, public_jwk from signing_key`)) as { private_sealed: string; public_jwk: Record<string, unknown> }[];
    expect(rows.length).toBeGreaterThan(2);
    for (const row of rows) {
      expect(row.private_sealed).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
      expect(row.public_jwk.d).toBeUndefined();
    }
  });
});
