import { generateKeyPairSync } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../errors/app-error.js';
import {
  checkAccessTokenTtl,
  checkCustomClaims,
  checkGrantTypes,
  checkJwks,
  checkJwksUri,
  checkRedirectUris,
  checkResourceIdentifier,
  checkScopeList,
  jwkAlgorithm,
} from './oauth-client.validation.js';

const FIELD = ['input', 'x'];

/** The code and field of the AppError `run` throws (sync or async). */
async function failure(run: () => unknown): Promise<{ code: string; field: string[] | undefined }> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    const appError = error as AppError;
    expect(appError.kind).toBe('BAD_USER_INPUT');
    return { code: appError.code, field: appError.field };
  }
  throw new Error('expected a validation error');
}

const publicJwk = async (alg: 'ES256' | 'ES384' | 'RS256' | 'PS256' | 'EdDSA') => {
  const pair = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'RS256' || alg === 'PS256' ? { modulusLength: 2048 } : {}),
    ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
  });
  return { publicJwk: (await exportJWK(pair.publicKey)) as Record<string, unknown>, privateJwk: (await exportJWK(pair.privateKey)) as Record<string, unknown> };
};

describe('checkScopeList', () => {
  it('de-duplicates and sorts scope-tokens', () => {
    expect(checkScopeList(['b:write', 'a:read', 'b:write', 'urn:x:y!#$'], FIELD)).toEqual(['a:read', 'b:write', 'urn:x:y!#$']);
    expect(checkScopeList([], FIELD)).toEqual([]);
  });

  it.each([[['has space']], [['quo"te']], [['back\\slash']], [['']], [['x'.repeat(129)]], [['é']], ['not-a-list'], [[1]]])(
    'refuses %j',
    async (value) => {
      expect(await failure(() => checkScopeList(value, FIELD))).toEqual({ code: 'oauth.invalid_scope', field: FIELD });
    },
  );

  it('allows at most 100 distinct scopes', async () => {
    const many = Array.from({ length: 101 }, (_, i) => `s${i}`);
    expect(checkScopeList([...many.slice(0, 100), 's0'], FIELD)).toHaveLength(100);
    expect((await failure(() => checkScopeList(many, FIELD))).code).toBe('oauth.invalid_scope');
  });
});

describe('checkGrantTypes', () => {
  it('accepts a non-empty subset of the machine grants', () => {
    expect(checkGrantTypes(['client_credentials', 'client_credentials'], FIELD)).toEqual(['client_credentials']);
    expect(checkGrantTypes(['urn:ietf:params:oauth:grant-type:token-exchange', 'client_credentials'], FIELD)).toEqual([
      'client_credentials',
      'urn:ietf:params:oauth:grant-type:token-exchange',
    ]);
  });

  it.each([[[]], [['authorization_code']], [['password']], [['refresh_token', 'client_credentials']], [null]])('refuses %j', async (value) => {
    expect(await failure(() => checkGrantTypes(value, FIELD))).toEqual({ code: 'oauth.invalid_grant_type', field: FIELD });
  });
});

describe('checkAccessTokenTtl', () => {
  it('accepts whole seconds from 60 to a day', () => {
    expect(checkAccessTokenTtl(60, FIELD)).toBe(60);
    expect(checkAccessTokenTtl(86_400, FIELD)).toBe(86_400);
  });

  it.each([59, 86_401, 90.5, -1, '3600', null])('refuses %j', async (value) => {
    expect(await failure(() => checkAccessTokenTtl(value, FIELD))).toEqual({ code: 'oauth.invalid_token_ttl', field: FIELD });
  });
});

describe('checkCustomClaims', () => {
  it('accepts a small object, and null as none', () => {
    expect(checkCustomClaims({ tenant: 'acme', tier: { level: 2 } }, FIELD)).toEqual({ tenant: 'acme', tier: { level: 2 } });
    expect(checkCustomClaims(null, FIELD)).toEqual({});
  });

  it('refuses non-objects and anything over 4 KiB', async () => {
    for (const value of [[1], 'x', 3]) expect((await failure(() => checkCustomClaims(value, FIELD))).code).toBe('oauth.invalid_claims');
    expect((await failure(() => checkCustomClaims({ big: 'x'.repeat(4100) }, FIELD))).code).toBe('oauth.invalid_claims');
  });

  it.each(['sub', 'iss', 'aud', 'exp', 'scope', 'client_id', 'org_id', 'act', 'cnf', 'token_use'])('refuses the reserved claim %s', async (claim) => {
    expect(await failure(() => checkCustomClaims({ ok: 1, [claim]: 'x' }, FIELD))).toEqual({ code: 'oauth.reserved_claim', field: FIELD });
  });
});

