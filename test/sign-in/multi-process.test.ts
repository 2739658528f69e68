import { createHash, randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { HttpBrowser } from '../helpers/browser-http.js';
import { graphqlClient, type GraphQLClient } from '../helpers/graphql.js';
import { mutate, postForm } from '../helpers/oauth.js';
import { processPair } from '../helpers/processes.js';

const POSTGRES_URL = process.env.DATABASE_URL || undefined;
if (!POSTGRES_URL) {
  console.warn('[sign-in multi-process] skipped: processes share codes, refresh tokens and sessions through PostgreSQL; set DATABASE_URL to run it');
}
/** Both processes serve one issuer, as behind a load balancer. */
const PUBLIC_URL = 'https://auth.gatehouse.test';
const REDIRECT = 'http://localhost:3000/callback';

describe('sign-in across processes on PostgreSQL', () => {
  const pair = processPair(POSTGRES_URL, PUBLIC_URL);
  afterAll(() => pair.close());

  it.skipIf(!POSTGRES_URL)(
    'a code is redeemed once, a refresh token rotates once, and a revoked session ends everywhere (skipped on PGlite: needs DATABASE_URL)',
    async () => {
      const { aUrl, bUrl, key } = await pair.start();
      const api: GraphQLClient = graphqlClient(`${aUrl}/graphql`, key);
      const environmentId = (await api.data('{ viewer { environmentIds } }')).viewer.environmentIds[0] as string;
      const created = await mutate(api, 'createApplication', 'CreateApplicationInput', 'application { clientId }', {
        environmentId,
        name: 'Dashboard',
        type: 'WEB',
        redirectUris: [REDIRECT],
      });
      const clientId = created.application.clientId as string;
      const secret = (await mutate(api, 'createClientSecret', 'CreateClientSecretInput', 'secret', { clientId })).secret as string;
      const path = (url: string, suffix: string) => `${url}/e/${environmentId}${suffix}`;
      const token = (url: string, params: Record<string, string>) => postForm(path(url, '/oauth/token'), { ...params, client_id: clientId, client_secret: secret });

      const browser = new HttpBrowser(aUrl);
      /** An authorization request through A; signs in by code when the browser has no session. */
      const authorize = async (extra: Record<string, string> = {}) => {
        const verifier = randomBytes(32).toString('base64url');
        const challenge = createHash('sha256').update(verifier).digest('base64url');
        const query = new URLSearchParams({ client_id: clientId, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid offline_access', code_challenge: challenge, code_challenge_method: 'S256', ...extra });
        let result = await browser.go(`/e/${environmentId}/oauth/authorize?${query}`);
        if ('page' in result && browser.html.includes('Email address')) {
          await browser.submit('/sign-in/email', { email: 'everywhere@example.com' });
          const outbox = await api.data(`query($env: ID) { developmentOutbox(environmentId: $env, first: 1) { nodes { text } } }`, { env: environmentId });
          result = await browser.submit('/sign-in/code', { code: /code is (\d{6})/.exec(outbox.developmentOutbox.nodes[0].text)![1] });
        }
        return { redirect: (result as { redirect: URL }).redirect, verifier };
      };

      // 1. The same code at both processes at once: one wins; the other's attempt revokes what the winner got.
      const first = await authorize();
      const code = first.redirect.searchParams.get('code')!;
      const exchange = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: first.verifier };
      const both = await Promise.all([token(aUrl, exchange), token(bUrl, exchange)]);
      expect(both.map((response) => response.status).sort()).toEqual([200, 400]);
      const winner = both.find((response) => response.status === 200)!;
      expect(both.find((response) => response.status === 400)!.body.error).toBe('invalid_grant');
      expect((await token(bUrl, { grant_type: 'refresh_token', refresh_token: winner.body.refresh_token })).body.error).toBe('invalid_grant');

      // 2. A refresh token rotated on A and replayed on B revokes its family everywhere.
      const second = await authorize();
      const issued = await token(bUrl, { grant_type: 'authorization_code', code: second.redirect.searchParams.get('code')!, redirect_uri: REDIRECT, code_verifier: second.verifier });
      expect(issued.status).toBe(200);
      const rotated = await token(aUrl, { grant_type: 'refresh_token', refresh_token: issued.body.refresh_token });
      expect(rotated.status).toBe(200);
      expect((await token(bUrl, { grant_type: 'refresh_token', refresh_token: issued.body.refresh_token })).body.error).toBe('invalid_grant');
      expect((await token(aUrl, { grant_type: 'refresh_token', refresh_token: rotated.body.refresh_token })).body.error).toBe('invalid_grant');

      // 3. Sessions revoked through A end at B at once: no silent sign-in, no refresh.
      const third = await authorize();
      const live = await token(aUrl, { grant_type: 'authorization_code', code: third.redirect.searchParams.get('code')!, redirect_uri: REDIRECT, code_verifier: third.verifier });
      const userId = JSON.parse(Buffer.from(live.body.id_token.split('.')[1], 'base64url').toString()).sub;
      await mutate(api, 'revokeUserSessions', 'RevokeUserSessionsInput', 'revokedSessionIds', { userId });
      const onB = new HttpBrowser(bUrl);
      for (const [name, value] of browser.cookieHeader().split('; ').map((pair) => pair.split('='))) onB.setCookie(name, value);
      const silent = await onB.go(`/e/${environmentId}/oauth/authorize?${new URLSearchParams({ client_id: clientId, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256', prompt: 'none' })}`);
      expect((silent as { redirect: URL }).redirect.searchParams.get('error')).toBe('login_required');
      expect((await token(bUrl, { grant_type: 'refresh_token', refresh_token: live.body.refresh_token })).body.error).toBe('invalid_grant');
      expect((await postForm(path(bUrl, '/oauth/introspect'), { token: live.body.access_token, client_id: clientId, client_secret: secret })).body.active).toBe(false);
    },
    120_000,
  );
});
