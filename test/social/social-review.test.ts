import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { OidcRelyingParty } from '../../src/modules/connection/oidc/relying-party.js';

/**
 * Entra ID's multi-tenant endpoints (`/common`, `/organizations`) publish an issuer template
 * (`https://login.microsoftonline.com/{tenantid}/v2.0`) that openid-client fills from the ID
 * token's own `tid`: any tenant's token validates. Right for the social Microsoft button (any
 * account, proving its address by `xms_edov`), wrong for an organization's SSO connection,
 * whose IdP vouches for the organization's people and its verified domains.
 */
const ENTRA = 'https://login.microsoftonline.com';
const TEMPLATE = `${ENTRA}/{tenantid}/v2.0`;
const ATTACKER_TENANT = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
const CLIENT = 'entra-app';
const CALLBACK = 'https://gatehouse.test/e/env_1/sso/oidc/callback';

let key: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
let jwk: Record<string, unknown>;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  key = pair.privateKey;
  jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
});

/** A stand-in for login.microsoftonline.com: discovery with the template, JWKS, and a token endpoint answering an ID token of `tenant`. */
function entraFetch(tenant: string, nonce: () => string): typeof fetch {
  return (async (input: string | URL | Request) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
    if (url.pathname.endsWith('/.well-known/openid-configuration')) {
      return json({
        issuer: TEMPLATE,
        authorization_endpoint: `${ENTRA}/organizations/oauth2/v2.0/authorize`,
        token_endpoint: `${ENTRA}/organizations/oauth2/v2.0/token`,
        jwks_uri: `${ENTRA}/organizations/discovery/v2.0/keys`,
        response_types_supported: ['code'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
        token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
      });
    }
    if (url.pathname.endsWith('/keys')) return json({ keys: [jwk] });
    if (url.pathname.endsWith('/token')) {
      const idToken = await new SignJWT({ tid: tenant, nonce: nonce(), email: 'ceo@victim.test', preferred_username: 'ceo@victim.test' })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setIssuer(`${ENTRA}/${tenant}/v2.0`)
        .setAudience(CLIENT)
        .setSubject('attacker-sub')
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(key);
      return json({ access_token: 'at', token_type: 'Bearer', expires_in: 300, id_token: idToken });
    }
    return new Response('not found', { status: 404 });
  }) as typeof fetch;
}

async function signInAt(issuer: string, id: string) {
  const nonce = 'n-0123456789';
  const rp = new OidcRelyingParty({ fetch: entraFetch(ATTACKER_TENANT, () => nonce) });
  const config = await rp.configuration({ id, updatedAt: new Date(0), oidcIssuer: issuer, oidcClientId: CLIENT, oidcScopes: ['openid', 'email'] }, 'secret');
  if ('ok' in config) return config;
  const callback = new URL(`${CALLBACK}?code=c&state=s`);
  return rp.complete(config, callback, { state: 's', nonce, codeVerifier: 'v'.repeat(43), maxAge: null, freshSince: null });
}

describe('Entra ID multi-tenant issuers at the relying party', () => {
  it('refuses, for an organization connection, a multi-tenant issuer any tenant could answer', async () => {
    const completed = await signInAt(`${ENTRA}/organizations/v2.0`, 'con_entra');
    expect(completed.ok).toBe(false);
    expect(completed).toMatchObject({ reason: 'discovery_failed' });
    expect((completed as { detail: string }).detail).toMatch(/template any tenant answers for/);
  });

  it('accepts any tenant for the social Microsoft connection, the issuer filled from its tid', async () => {
    const nonce = 'n-0123456789';
    const rp = new OidcRelyingParty({ fetch: entraFetch(ATTACKER_TENANT, () => nonce) });
    const config = await rp.configuration(
      { id: 'soc_ms', updatedAt: new Date(0), oidcIssuer: `${ENTRA}/common/v2.0`, oidcClientId: CLIENT, oidcScopes: ['openid', 'email'] },
      'secret',
      { multiTenantIssuer: true },
    );
    expect('ok' in config).toBe(false);
    if ('ok' in config) return;
    const completed = await rp.complete(config, new URL(`${CALLBACK}?code=c&state=s`), { state: 's', nonce, codeVerifier: 'v'.repeat(43), maxAge: null, freshSince: null });
    expect(completed).toMatchObject({ ok: true, claims: { tid: ATTACKER_TENANT, iss: `${ENTRA}/${ATTACKER_TENANT}/v2.0` } });
  });
});
