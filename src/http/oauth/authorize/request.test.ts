import { describe, expect, it } from 'vitest';
import { ApplicationType } from '../../../modules/oauth-client/oauth-client.entity.js';
import { checkAuthorizationRequest, responseUri, type AuthorizingClient, type RawParameters } from './request.js';

const ISSUER = 'https://id.example.com/e/env_1';
const API = 'https://api.example.com';
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
const spa: AuthorizingClient = {
  id: 'app_spa',
  enabled: true,
  applicationType: ApplicationType.SPA,
  redirectUris: ['https://spa.example.com/callback'],
  grantTypes: ['authorization_code', 'refresh_token'],
};
const native: AuthorizingClient = { ...spa, id: 'app_native', applicationType: ApplicationType.NATIVE, redirectUris: ['http://127.0.0.1/cb'] };
const policy = { issuer: ISSUER, grantableScopes: new Set(['openid', 'email', 'profile', 'offline_access', 'read']), resources: new Set([API]) };

const good: Record<string, string> = {
  client_id: 'app_spa',
  redirect_uri: 'https://spa.example.com/callback',
  response_type: 'code',
  code_challenge: CHALLENGE,
  code_challenge_method: 'S256',
  scope: 'openid email offline_access',
  state: 'xyz',
  nonce: 'n-0S6_WzA2Mj',
};

/** Parameters as a query string would give them: `extra` entries replace (or, as arrays, repeat) the good ones; null removes. */
function params(extra: Record<string, string | string[] | null> = {}): RawParameters {
  const map = new Map<string, string[]>(Object.entries(good).map(([name, value]) => [name, [value]]));
  for (const [name, value] of Object.entries(extra)) {
    if (value === null) map.delete(name);
    else map.set(name, Array.isArray(value) ? value : [value]);
  }
  return map;
}

