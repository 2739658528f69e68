import { describe, expect, it } from 'vitest';
import { AppError } from '../../errors/app-error.js';
import {
  checkAppRedirectUris,
  checkApplicationSettings,
  checkWebOrigins,
  LIFETIMES,
  redirectUriMatches,
} from './application-settings.js';
import { ApplicationType, OAuthClient } from './oauth-client.entity.js';

const { WEB, SPA, NATIVE, M2M, DYNAMIC } = ApplicationType;
const field = ['input', 'redirectUris'];

/** The AppError code a check throws, or 'ok'. */
function outcome(check: () => unknown): string {
  try {
    check();
    return 'ok';
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
}

describe('redirect URIs by application type', () => {
  const cases: [ApplicationType, string, string][] = [
    [WEB, 'https://app.example.com/callback', 'ok'],
    [WEB, 'https://app.example.com/callback?tenant=a', 'ok'],
    [WEB, 'http://localhost:3000/callback', 'ok'],
    [WEB, 'http://127.0.0.1:3000/callback', 'ok'],
    [WEB, 'http://app.example.com/callback', 'oauth.invalid_redirect_uri'],
    [WEB, 'https://app.example.com/callback#frag', 'oauth.invalid_redirect_uri'],
    [WEB, 'https://*.example.com/callback', 'oauth.invalid_redirect_uri'],
    [WEB, 'https://user:pass@app.example.com/callback', 'oauth.invalid_redirect_uri'],
    [WEB, 'com.example.app:/callback', 'oauth.invalid_redirect_uri'],
    [WEB, 'javascript:alert(1)', 'oauth.invalid_redirect_uri'],
    [WEB, '/relative', 'oauth.invalid_redirect_uri'],
    [WEB, 'https://app.example.com/a b', 'oauth.invalid_redirect_uri'],
    [SPA, 'https://spa.example.com/', 'ok'],
    [SPA, 'data:text/html,x', 'oauth.invalid_redirect_uri'],
    [NATIVE, 'http://127.0.0.1/callback', 'ok'],
    [NATIVE, 'http://[::1]:8080/callback', 'ok'],
    [NATIVE, 'com.example.app:/oauth2redirect', 'ok'],
    [NATIVE, 'https://app.example.com/universal-link', 'ok'],
    // RFC 8252 §8.3: not localhost; §7.1: a private-use scheme is a reverse domain name.
    [NATIVE, 'http://localhost:8080/callback', 'oauth.invalid_redirect_uri'],
    [NATIVE, 'myapp:/callback', 'oauth.invalid_redirect_uri'],
    [NATIVE, 'http://192.168.1.2/callback', 'oauth.invalid_redirect_uri'],
    [NATIVE, 'javascript:alert(1)', 'oauth.invalid_redirect_uri'],
  ];
  for (const [type, uri, expected] of cases) {
    it(`${type} ${uri} → ${expected}`, () => {
      expect(outcome(() => checkAppRedirectUris(type, [uri], field))).toBe(expected);
    });
  }

  it('refuses more than 20 and de-duplicates', () => {
    const many = Array.from({ length: 21 }, (_, i) => `https://app.example.com/${i}`);
    expect(outcome(() => checkAppRedirectUris(WEB, many, field))).toBe('oauth.invalid_redirect_uri');
    expect(checkAppRedirectUris(WEB, ['https://a.example/cb', 'https://a.example/cb'], field)).toEqual(['https://a.example/cb']);
    expect(outcome(() => checkAppRedirectUris(WEB, 'https://a.example/cb', field))).toBe('oauth.invalid_redirect_uri');
  });
});

describe('redirect URI matching', () => {
  it('is exact: no prefix, case, trailing slash, query or encoding variation matches', () => {
    const registered = ['https://app.example.com/callback'];
    for (const presented of [
      'https://app.example.com/callback/',
      'https://app.example.com/callback?x=1',
      'https://APP.example.com/callback',
      'https://app.example.com/callbackx',
      'https://app.example.com/%63allback',
      'https://app.example.com:443/callback',
      'https://app.example.com/callback#x',
    ]) {
      expect(redirectUriMatches(WEB, registered, presented), presented).toBe(false);
    }
    expect(redirectUriMatches(WEB, registered, 'https://app.example.com/callback')).toBe(true);
  });

  it('lets a NATIVE app’s loopback redirect URI use any port, and nothing else vary', () => {
    const registered = ['http://127.0.0.1/callback', 'http://[::1]/cb?x=1', 'com.example.app:/redirect'];
    expect(redirectUriMatches(NATIVE, registered, 'http://127.0.0.1:51004/callback')).toBe(true);
    expect(redirectUriMatches(NATIVE, registered, 'http://127.0.0.1/callback')).toBe(true);
    expect(redirectUriMatches(NATIVE, registered, 'http://[::1]:9/cb?x=1')).toBe(true);
    expect(redirectUriMatches(NATIVE, registered, 'http://127.0.0.1:51004/other')).toBe(false);
    expect(redirectUriMatches(NATIVE, registered, 'http://[::1]:9/cb?x=2')).toBe(false);
    expect(redirectUriMatches(NATIVE, registered, 'http://localhost:51004/callback')).toBe(false);
    expect(redirectUriMatches(NATIVE, registered, 'http://127.0.0.1.evil.example:51004/callback')).toBe(false);
    expect(redirectUriMatches(NATIVE, registered, 'http://127.0.0.1:51004@evil.example/callback')).toBe(false);
    expect(redirectUriMatches(NATIVE, registered, 'com.example.app:/redirect')).toBe(true);
    expect(redirectUriMatches(NATIVE, registered, 'com.example.app:/redirect2')).toBe(false);
    // Only NATIVE applications get the port exception.
    expect(redirectUriMatches(WEB, ['http://127.0.0.1/callback'], 'http://127.0.0.1:51004/callback')).toBe(false);
  });
});

describe('web origins', () => {
  it('are exact origins over https, or http on a loopback host', () => {
    expect(checkWebOrigins(['https://spa.example.com', 'http://localhost:5173'], ['f'])).toEqual(['https://spa.example.com', 'http://localhost:5173']);
    for (const bad of ['https://spa.example.com/', 'https://spa.example.com/app', 'http://spa.example.com', '*', 'null', 'https://*.example.com']) {
      expect(outcome(() => checkWebOrigins([bad], ['f'])), bad).toBe('oauth.invalid_web_origin');
    }
  });
});

describe('application settings', () => {
  const stored = Object.assign(new OAuthClient(), { refreshTokenIdleTtl: LIFETIMES.refreshIdle.default, refreshTokenAbsoluteTtl: LIFETIMES.refreshAbsolute.default });

  it('keeps sign-in settings to WEB, SPA and NATIVE applications', () => {
    for (const type of [M2M, DYNAMIC]) {
      expect(outcome(() => checkApplicationSettings(type, { redirectUris: ['https://a.example/cb'] }, null, false))).toBe('oauth_client.not_interactive');
      expect(outcome(() => checkApplicationSettings(type, { firstParty: false }, null, false))).toBe('oauth_client.not_interactive');
      expect(outcome(() => checkApplicationSettings(type, { grantTypes: ['authorization_code'] }, null, false))).not.toBe('ok');
    }
    expect(checkApplicationSettings(M2M, { grantTypes: ['client_credentials'] }, null, false)).toEqual({ grantTypes: ['client_credentials'] });
  });

  it('gives each type its grants, and public clients no keys', () => {
    expect(checkApplicationSettings(WEB, { grantTypes: ['refresh_token', 'authorization_code', 'client_credentials'] }, null, false).grantTypes).toEqual([
      'authorization_code',
      'client_credentials',
      'refresh_token',
    ]);
    expect(outcome(() => checkApplicationSettings(SPA, { grantTypes: ['client_credentials'] }, null, false))).toBe('oauth_client.invalid_grant_type');
    expect(outcome(() => checkApplicationSettings(NATIVE, { grantTypes: ['refresh_token'] }, null, false))).toBe('oauth_client.invalid_grant_type');
    expect(outcome(() => checkApplicationSettings(SPA, { grantTypes: ['implicit'] }, null, false))).toBe('oauth_client.invalid_grant_type');
    expect(outcome(() => checkApplicationSettings(SPA, { jwksUri: 'https://keys.example/jwks' }, null, false))).toBe('oauth_client.public_client');
    expect(outcome(() => checkApplicationSettings(NATIVE, { jwks: { keys: [] } }, null, false))).toBe('oauth_client.public_client');
  });

  it('keeps web origins to browsers and back-channel logout to servers', () => {
    expect(outcome(() => checkApplicationSettings(NATIVE, { allowedWebOrigins: ['https://a.example'] }, null, false))).toBe('oauth_client.not_browser');
    expect(checkApplicationSettings(NATIVE, { allowedWebOrigins: [] }, null, false).allowedWebOrigins).toEqual([]);
    expect(outcome(() => checkApplicationSettings(SPA, { backchannelLogoutUri: 'https://a.example/logout' }, null, false))).toBe('oauth_client.not_web');
    expect(checkApplicationSettings(WEB, { backchannelLogoutUri: 'https://a.example/logout' }, null, false).backchannelLogoutUri).toBe('https://a.example/logout');
    expect(checkApplicationSettings(SPA, { backchannelLogoutUri: null }, null, false).backchannelLogoutUri).toBeNull();
    for (const bad of ['http://a.example/logout', 'https://127.0.0.1/logout', 'https://10.0.0.1/logout', 'https://a.example/logout#x', 'not a url']) {
      expect(outcome(() => checkApplicationSettings(WEB, { backchannelLogoutUri: bad }, null, false)), bad).toBe('oauth.invalid_backchannel_logout_uri');
    }
  });

  it('bounds lifetimes and keeps the absolute refresh lifetime at least the idle one', () => {
    expect(outcome(() => checkApplicationSettings(WEB, { idTokenTtl: 59 }, null, false))).toBe('oauth_client.invalid_lifetime');
    expect(outcome(() => checkApplicationSettings(WEB, { idTokenTtl: 86_401 }, null, false))).toBe('oauth_client.invalid_lifetime');
    expect(outcome(() => checkApplicationSettings(WEB, { idTokenTtl: 1.5 }, null, false))).toBe('oauth_client.invalid_lifetime');
    expect(outcome(() => checkApplicationSettings(WEB, { refreshTokenIdleTtl: 3_600, refreshTokenAbsoluteTtl: 1_800 }, null, false))).toBe('oauth_client.invalid_lifetime');
    // Against the stored values on an update: an idle lifetime above the stored absolute one is refused.
    expect(outcome(() => checkApplicationSettings(WEB, { refreshTokenIdleTtl: LIFETIMES.refreshAbsolute.default + 1 }, stored, false))).toBe('oauth_client.invalid_lifetime');
    expect(checkApplicationSettings(WEB, { refreshTokenIdleTtl: 3_600, refreshTokenAbsoluteTtl: 3_600 }, stored, false)).toMatchObject({ refreshTokenIdleTtl: 3_600, refreshTokenAbsoluteTtl: 3_600 });
  });

  it('match the entity’s column defaults', () => {
    const fresh = new OAuthClient();
    expect([fresh.idTokenTtl, fresh.refreshTokenIdleTtl, fresh.refreshTokenAbsoluteTtl]).toEqual([
      LIFETIMES.idToken.default,
      LIFETIMES.refreshIdle.default,
      LIFETIMES.refreshAbsolute.default,
    ]);
  });
});
