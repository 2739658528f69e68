import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as client from 'openid-client';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';
import { API, clientKeyPair, mutate, oauthFixture, type KeyPair, type OAuthFixture } from '../helpers/oauth.js';

let server: TestServer;
let ws: TestWorkspace;
let f: OAuthFixture;
/** A client's own JWKS endpoint, on loopback (allowed here by the private-targets switch). */
let jwksServer: Server;
let jwksUrl: string;
let served: KeyPair[] = [];
let jwksRequests = 0;

beforeAll(async () => {
  server = await startServer({ allowPrivateTargets: true });
  ws = await server.workspace();
  f = await oauthFixture(ws.client, ws.development.id);
  jwksServer = createServer((_request, response) => {
    jwksRequests += 1;
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ keys: served.map((key) => key.publicJwk) }));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;
});
afterAll(async () => {
  await server?.close();
  await new Promise((resolve) => jwksServer?.close(resolve));
});

describe('RFC 9728 protected resource metadata', () => {
  it('serves each resource server\'s metadata at the URL GraphQL gives, and at the path-inserted location', async () => {
    const { resourceServers } = await ws.client.data(`query($env: ID) { resourceServers(environmentId: $env) { nodes { id identifier metadataUrl } } }`, {
      env: f.environmentId,
    });
    const api = resourceServers.nodes.find((node: { identifier: string }) => node.identifier === API);
    expect(api.metadataUrl).toBe(`${f.issuer}/resource-servers/${api.id}/.well-known/oauth-protected-resource`);
    for (const url of [api.metadataUrl, `${server.url}/.well-known/oauth-protected-resource/e/${f.environmentId}/resource-servers/${api.id}`]) {
      const response = await fetch(url);
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('public, max-age=300');
      expect(await response.json()).toEqual({
        resource: API,
        resource_name: 'Example API',
        authorization_servers: [f.issuer],
        jwks_uri: f.jwksUri,
        scopes_supported: ['read', 'write'],
        bearer_methods_supported: ['header'],
      });
    }
    // The authorization server it names is discoverable, as an MCP client would go on to do.
    const config = await client.discovery(new URL(f.issuer), f.clientId, undefined, client.ClientSecretBasic(f.secret), { execute: [client.allowInsecureRequests] });
    expect(config.serverMetadata().issuer).toBe(f.issuer);
  });

  it('answers 404 for a resource server of another environment or none', async () => {
    const other = await oauthFixture(ws.client, ws.production.id);
    const { resourceServers } = await ws.client.data(`query($env: ID) { resourceServers(environmentId: $env) { nodes { id } } }`, { env: other.environmentId });
    const foreignId = resourceServers.nodes[0].id;
    expect((await fetch(`${f.issuer}/resource-servers/${foreignId}/.well-known/oauth-protected-resource`)).status).toBe(404);
    expect((await fetch(`${f.issuer}/resource-servers/rsv_00000000000000000000000000/.well-known/oauth-protected-resource`)).status).toBe(404);
  });
});

describe('private_key_jwt with keys at the client\'s jwks_uri', () => {
  it('fetches the client\'s JWKS, follows a key rotation at the client, and refuses removed keys', async () => {
    const first = await clientKeyPair('ES256', 'client-key-1');
    served = [first];
    const account = await mutate(ws.client, 'createServiceAccount', 'CreateServiceAccountInput', 'serviceAccount { clientId }', {
      environmentId: f.environmentId,
      name: 'Keys by URL',
      allowedScopes: ['read'],
      allowedAudiences: [API],
      jwksUri: jwksUrl,
    });
    const clientId: string = account.serviceAccount.clientId;
    const metadata = (await (await fetch(`${f.issuer}/.well-known/openid-configuration`)).json()) as client.ServerMetadata;
    const grant = (key: KeyPair) => {
      const config = new client.Configuration(metadata, clientId, undefined, client.PrivateKeyJwt({ key: key.privateKey, kid: key.publicJwk.kid as string }));
      client.allowInsecureRequests(config);
      return client.clientCredentialsGrant(config, { resource: API });
    };
    expect(decodeJwt((await grant(first)).access_token).sub).toBe(clientId);
    expect(jwksRequests).toBeGreaterThan(0);

    // The client publishes a second key and signs with it. Gatehouse refetches a client's set on
    // an unknown kid at most every 30 s, and afresh whenever the client's record changes.
    const second = await clientKeyPair('ES256', 'client-key-2');
    served = [first, second];
    await mutate(ws.client, 'updateServiceAccount', 'UpdateServiceAccountInput', 'serviceAccount { id }', { id: clientId, description: 'rotating keys' });
    expect(decodeJwt((await grant(second)).access_token).sub).toBe(clientId);

    // A key the client withdrew no longer authenticates once its set is fetched again.
    served = [second];
    await mutate(ws.client, 'updateServiceAccount', 'UpdateServiceAccountInput', 'serviceAccount { id }', { id: clientId, description: 'old key withdrawn' });
    await expect(grant(first)).rejects.toMatchObject({ status: 401 });
  });
});
