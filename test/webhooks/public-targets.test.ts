import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

/**
 * Outbound targets with default settings (no private targets): public addresses of both
 * families are accepted, private ones refused (issue 8, item 6: every IPv4 address was private).
 *
 * Nothing here connects anywhere: the server runs without a delivery worker, and clients and
 * trusted issuers fetch a jwks_uri only when a token is verified, which no test does.
 */

const CREATE_ENDPOINT = `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) {
  webhookEndpoint { id url } userErrors { code field } } }`;
const UPDATE_ENDPOINT = `mutation($input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $input) {
  webhookEndpoint { url } userErrors { code field } } }`;
const CREATE_ISSUER = `mutation($input: CreateTrustedIssuerInput!) { createTrustedIssuer(input: $input) {
  trustedIssuer { jwksUri } userErrors { code field } } }`;
const CREATE_SERVICE_ACCOUNT = `mutation($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) {
  serviceAccount { jwksUri } userErrors { code field } } }`;

const PUBLIC_URLS = [
  'https://93.184.216.34/hook',
  'https://8.8.8.8:8443/hook',
  'https://1.1.1.1/hook',
  'https://[2001:4860:4860::8888]/hook',
  'https://[::ffff:93.184.216.34]/hook',
];
const PRIVATE_URLS = [
  'https://192.168.1.20/hook',
  'https://172.16.0.1/hook',
  'https://100.64.0.1/hook',
  'https://0.0.0.0/hook',
  'https://[fd00::1]/hook',
  'https://[fe80::1]/hook',
  'https://[::ffff:127.0.0.1]/hook',
  'https://[::ffff:7f00:1]/hook',
  'https://[::ffff:a9fe:a9fe]/latest/meta-data',
  'https://[64:ff9b::10.0.0.1]/hook',
  'https://[2002:a00:1::1]/hook',
];

let server: TestServer;
let ws: TestWorkspace;
let env: string;

beforeAll(async () => {
  server = await startServer();
  expect(server.config.allowPrivateTargets).toBe(false);
  ws = await server.workspace();
  env = ws.development.id;
});
afterAll(() => server.close());

describe('webhook endpoints with default settings', () => {
  it.each(PUBLIC_URLS)('accept a public address literal: %s', async (url) => {
    const data = await ws.client.data(CREATE_ENDPOINT, { input: { environmentId: env, url, eventTypes: ['organization.created'] } });
    expect(data.createWebhookEndpoint.userErrors).toEqual([]);
    expect(data.createWebhookEndpoint.webhookEndpoint.url).toBe(new URL(url).toString());
  });

  it.each(PRIVATE_URLS)('refuse a private address literal: %s', async (url) => {
    const data = await ws.client.data(CREATE_ENDPOINT, { input: { environmentId: env, url, eventTypes: ['organization.created'] } });
    expect(data.createWebhookEndpoint).toEqual({ webhookEndpoint: null, userErrors: [{ code: 'webhook.private_target', field: ['input', 'url'] }] });
  });

  it('move between public addresses of both families, but not to a private one', async () => {
    const created = await ws.client.data(CREATE_ENDPOINT, { input: { environmentId: env, url: 'https://[2606:4700:4700::1111]/in', eventTypes: ['organization.*'] } });
    const id = created.createWebhookEndpoint.webhookEndpoint.id;
    const moved = await ws.client.data(UPDATE_ENDPOINT, { input: { id, url: 'https://198.41.0.4/in' } });
    expect(moved.updateWebhookEndpoint).toEqual({ webhookEndpoint: { url: 'https://198.41.0.4/in' }, userErrors: [] });
    const refused = await ws.client.data(UPDATE_ENDPOINT, { input: { id, url: 'https://10.0.0.1/in' } });
    expect(refused.updateWebhookEndpoint.userErrors).toEqual([{ code: 'webhook.private_target', field: ['input', 'url'] }]);
  });
});

describe('jwks_uri with default settings', () => {
  it('accepts a public IPv4 or IPv6 address for trusted issuers and clients, and refuses a private one', async () => {
    for (const [jwksUri, accepted] of [
      ['https://93.184.216.34/jwks', true],
      ['https://[2001:4860:4860::8888]/jwks', true],
      ['https://10.0.0.8/jwks', false],
      ['https://[::ffff:a00:8]/jwks', false],
    ] as const) {
      const issuer = await ws.client.data(CREATE_ISSUER, {
        input: { environmentId: env, name: jwksUri, issuer: `https://issuer-${Math.random().toString(36).slice(2)}.example.com`, jwksUri, audiences: ['api'] },
      });
      const client = await ws.client.data(CREATE_SERVICE_ACCOUNT, { input: { environmentId: env, name: jwksUri, jwksUri } });
      for (const payload of [issuer.createTrustedIssuer, client.createServiceAccount]) {
        expect(payload.userErrors, jwksUri).toEqual(accepted ? [] : [{ code: 'oauth.invalid_jwks_uri', field: ['input', 'jwksUri'] }]);
      }
      if (accepted) {
        expect(issuer.createTrustedIssuer.trustedIssuer.jwksUri).toBe(jwksUri);
        expect(client.createServiceAccount.serviceAccount.jwksUri).toBe(jwksUri);
      }
    }
  });
});
