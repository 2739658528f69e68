import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { DeliveryWorker, deliveryWorkerOptions } from '../../src/modules/webhook/delivery-worker.js';
import { eventually } from '../helpers/eventually.js';
import { startServer, TEST_MASTER_KEY, type TestServer, type TestWorkspace } from '../helpers/server.js';

/** The builder's backend: records what it receives and answers as told. */
class Receiver {
  readonly requests: { headers: IncomingHttpHeaders; body: string }[] = [];
  status = 200;
  hang = false;
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        this.requests.push({ headers: request.headers, body });
        if (this.hang) return;
        response.statusCode = this.status;
        response.end('ok');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server!.address() as { port: number }).port}/hooks`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  async waitFor(count: number, timeoutMs = 10_000) {
    const deadline = Date.now() + timeoutMs;
    while (this.requests.length < count) {
      if (Date.now() > deadline) throw new Error(`received ${this.requests.length} of ${count} deliveries`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return this.requests;
  }
}

const CREATE = `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) {
  secret webhookEndpoint { id url eventTypes enabled secretPrefix } userErrors { code field } } }`;
const CREATE_ORG = 'mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }';
const DELIVERIES = `query($id: ID!) { webhookDeliveries(endpointId: $id) { nodes { id eventId eventType status attempts lastStatusCode lastError
  attemptHistory { statusCode error durationMs } } } }`;

let server: TestServer;
let ws: TestWorkspace;
let env: string;
const receivers: Receiver[] = [];

async function receiver(): Promise<Receiver> {
  const r = new Receiver();
  await r.start();
  receivers.push(r);
  return r;
}

async function endpoint(url: string, extra: Record<string, unknown> = {}) {
  const data = await ws.client.data(CREATE, { input: { environmentId: env, url, ...extra } });
  expect(data.createWebhookEndpoint.userErrors).toEqual([]);
  return data.createWebhookEndpoint as { secret: string; webhookEndpoint: { id: string; secretPrefix: string } };
}


beforeAll(async () => {
  server = await startServer(
    { allowPrivateTargets: true, webhookRetrySchedule: [0.05, 0.05], webhookDisableAfterMs: 0, webhookPollMs: 50, webhookTimeoutMs: 500 },
    { deliveryWorker: true },
  );
  ws = await server.workspace();
  env = ws.development.id;
});
afterAll(async () => {
  await server.close();
  await Promise.all(receivers.map((r) => r.stop()));
});

describe('webhook deliveries', () => {
  it('signs each delivery per Standard Webhooks, verifiable with the secret shown once', async () => {
    const hooks = await receiver();
    const { secret, webhookEndpoint } = await endpoint(hooks.url, { eventTypes: ['organization.*'] });
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(webhookEndpoint.secretPrefix).toBe(secret.slice(0, 12));

    const orgId = (await ws.client.data(CREATE_ORG, { input: { environmentId: env, name: 'Hooked' } })).createOrganization.organization.id;
    const [request] = await hooks.waitFor(1);
    const payload = new Webhook(secret).verify(request.body, request.headers as Record<string, string>) as {
      type: string;
      data: { id: string; action: string; targets: { id: string }[]; hash: string };
    };
    expect(payload.type).toBe('organization.created');
    expect(payload.data).toMatchObject({ action: 'organization.created', targets: [{ id: orgId }], hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(request.headers['webhook-id']).toMatch(/^wdl_/);
    expect(() => new Webhook(`whsec_${Buffer.alloc(32, 9).toString('base64')}`).verify(request.body, request.headers as Record<string, string>)).toThrow();

    const deliveries = await eventually(
      () => ws.client.data(DELIVERIES, { id: webhookEndpoint.id }),
      (data) => data.webhookDeliveries.nodes[0]?.status === 'SUCCEEDED',
    );
    expect(deliveries.webhookDeliveries.nodes).toEqual([
      {
        id: request.headers['webhook-id'],
        eventId: payload.data.id,
        eventType: 'organization.created',
        status: 'SUCCEEDED',
        attempts: 1,
        lastStatusCode: 200,
        lastError: null,
        attemptHistory: [{ statusCode: 200, error: null, durationMs: expect.any(Number) }],
      },
    ]);
  });

  it('keeps the secret sealed at rest and out of the audit trail', async () => {
    const hooks = await receiver();
    const { secret, webhookEndpoint } = await endpoint(hooks.url);
    const rows = await server.database.db.orm.em.fork().getConnection().execute('select * from webhook_endpoint where id = ?', [webhookEndpoint.id]);
    expect(JSON.stringify(rows)).not.toContain(secret.slice(6));
    const events = await server.database.db.orm.em.fork().getConnection().execute('select * from audit_event');
    expect(JSON.stringify(events)).not.toContain(secret.slice(6));
  });

  it('delivers only the event types asked for', async () => {
    const hooks = await receiver();
    await endpoint(hooks.url, { eventTypes: ['user.created'] });
    await ws.client.data(CREATE_ORG, { input: { environmentId: env, name: 'Not for this hook' } });
    await ws.client.data('mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } } }', {
      input: { environmentId: env, email: 'hooked@example.com' },
    });
    await hooks.waitFor(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(hooks.requests.map((r) => JSON.parse(r.body).type)).toEqual(['user.created']);
  });

  it('retries with backoff, gives up, disables an endpoint that keeps failing (audited), and redelivers on demand', async () => {
    const hooks = await receiver();
    hooks.status = 500;
    const { webhookEndpoint } = await endpoint(hooks.url, { eventTypes: ['organization.created'] });
    await ws.client.data(CREATE_ORG, { input: { environmentId: env, name: 'Will fail' } });
    await hooks.waitFor(3);
    const failed = await eventually(
      () => ws.client.data(DELIVERIES, { id: webhookEndpoint.id }),
      (data) => data.webhookDeliveries.nodes[0]?.status === 'FAILED',
    );
    const [delivery] = failed.webhookDeliveries.nodes;
    expect(delivery).toMatchObject({ status: 'FAILED', attempts: 3, lastStatusCode: 500, lastError: 'HTTP 500' });
    expect(delivery.attemptHistory.map((a: { statusCode: number }) => a.statusCode)).toEqual([500, 500, 500]);
    // The same webhook-id on every attempt, so the receiver can de-duplicate.
    expect(new Set(hooks.requests.map((r) => r.headers['webhook-id']))).toEqual(new Set([delivery.id]));

    const state = await ws.client.data('query($id: ID!) { node(id: $id) { ... on WebhookEndpoint { enabled disabledReason } } }', {
      id: webhookEndpoint.id,
    });
    expect(state.node.enabled).toBe(false);
    expect(state.node.disabledReason).toMatch(/HTTP 500/);
    const audited = await ws.client.data('query($env: ID, $id: ID) { auditEvents(environmentId: $env, filter: { targetId: $id, actions: ["webhook_endpoint.disabled"] }) { nodes { actor { type } } } }', {
      env,
      id: webhookEndpoint.id,
    });
    expect(audited.auditEvents.nodes).toEqual([{ actor: { type: 'SYSTEM' } }]);

    // Disabled: nothing more is queued for it.
    await ws.client.data(CREATE_ORG, { input: { environmentId: env, name: 'While disabled' } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(hooks.requests).toHaveLength(3);

    // Redelivery needs the endpoint enabled again; then it succeeds.
    const refused = await ws.client.data('mutation($id: ID!) { redeliverWebhook(input: { deliveryId: $id }) { delivery { id } userErrors { code } } }', {
      id: delivery.id,
    });
    expect(refused.redeliverWebhook.userErrors).toEqual([{ code: 'webhook.endpoint_disabled' }]);
    hooks.status = 204;
    await ws.client.data('mutation($id: ID!) { updateWebhookEndpoint(input: { id: $id, enabled: true }) { webhookEndpoint { enabled disabledReason } } }', {
      id: webhookEndpoint.id,
    });
    const again = await ws.client.data('mutation($id: ID!) { redeliverWebhook(input: { deliveryId: $id }) { delivery { id status } userErrors { code } } }', {
      id: delivery.id,
    });
    expect(again.redeliverWebhook.delivery.status).toBe('PENDING');
    await hooks.waitFor(4);
    const redelivered = await eventually(
      () => ws.client.data('query($id: ID!) { node(id: $id) { ... on WebhookDelivery { status eventId } } }', { id: again.redeliverWebhook.delivery.id }),
      (data) => data.node.status === 'SUCCEEDED',
    );
    expect(redelivered.node).toEqual({ status: 'SUCCEEDED', eventId: delivery.eventId });
  });

  it('gives up on an endpoint that does not answer in time', async () => {
    const hooks = await receiver();
    hooks.hang = true;
    const { webhookEndpoint } = await endpoint(hooks.url, { eventTypes: ['organization.created'] });
    await ws.client.data(CREATE_ORG, { input: { environmentId: env, name: 'Slow receiver' } });
    const result = await eventually(
      () => ws.client.data(DELIVERIES, { id: webhookEndpoint.id }),
      (data) => data.webhookDeliveries.nodes[0]?.attempts >= 1 && data.webhookDeliveries.nodes[0]?.lastError !== null,
    );
    expect(result.webhookDeliveries.nodes[0].lastError).toMatch(/timed out/);
  });
});

describe('several delivery workers', () => {
  it('never send one delivery twice, however many run', async () => {
    // A server of its own with the default attempt timeout: this file's 500 ms timeout (and the
    // lease it implies) would let a slow attempt under load be retried, a legitimate second send.
    const own = await startServer({ allowPrivateTargets: true, webhookPollMs: 50 }, { deliveryWorker: true });
    const owner = await own.workspace();
    const extra = Array.from({ length: 3 }, () => new DeliveryWorker(deliveryWorkerOptions(own.config, own.database.db, TEST_MASTER_KEY, pino({ level: 'silent' }))));
    await Promise.all(extra.map((worker) => worker.start()));
    try {
      const hooks = await receiver();
      const created = await owner.client.data(CREATE, { input: { environmentId: owner.development.id, url: hooks.url, eventTypes: ['organization.created'] } });
      expect(created.createWebhookEndpoint.userErrors).toEqual([]);
      await Promise.all(
        Array.from({ length: 30 }, (_, i) => owner.client.data(CREATE_ORG, { input: { environmentId: owner.development.id, name: `Fan ${i}` } })),
      );
      await hooks.waitFor(30);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const ids = hooks.requests.map((r) => r.headers['webhook-id']);
      expect(new Set(ids).size).toBe(30);
      expect(ids).toHaveLength(30);
    } finally {
      await Promise.all(extra.map((worker) => worker.stop()));
      await own.close();
    }
  });
});
