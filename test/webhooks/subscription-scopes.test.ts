import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';
import type { GraphQLClient, GraphQLResponse } from '../helpers/graphql.js';

/**
 * A webhook delivers whole audit events (user snapshots with email, names, custom attributes),
 * so subscribing needs the scope that reads those events through the API (issue 8, item 5).
 */

const CREATE = `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) {
  secret webhookEndpoint { id url eventTypes enabled } userErrors { code field } } }`;
const UPDATE = `mutation($input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $input) {
  webhookEndpoint { id url eventTypes enabled description } userErrors { code field } } }`;
const ENDPOINT = 'query($id: ID!) { node(id: $id) { ... on WebhookEndpoint { url eventTypes enabled description } } }';
const CREATE_USER = 'mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } } }';

/** A loopback receiver that records the event types it is sent. */
class Receiver {
  readonly types: string[] = [];
  url = '';
  private server: Server | undefined;

  async start(): Promise<this> {
    this.server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        this.types.push(JSON.parse(body).type);
        response.end('ok');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

let server: TestServer;
let ws: TestWorkspace;
let env: string;
const receivers: Receiver[] = [];

async function receiver(): Promise<Receiver> {
  const started = await new Receiver().start();
  receivers.push(started);
  return started;
}

async function keyWith(scopes: string[]): Promise<GraphQLClient> {
  const created = await ws.client.data('mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret userErrors { code } } }', {
    input: { name: scopes.join(' '), scopes },
  });
  expect(created.createApiKey.userErrors).toEqual([]);
  return ws.client.withKey(created.createApiKey.secret);
}

/** The refusal of a subscription the key cannot read: FORBIDDEN, naming the scope it lacks. */
function expectMissingScope(response: GraphQLResponse, scope: string): void {
  expect(response.errors, JSON.stringify(response.data)).toHaveLength(1);
  const [error] = response.errors!;
  expect(error.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'auth.missing_scope' });
  expect(error.message).toContain(`"${scope}"`);
}

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

beforeAll(async () => {
  server = await startServer({ allowPrivateTargets: true, webhookPollMs: 50 }, { deliveryWorker: true });
  ws = await server.workspace();
  env = ws.development.id;
});
afterAll(async () => {
  await server.close();
  await Promise.all(receivers.map((r) => r.stop()));
});

describe('subscribing to events needs the scope that reads them', () => {
  it('refuses a webhooks:write-only key every event, so it never receives a user it may not read', async () => {
    const writer = await keyWith(['webhooks:write']);
    // The same key may not read users or audit events directly.
    expect((await writer.request('query($env: ID) { users(environmentId: $env) { totalCount } }', { env })).errors?.[0].extensions).toMatchObject({
      code: 'FORBIDDEN',
    });
    expect((await writer.request('query($env: ID) { auditEvents(environmentId: $env) { totalCount } }', { env })).errors?.[0].extensions).toMatchObject({
      code: 'FORBIDDEN',
    });

    const stolen = await receiver();
    expectMissingScope(await writer.request(CREATE, { input: { environmentId: env, url: stolen.url, eventTypes: ['*'] } }), 'audit:read');
    // Omitted or empty event types deliver every event, as "*" does.
    expectMissingScope(await writer.request(CREATE, { input: { environmentId: env, url: stolen.url } }), 'audit:read');
    expectMissingScope(await writer.request(CREATE, { input: { environmentId: env, url: stolen.url, eventTypes: [] } }), 'audit:read');
    expectMissingScope(await writer.request(CREATE, { input: { environmentId: env, url: stolen.url, eventTypes: ['user.*'] } }), 'users:read');
    expectMissingScope(await writer.request(CREATE, { input: { environmentId: env, url: stolen.url, eventTypes: ['user.created'] } }), 'users:read');

    // An owner's endpoint proves the event was delivered; the refused ones received nothing.
    const legit = await receiver();
    await ws.client.data(CREATE, { input: { environmentId: env, url: legit.url, eventTypes: ['user.created'] } });
    await ws.client.data(CREATE_USER, { input: { environmentId: env, email: 'private@example.com', givenName: 'Pat' } });
    await waitFor(() => legit.types.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(stolen.types).toEqual([]);
    const listed = await ws.client.data('query($env: ID) { webhookEndpoints(environmentId: $env, first: 100) { nodes { url } } }', { env });
    expect(listed.webhookEndpoints.nodes.map((n: { url: string }) => n.url)).not.toContain(stolen.url);
  });

  it('maps each pattern to the read scope of its family; audit:read reads every family', async () => {
    const userReader = await keyWith(['webhooks:write', 'users:read']);
    const create = (client: GraphQLClient, eventTypes: string[]) =>
      client.request(CREATE, { input: { environmentId: env, url: 'https://hooks.example.com/in', eventTypes } });

    for (const eventTypes of [['user.created', 'user.updated'], ['user.created.*'], ['custom_attribute.*']]) {
      const ok = await create(userReader, eventTypes);
      expect(ok.errors, eventTypes.join()).toBeUndefined();
      expect(ok.data!.createWebhookEndpoint.userErrors).toEqual([]);
    }
    // A refused sign-in names the address someone typed, which the users API never shows.
    expectMissingScope(await create(userReader, ['user.*']), 'audit:read');
    expectMissingScope(await create(userReader, ['user.signin_failed']), 'audit:read');
    expectMissingScope(await create(userReader, ['organization.*']), 'organizations:read');
    expectMissingScope(await create(userReader, ['user.created', 'membership.created']), 'organizations:read');
    expectMissingScope(await create(userReader, ['*']), 'audit:read');
    expectMissingScope(await create(userReader, ['user.*', '*']), 'audit:read');
    // Token issuance and failed authentications exist only in the audit trail.
    expectMissingScope(await create(await keyWith(['webhooks:write', 'oauth:read']), ['oauth.*']), 'audit:read');
    const keyReader = await keyWith(['webhooks:write', 'api_keys:read']);
    expect((await create(keyReader, ['api_key.created'])).errors).toBeUndefined();
    expectMissingScope(await create(keyReader, ['api_key.*']), 'audit:read');
    expectMissingScope(await create(keyReader, ['api_key.authentication_failed']), 'audit:read');
    // A write scope includes its read scope.
    expect((await create(await keyWith(['webhooks:write', 'organizations:write']), ['organization.*', 'membership.*'])).errors).toBeUndefined();

    const auditor = await keyWith(['webhooks:write', 'audit:read']);
    for (const eventTypes of [['*'], [], ['user.*', 'oauth.*', 'api_key.*']]) {
      expect((await create(auditor, eventTypes)).errors, eventTypes.join()).toBeUndefined();
    }
  });

  it('fails closed: a family without a known read scope (sign-in, sso, …) needs audit:read', async () => {
    const everyResource = await keyWith([
      'webhooks:write', 'workspace:read', 'environments:read', 'organizations:read', 'users:read', 'roles:read', 'api_keys:read', 'webhooks:read', 'oauth:read',
    ]);
    for (const eventType of ['sign_in.*', 'saml.response_received', 'sso.*', 'scim_import.user_synced', 'users.*', 'use.*', 'x']) {
      const response = await everyResource.request(CREATE, { input: { environmentId: env, url: 'https://hooks.example.com/in', eventTypes: [eventType] } });
      expectMissingScope(response, 'audit:read');
    }
  });

  it('accepts no pattern that could span families', async () => {
    for (const eventType of ['u*', 'user*', '*.created', 'user.*.created', '%', 'user.%']) {
      const data = await ws.client.data(CREATE, { input: { environmentId: env, url: 'https://hooks.example.com/in', eventTypes: [eventType] } });
      expect(data.createWebhookEndpoint.userErrors, eventType).toEqual([{ code: 'audit.invalid_action', field: ['input', 'eventTypes'] }]);
    }
  });
});

describe('changing an endpoint re-checks what it will receive', () => {
  it('refuses widening the event types beyond what the key reads', async () => {
    const userReader = await keyWith(['webhooks:write', 'users:read']);
    const created = await userReader.data(CREATE, { input: { environmentId: env, url: 'https://hooks.example.com/mine', eventTypes: ['user.created', 'user.updated'] } });
    const id = created.createWebhookEndpoint.webhookEndpoint.id;
    expectMissingScope(await userReader.request(UPDATE, { input: { id, eventTypes: ['*'] } }), 'audit:read');
    expectMissingScope(await userReader.request(UPDATE, { input: { id, eventTypes: [] } }), 'audit:read');
    expectMissingScope(await userReader.request(UPDATE, { input: { id, eventTypes: ['user.created', 'role.*'] } }), 'roles:read');
    expect((await ws.client.data(ENDPOINT, { id })).node.eventTypes).toEqual(['user.created', 'user.updated']);
    const narrowed = await userReader.data(UPDATE, { input: { id, eventTypes: ['user.deleted'] } });
    expect(narrowed.updateWebhookEndpoint.webhookEndpoint.eventTypes).toEqual(['user.deleted']);
  });

  it("refuses pointing someone else's endpoint at a new URL, or re-enabling it, without its events' scopes", async () => {
    const owners = await receiver();
    const stolen = await receiver();
    const created = await ws.client.data(CREATE, { input: { environmentId: env, url: owners.url, eventTypes: ['*'] } });
    const id = created.createWebhookEndpoint.webhookEndpoint.id;
    // A key that never had (or has since lost) the read scopes of what the endpoint receives.
    const writer = await keyWith(['webhooks:write']);
    expectMissingScope(await writer.request(UPDATE, { input: { id, url: stolen.url } }), 'audit:read');

    // What sends nothing stays allowed: describing and disabling.
    expect((await writer.request(UPDATE, { input: { id, description: 'owned by the platform team' } })).errors).toBeUndefined();
    expect((await writer.request(UPDATE, { input: { id, enabled: false } })).errors).toBeUndefined();
    expectMissingScope(await writer.request(UPDATE, { input: { id, enabled: true } }), 'audit:read');
    expect((await ws.client.data(ENDPOINT, { id })).node).toEqual({ url: owners.url, eventTypes: ['*'], enabled: false, description: 'owned by the platform team' });

    await ws.client.data(UPDATE, { input: { id, enabled: true } });
    await ws.client.data(CREATE_USER, { input: { environmentId: env, email: 'redirected@example.com' } });
    await waitFor(() => owners.types.includes('user.created'));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(stolen.types).toEqual([]);
  });

  it('refuses redelivering an event the key cannot read', async () => {
    const hooks = await receiver();
    const created = await ws.client.data(CREATE, { input: { environmentId: env, url: hooks.url, eventTypes: ['user.created'] } });
    const id = created.createWebhookEndpoint.webhookEndpoint.id;
    await ws.client.data(CREATE_USER, { input: { environmentId: env, email: 'redeliver@example.com' } });
    await waitFor(() => hooks.types.length === 1);
    const deliveries = await ws.client.data('query($id: ID!) { webhookDeliveries(endpointId: $id) { nodes { id } } }', { id });
    const deliveryId = deliveries.webhookDeliveries.nodes[0].id;
    const REDELIVER = 'mutation($id: ID!) { redeliverWebhook(input: { deliveryId: $id }) { delivery { id } userErrors { code } } }';

    expectMissingScope(await (await keyWith(['webhooks:write'])).request(REDELIVER, { id: deliveryId }), 'users:read');
    const allowed = await (await keyWith(['webhooks:write', 'users:read'])).request(REDELIVER, { id: deliveryId });
    expect(allowed.errors).toBeUndefined();
    await waitFor(() => hooks.types.length === 2);
  });
});
