import http from 'node:http';
import { exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { expect } from 'vitest';
import type { GraphQLClient } from './graphql.js';

export const API = 'https://api.example.test';
export const OTHER_API = 'https://other-api.example.test';

/** Runs a mutation and fails the test on any error or user error; returns its payload. */
export async function mutate(client: GraphQLClient, name: string, inputType: string, selection: string, input: Record<string, unknown>) {
  const data = await client.data(
    `mutation($input: ${inputType}!) { ${name}(input: $input) { ${selection} userErrors { code field message } } }`,
    { input },
  );
  expect(data[name].userErrors, `${name} user errors`).toEqual([]);
  return data[name];
}

export interface KeyPair {
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function clientKeyPair(alg: 'ES256' | 'RS256' | 'EdDSA' = 'ES256', kid = `k-${Math.random().toString(36).slice(2, 8)}`): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  return { privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

export interface OAuthFixture {
  environmentId: string;
  issuer: string;
  tokenEndpoint: string;
  jwksUri: string;
  /** A service account of an organization, with a secret and a registered key. */
  clientId: string;
  secret: string;
  secretId: string;
  organizationId: string;
  key: KeyPair;
}

/**
 * Two resource servers (`read`/`write` on API, `other` on OTHER_API) and an organization's
 * service account allowed both audiences and `read write`, with one secret and one ES256 key.
 */
export async function oauthFixture(client: GraphQLClient, environmentId: string, overrides: Record<string, unknown> = {}): Promise<OAuthFixture> {
  await mutate(client, 'createResourceServer', 'CreateResourceServerInput', 'resourceServer { id }', {
    environmentId,
    name: 'Example API',
    identifier: API,
    scopes: [
      { name: 'read', description: 'Read things' },
      { name: 'write', description: 'Write things' },
    ],
  });
  await mutate(client, 'createResourceServer', 'CreateResourceServerInput', 'resourceServer { id }', {
    environmentId,
    name: 'Other API',
    identifier: OTHER_API,
    scopes: [{ name: 'other' }],
  });
  const org = await mutate(client, 'createOrganization', 'CreateOrganizationInput', 'organization { id }', { environmentId, name: 'Acme' });
  const key = await clientKeyPair();
  const account = await mutate(client, 'createServiceAccount', 'CreateServiceAccountInput', 'serviceAccount { id clientId }', {
    environmentId,
    organizationId: org.organization.id,
    name: 'Billing sync',
    allowedScopes: ['read', 'write', 'other'],
    allowedAudiences: [API, OTHER_API],
    jwks: { keys: [key.publicJwk] },
    ...overrides,
  });
  const secret = await mutate(client, 'createClientSecret', 'CreateClientSecretInput', 'secret clientSecret { id }', { clientId: account.serviceAccount.clientId });
  const { environment } = await client.data(`query($id: ID!) { environment(id: $id) { issuer } }`, { id: environmentId });
  return {
    environmentId,
    issuer: environment.issuer,
    tokenEndpoint: `${environment.issuer}/oauth/token`,
    jwksUri: `${environment.issuer}/.well-known/jwks.json`,
    clientId: account.serviceAccount.clientId,
    secret: secret.secret,
    secretId: secret.clientSecret.id,
    organizationId: org.organization.id,
    key,
  };
}

/** POSTs a form to an OAuth endpoint the way a plain HTTP client would. */
export function postForm(url: string, form: Record<string, string> | string, headers: Record<string, string> = {}) {
  return request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: typeof form === 'string' ? form : new URLSearchParams(form).toString(),
  });
}

/** Any request; the body parsed as JSON when it is JSON, else kept as text. */
export async function request(url: string, init: RequestInit): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(url, init);
  const text = await response.text();
  let body: any = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  return { status: response.status, headers: response.headers, body };
}

export const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

/**
 * Any request from a given loopback address: another client IP, as far as the server can tell.
 * With `gate`, the headers go out at once and the body only when the gate opens, so that several
 * requests reach the handler together. A body that is not JSON is returned as text.
 */
export function requestFrom(
  localAddress: string,
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string; gate?: Promise<unknown> } = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const body = init.body ?? '';
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      { method: init.method ?? 'POST', localAddress, headers: { 'content-length': String(Buffer.byteLength(body)), ...init.headers } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const headers = new Headers();
          for (const [name, value] of Object.entries(response.headers)) if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : null;
          } catch {
            // kept as text
          }
          resolve({ status: response.statusCode!, headers, body: parsed });
        });
      },
    );
    request.on('error', reject);
    if (!init.gate) return void request.end(body);
    request.flushHeaders();
    void init.gate.then(() => request.end(body));
  });
}