describe('checkJwks', () => {
  it('accepts EC, RSA and Ed25519 public keys, keeping only their public members', async () => {
    const es256 = await publicJwk('ES256');
    const es384 = await publicJwk('ES384');
    const rsa = await publicJwk('RS256');
    const ed = await publicJwk('EdDSA');
    const result = await checkJwks(
      {
        keys: [
          { ...es256.publicJwk, kid: 'a', use: 'sig', x5c: ['ignored'] },
          { ...es384.publicJwk, kid: 'b', alg: 'ES384' },
          { ...rsa.publicJwk, kid: 'c', alg: 'PS256' },
          { ...ed.publicJwk, kid: 'd' },
        ],
      },
      FIELD,
    );
    expect(result.keys).toHaveLength(4);
    expect(result.keys[0]).toEqual({ kty: 'EC', crv: 'P-256', x: es256.publicJwk.x, y: es256.publicJwk.y, kid: 'a', use: 'sig' });
    expect(result.keys[2]).toEqual({ kty: 'RSA', n: rsa.publicJwk.n, e: rsa.publicJwk.e, kid: 'c', alg: 'PS256' });
    // One key needs no kid.
    expect((await checkJwks({ keys: [ed.publicJwk] }, FIELD)).keys).toHaveLength(1);
    expect(result.keys.map((key) => jwkAlgorithm(key))).toEqual(['ES256', 'ES384', 'PS256', 'EdDSA']);
  });

  it('refuses private, symmetric, weak, mismatched, malformed and duplicate keys', async () => {
    const es256 = await publicJwk('ES256');
    // jose refuses to make one; node:crypto still can.
    const weakRsa = { publicJwk: generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' }) };
    const rsa = await publicJwk('RS256');
    const cases: unknown[] = [
      // A huge public exponent makes verification hundreds of times slower.
      { keys: [{ ...rsa.publicJwk, e: rsa.publicJwk.n }] },
      { keys: [{ ...rsa.publicJwk, e: 'Aw' }] },
      // Several keys, one without a kid: a verifier could not choose.
      { keys: [{ ...es256.publicJwk, kid: 'a' }, rsa.publicJwk] },
      null,
      [],
      { keys: [] },
      { keys: 'x' },
      { keys: Array.from({ length: 11 }, (_, i) => ({ ...es256.publicJwk, kid: `k${i}` })) },
      { keys: [es256.privateJwk] },
      { keys: [{ ...es256.publicJwk, p: 'x' }] },
      { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] },
      { keys: [{ kty: 'oct' }] },
      { keys: [weakRsa.publicJwk] },
      { keys: [{ ...es256.publicJwk, alg: 'ES384' }] },
      { keys: [{ ...es256.publicJwk, alg: 'HS256' }] },
      { keys: [{ ...es256.publicJwk, alg: 'none' }] },
      { keys: [{ ...es256.publicJwk, crv: 'P-521' }] },
      { keys: [{ ...es256.publicJwk, x: es256.publicJwk.y }] },
      { keys: [{ kty: 'OKP', crv: 'X25519', x: 'abc' }] },
      { keys: [{ ...es256.publicJwk, use: 'enc' }] },
      { keys: [{ ...es256.publicJwk, y: undefined }] },
      { keys: [{ ...es256.publicJwk, kid: 'same' }, { ...es256.publicJwk, kid: 'same' }] },
      { keys: [{ ...es256.publicJwk, padding: 'x'.repeat(17 * 1024) }] },
    ];
    for (const value of cases) {
      expect(await failure(() => checkJwks(value, FIELD)), JSON.stringify(value).slice(0, 120)).toEqual({ code: 'oauth.invalid_jwks', field: FIELD });
    }
  });
});

describe('checkJwksUri', () => {
  it('follows the outbound policy of webhooks', async () => {
    expect(checkJwksUri('https://keys.example.com/jwks.json', false, FIELD)).toBe('https://keys.example.com/jwks.json');
    expect(checkJwksUri('http://127.0.0.1:8080/jwks', true, FIELD)).toBe('http://127.0.0.1:8080/jwks');
    for (const value of ['http://keys.example.com/jwks', 'https://127.0.0.1/jwks', 'https://169.254.169.254/latest', 'not a url', 'https://u:p@x.example/']) {
      expect(await failure(() => checkJwksUri(value, false, FIELD)), value).toEqual({ code: 'oauth.invalid_jwks_uri', field: FIELD });
    }
  });
});

describe('checkRedirectUris', () => {
  it('accepts https anywhere and http on loopback only', () => {
    const ok = ['https://app.example.com/cb', 'http://127.0.0.1:4567/cb', 'http://[::1]/cb', 'http://localhost:3000/cb?x=1'];
    expect(checkRedirectUris([...ok, ok[0]], FIELD)).toEqual(ok);
  });

  it.each([
    'http://app.example.com/cb',
    'https://app.example.com/cb#frag',
    'com.example.app:/cb',
    '/relative',
    'javascript:alert(1)',
    'http://127.0.0.2.example.com/cb',
  ])('refuses %s', async (value) => {
    expect(await failure(() => checkRedirectUris([value], FIELD))).toEqual({ code: 'oauth.invalid_redirect_uri', field: FIELD });
  });

  it('allows at most 20', async () => {
    const many = Array.from({ length: 21 }, (_, i) => `https://app.example.com/cb${i}`);
    expect((await failure(() => checkRedirectUris(many, FIELD))).code).toBe('oauth.invalid_redirect_uri');
  });
});

describe('checkResourceIdentifier', () => {
  it('keeps an absolute http(s) URI exactly as given', () => {
    expect(checkResourceIdentifier('https://api.example.com', FIELD)).toBe('https://api.example.com');
    expect(checkResourceIdentifier('http://localhost:8080/v1', FIELD)).toBe('http://localhost:8080/v1');
  });

  it.each(['api.example.com', 'urn:example:api', 'https://api.example.com/#x', 'ftp://api.example.com', '', 'https://x.example/ y', `https://x.example/${'a'.repeat(512)}`])(
    'refuses %j',
    async (value) => {
      expect(await failure(() => checkResourceIdentifier(value, FIELD))).toEqual({ code: 'resource_server.invalid_identifier', field: FIELD });
    },
  );
});
