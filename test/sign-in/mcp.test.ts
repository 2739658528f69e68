import http from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpBrowser } from '../helpers/browser-http.js';
import { mutate } from '../helpers/oauth.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

const OUTBOX = `query($env: ID) { developmentOutbox(environmentId: $env, first: 1) { nodes { text } } }`;
const DOCUMENT_URL = 'https://mcp-client.example.test/oauth/client.json';
const CALLBACK = 'http://127.0.0.1:33418/callback';

let server: TestServer;
let ws: TestWorkspace;
let env: string;
let issuer: string;
let mcp: http.Server;
let mcpUrl: string;
let resourceMetadataUrl: string;
/** The client's metadata document as its host (the outside world) serves it. */
let document: Record<string, unknown> | null = null;
let documentFetches = 0;

/** The outside world, for Gatehouse's outbound fetch: only the MCP client's metadata host exists. */
const outside: typeof fetch = async (input) => {
  const url = String(input instanceof Request ? input.url : input);
  if (url !== DOCUMENT_URL || !document) return new Response('not found', { status: 404 });
  documentFetches += 1;
  return new Response(JSON.stringify(document), { status: 200, headers: { 'content-type': 'application/json', 'cache-control': 'max-age=3600' } });
};

/** A small MCP server that accepts only Gatehouse's access tokens issued for it. */
async function startMcpServer() {
  const jwks = createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`));
  mcp = http.createServer(async (request, response) => {
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    let subject: string | undefined;
    if (token) {
      try {
        subject = (await jwtVerify(token, jwks, { issuer, audience: mcpUrl, typ: 'at+jwt' })).payload.sub;
      } catch {
        subject = undefined;
      }
    }
    if (!subject) {
      response.writeHead(401, { 'www-authenticate': `Bearer resource_metadata="${resourceMetadataUrl}"`, 'content-type': 'application/json' }).end('{"error":"invalid_token"}');
      return;
    }
    const server = new McpServer({ name: 'notes', version: '1.0.0' });
    server.tool('whoami', async () => ({ content: [{ type: 'text', text: subject! }] }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    response.on('close', () => void transport.close());
    await server.connect(transport);
    let body = '';
    for await (const chunk of request) body += chunk;
    await transport.handleRequest(request, response, body ? JSON.parse(body) : undefined);
  });
  await new Promise<void>((resolve) => mcp.listen(0, '127.0.0.1', resolve));
  mcpUrl = `http://127.0.0.1:${(mcp.address() as { port: number }).port}/mcp`;
}

/** An MCP client's OAuth provider whose "user agent" signs `email` in through the hosted pages. */
class SigningInProvider implements OAuthClientProvider {
  information: OAuthClientInformationMixed | undefined;
  saved: OAuthTokens | undefined;
  verifier = '';
  code: string | undefined;
  authorizationUrl: URL | undefined;
  clientMetadataUrl?: string;

  constructor(
    private readonly email: string,
    documentUrl?: string,
  ) {
    this.clientMetadataUrl = documentUrl;
  }

  get redirectUrl() {
    return CALLBACK;
  }
  get clientMetadata(): OAuthClientMetadata {
    return { client_name: 'Notes agent', redirect_uris: [CALLBACK], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' };
  }
  clientInformation() {
    return this.information;
  }
  saveClientInformation(information: OAuthClientInformationMixed) {
    this.information = information;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
  async redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
    const browser = new HttpBrowser(server.url);
    await browser.go(url.toString());
    await browser.submit('/sign-in/email', { email: this.email });
    const [message] = (await ws.client.data(OUTBOX, { env })).developmentOutbox.nodes;
    await browser.submit('/sign-in/code', { code: /code is (\d{6})/.exec(message.text)![1] });
    expect(browser.html).toContain('Notes agent');
    const done = (await browser.submit('/sign-in/consent', { decision: 'allow' })) as { redirect: URL };
    expect(done.redirect.searchParams.get('iss')).toBe(issuer);
    this.code = done.redirect.searchParams.get('code') ?? undefined;
  }
}

/** Connects an unmodified MCP client through the whole authorization dance, then calls a tool. */
async function connectAndCall(provider: SigningInProvider): Promise<string> {
  const first = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
  await expect(new Client({ name: 'agent', version: '1.0.0' }).connect(first)).rejects.toThrow(/Unauthorized/i);
  expect(provider.code).toBeTruthy();
  await first.finishAuth(provider.code!);
  const client = new Client({ name: 'agent', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider }));
  const result = (await client.callTool({ name: 'whoami' })) as { content: { text: string }[] };
  await client.close();
  return result.content[0].text;
}

