import { decodeProtectedHeader, SignJWT } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import { graphqlClient } from '../helpers/graphql.js';
import { API, basic, mutate, oauthFixture, postForm } from '../helpers/oauth.js';
import { processPair } from '../helpers/processes.js';

const POSTGRES_URL = process.env.DATABASE_URL || undefined;
if (!POSTGRES_URL) {
  console.warn('[oauth multi-process] skipped: processes share replay, revocation and key caches through PostgreSQL; set DATABASE_URL to run it');
}
/** Both processes serve one issuer, as behind a load balancer. */
const PUBLIC_URL = 'https://auth.gatehouse.test';


describe('one authorization server across processes on PostgreSQL', () => {
  const pair = processPair(POSTGRES_URL, PUBLIC_URL);
  afterAll(() => pair.close());

  it.skipIf(!POSTGRES_URL)(
    'refuses an assertion replayed on another process, and shares revocations, key rotations and client changes (skipped on PGlite: needs DATABASE_URL)',
    async () => {
      const { aUrl, bUrl, key } = await pair.start();
      const onA = graphqlClient(`${aUrl}/graphql`, key);
      const environmentId = (await onA.data('{ viewer { environmentIds } }')).viewer.environmentIds[0] as string;
      const f = await oauthFixture(onA, environmentId);
      expect(f.issuer).toBe(`${PUBLIC_URL}/e/${environmentId}`);
      const local = (url: string, path: string) => `${url}/e/${environmentId}${path}`;
      const token = async (url: string) => {
        const response = await postForm(local(url, '/oauth/token'), { grant_type: 'client_credentials', resource: API }, { authorization: basic(f.clientId, f.secret) });
        return response;
      };
      // Both processes have the client cached now.
      expect((await token(aUrl)).status).toBe(200);
      const issuedOnB = await token(bUrl);
      expect(issuedOnB.status).toBe(200);

      // An assertion used on A cannot be used again on B.
      const assertion = await new SignJWT({ jti: `jti-${Date.now()}` })
        .setProtectedHeader({ alg: 'ES256', kid: f.key.publicJwk.kid })
        .setIssuer(f.clientId)
        .setSubject(f.clientId)
        .setAudience(f.issuer)
        .setIssuedAt()
        .setExpirationTime('2m')
        .sign(f.key.privateKey);
      const withAssertion = { grant_type: 'client_credentials', resource: API, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion };
      expect((await postForm(local(aUrl, '/oauth/token'), withAssertion)).status).toBe(200);
      const replay = await postForm(local(bUrl, '/oauth/token'), withAssertion);
      expect(replay.status).toBe(401);
      expect(replay.body.error).toBe('invalid_client');

      // Revoked on A, inactive on B.
      const auth = { authorization: basic(f.clientId, f.secret) };
      const jwt = issuedOnB.body.access_token as string;
      expect((await postForm(local(bUrl, '/oauth/introspect'), { token: jwt }, auth)).body.active).toBe(true);
      expect((await postForm(local(aUrl, '/oauth/revoke'), { token: jwt }, auth)).status).toBe(200);
      expect((await postForm(local(bUrl, '/oauth/introspect'), { token: jwt }, auth)).body.active).toBe(false);

      // A key rotated through A is published and used by B without a restart.
      const rotated = await mutate(onA, 'rotateSigningKey', 'RotateSigningKeyInput', 'signingKey { kid }', { environmentId, algorithm: 'RS256', activateAfterSeconds: 0 });
      const kidOnB = await eventually(
        async () => decodeProtectedHeader((await token(bUrl)).body.access_token).kid,
        (kid) => kid === rotated.signingKey.kid,
        5000,
      );
      expect(kidOnB).toBe(rotated.signingKey.kid);
      const jwksOnB = (await (await fetch(local(bUrl, '/.well-known/jwks.json'))).json()) as { keys: { kid: string }[] };
      expect(jwksOnB.keys[0].kid).toBe(rotated.signingKey.kid);

      // A client disabled through A is refused by B.
      await mutate(onA, 'updateServiceAccount', 'UpdateServiceAccountInput', 'serviceAccount { enabled }', { id: f.clientId, enabled: false });
      const refused = await eventually(() => token(bUrl), (response) => response.status === 401, 5000);
      expect(refused.body.error).toBe('invalid_client');
    },
    120_000,
  );
});