describe('authorization requests', () => {
  it('pass with what a PKCE client sends, keeping every hint', () => {
    const result = checkAuthorizationRequest(
      params({ prompt: 'login consent', max_age: '300', login_hint: 'ada@example.com', organization_id: 'org_1', domain_hint: 'example.com', resource: [API, API] }),
      spa,
      policy,
    );
    expect(result).toEqual({
      ok: true,
      request: {
        clientId: 'app_spa',
        redirectUri: 'https://spa.example.com/callback',
        state: 'xyz',
        nonce: 'n-0S6_WzA2Mj',
        scopes: ['openid', 'email', 'offline_access'],
        codeChallenge: CHALLENGE,
        prompt: ['login', 'consent'],
        maxAge: 300,
        loginHint: 'ada@example.com',
        organizationId: 'org_1',
        connectionId: null,
        domainHint: 'example.com',
        resources: [API],
      },
    });
  });

  it('accept a native app’s loopback redirect URI on any port', () => {
    const result = checkAuthorizationRequest(params({ client_id: 'app_native', redirect_uri: 'http://127.0.0.1:49152/cb' }), native, policy);
    expect(result.ok && result.request.redirectUri).toBe('http://127.0.0.1:49152/cb');
  });

  // Until the client and redirect URI are trusted, the user sees the error: nothing is redirected.
  const pageCases: [string, Record<string, string | string[] | null>, AuthorizingClient | null, string][] = [
    ['no client_id', { client_id: null }, spa, 'invalid_request'],
    ['client_id twice', { client_id: ['app_spa', 'app_other'] }, spa, 'invalid_request'],
    ['an unknown client', {}, null, 'invalid_client'],
    ['a client_id naming another client', { client_id: 'app_other' }, spa, 'invalid_client'],
    ['a disabled client', {}, { ...spa, enabled: false }, 'unauthorized_client'],
    ['an M2M application', {}, { ...spa, applicationType: ApplicationType.M2M }, 'unauthorized_client'],
    ['an application without the code grant', {}, { ...spa, grantTypes: ['client_credentials'] }, 'unauthorized_client'],
    ['no redirect_uri', { redirect_uri: null }, spa, 'invalid_request'],
    ['redirect_uri twice', { redirect_uri: ['https://spa.example.com/callback', 'https://evil.example/cb'] }, spa, 'invalid_request'],
    ['an unregistered redirect_uri', { redirect_uri: 'https://evil.example/callback' }, spa, 'invalid_request'],
    ['a prefix of the registered redirect_uri', { redirect_uri: 'https://spa.example.com/callback/../evil' }, spa, 'invalid_request'],
    ['a SPA redirect_uri on another port', { redirect_uri: 'https://spa.example.com:8443/callback' }, spa, 'invalid_request'],
  ];
  for (const [name, extra, client, error] of pageCases) {
    it(`show ${error} to the user, never redirecting, for ${name}`, () => {
      const result = checkAuthorizationRequest(params(extra), client, policy);
      expect(result).toEqual({ ok: false, page: { error, description: expect.any(String) } });
    });
  }

  // After that, errors go back to the client with its state and the issuer.
  const redirectCases: [string, Record<string, string | string[] | null>, string][] = [
    ['no response_type', { response_type: null }, 'invalid_request'],
    ['response_type=token', { response_type: 'token' }, 'unsupported_response_type'],
    ['response_type=code id_token', { response_type: 'code id_token' }, 'unsupported_response_type'],
    ['response_mode=fragment', { response_mode: 'fragment' }, 'invalid_request'],
    ['no code_challenge', { code_challenge: null }, 'invalid_request'],
    ['no code_challenge_method (plain)', { code_challenge_method: null }, 'invalid_request'],
    ['code_challenge_method=plain', { code_challenge_method: 'plain' }, 'invalid_request'],
    ['a malformed code_challenge', { code_challenge: 'short' }, 'invalid_request'],
    ['a code_challenge with padding', { code_challenge: `${CHALLENGE.slice(0, 42)}=` }, 'invalid_request'],
    ['a scope the client may not have', { scope: 'openid admin' }, 'invalid_scope'],
    ['a scope that is not a scope token', { scope: 'openid "x"' }, 'invalid_scope'],
    ['an unknown prompt', { prompt: 'select_account' }, 'invalid_request'],
    ['prompt=none with login', { prompt: 'none login' }, 'invalid_request'],
    ['a negative max_age', { max_age: '-1' }, 'invalid_request'],
    ['a fractional max_age', { max_age: '1.5' }, 'invalid_request'],
    ['an unknown resource', { resource: 'https://other.example.com' }, 'invalid_target'],
    ['a request object', { request: 'eyJ...' }, 'request_not_supported'],
    ['a request_uri the server did not issue', { request_uri: 'https://evil.example/req' }, 'request_uri_not_supported'],
    ['scope twice', { scope: ['openid', 'email'] }, 'invalid_request'],
    ['an empty nonce', { nonce: '' }, 'invalid_request'],
    ['an over-long login_hint', { login_hint: 'x'.repeat(513) }, 'invalid_request'],
  ];
  for (const [name, extra, error] of redirectCases) {
    it(`answer ${error} at the redirect URI, with state and iss, for ${name}`, () => {
      const result = checkAuthorizationRequest(params(extra), spa, policy);
      expect(result).toEqual({
        ok: false,
        redirect: { uri: 'https://spa.example.com/callback', error, description: expect.any(String), state: 'xyz', iss: ISSUER },
      });
    });
  }

  it('describe errors in fixed ASCII, never echoing the request', () => {
    const extras: Record<string, string | string[]>[] = [{ prompt: 'évil"<script>' }, { scope: 'openid sneaky\u00e9' }, { scope: 'openid admin<b>' }, { [`x${'"'.repeat(3)}`]: ['a', 'b'] }];
    for (const extra of extras) {
      const result = checkAuthorizationRequest(params(extra), spa, policy);
      const description = 'redirect' in result ? result.redirect.description : 'page' in result ? result.page.description : '';
      expect(description).toMatch(/^[\x20-\x21\x23-\x5B\x5D-\x7E]+$/);
      expect(description).not.toMatch(/évil|sneaky|admin|<|x"/);
    }
  });

  it('drop a state that is repeated or too long rather than echo it', () => {
    const repeated = checkAuthorizationRequest(params({ state: ['a', 'b'] }), spa, policy);
    expect(repeated).toMatchObject({ ok: false, redirect: { error: 'invalid_request', state: null } });
    const long = checkAuthorizationRequest(params({ state: 'x'.repeat(2049) }), spa, policy);
    expect(long).toMatchObject({ ok: false, redirect: { error: 'invalid_request', state: null } });
  });
});

describe('response URIs', () => {
  it('add the response to the registered URI’s own query, encoded', () => {
    expect(responseUri('https://app.example.com/cb?tenant=a', { code: 'c&d', state: 'x y', iss: ISSUER, error: null })).toBe(
      'https://app.example.com/cb?tenant=a&code=c%26d&state=x+y&iss=https%3A%2F%2Fid.example.com%2Fe%2Fenv_1',
    );
    expect(responseUri('com.example.app:/redirect', { code: 'abc' })).toBe('com.example.app:/redirect?code=abc');
  });
});