beforeAll(async () => {
  server = await startServer({}, { outboundFetch: outside });
  ws = await server.workspace('MCP');
  env = ws.development.id;
  issuer = (await ws.client.data(`query($id: ID!) { environment(id: $id) { issuer } }`, { id: env })).environment.issuer;
  await mutate(ws.client, 'updateClientRegistrationPolicy', 'UpdateClientRegistrationPolicyInput', 'environment { id }', {
    environmentId: env,
    policy: 'OPEN',
    registrationScopes: ['notes:read'],
  });
  await startMcpServer();
  const created = await mutate(ws.client, 'createResourceServer', 'CreateResourceServerInput', 'resourceServer { id metadataUrl }', {
    environmentId: env,
    name: 'Notes MCP server',
    identifier: mcpUrl,
    scopes: [{ name: 'notes:read', description: 'Read your notes' }],
  });
  resourceMetadataUrl = created.resourceServer.metadataUrl;
});
afterAll(async () => {
  await new Promise<void>((resolve) => mcp?.close(() => resolve()));
  await server.close();
});

describe('an MCP client (the official TypeScript SDK) reaching an MCP server protected by Gatehouse', () => {
  it('registers by Client ID Metadata Document, gets consent, and calls a tool with a token for that server', async () => {
    // Its name is shown without the marks that would reorder it on the consent page.
    document = { client_id: DOCUMENT_URL, client_name: 'Notes \u2066agent\u2069', redirect_uris: [CALLBACK], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' };
    const provider = new SigningInProvider('mcp-user@example.com', DOCUMENT_URL);
    const subject = await connectAndCall(provider);
    expect(subject).toMatch(/^usr_/);
    expect(provider.information?.client_id).toBe(DOCUMENT_URL);
    expect(provider.authorizationUrl!.searchParams.get('resource')).toBe(mcpUrl);
    expect(documentFetches).toBe(1);
    const claims = JSON.parse(Buffer.from(provider.saved!.access_token.split('.')[1], 'base64url').toString());
    expect(claims).toMatchObject({ aud: mcpUrl, client_id: DOCUMENT_URL, scope: 'notes:read' });

    // The client appears as an application an admin can see (and disable).
    const apps = await ws.client.data(`query($env: ID) { applications(environmentId: $env, type: DYNAMIC, first: 10) { nodes { id name enabled } } }`, { env });
    expect(apps.applications.nodes).toEqual([expect.objectContaining({ name: 'Notes agent', enabled: true })]);
  });

  it('registers dynamically (RFC 7591) as a public client when no metadata document is offered', async () => {
    const provider = new SigningInProvider('dcr-user@example.com');
    const subject = await connectAndCall(provider);
    expect(subject).toMatch(/^usr_/);
    expect(provider.information?.client_id).toMatch(/^app_/);
    expect((provider.information as { client_secret?: string }).client_secret).toBeUndefined();
  });

  it('refuses a metadata document that names another client, or a redirect URI it does not list', async () => {
    const browser = new HttpBrowser(server.url);
    const authorize = (clientId: string, redirect = CALLBACK) => {
      const url = new URL(`${issuer}/oauth/authorize`);
      url.search = new URLSearchParams({ client_id: clientId, redirect_uri: redirect, response_type: 'code', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' }).toString();
      return browser.go(url.toString());
    };
    await authorize(DOCUMENT_URL, 'http://127.0.0.1:9/elsewhere');
    expect(browser.status).toBe(400);
    expect(browser.html).toContain('invalid_request');

    const forged = 'https://mcp-client.example.test/oauth/other.json';
    await authorize(forged);
    expect(browser.status).toBe(400);
    expect(browser.html).toContain('could not be fetched');
    for (const bad of ['http://mcp-client.example.test/c.json', 'https://mcp-client.example.test/', 'https://user:pw@mcp-client.example.test/c.json']) {
      await authorize(bad);
      expect(browser.status, bad).toBe(400);
    }
  });
});
