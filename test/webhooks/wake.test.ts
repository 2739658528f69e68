import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

let server: TestServer;
let ws: TestWorkspace;
let receiver: Server;
let receiverUrl: string;
const received: string[] = [];

beforeAll(async () => {
  // No poll to speak of: only the new-delivery notice can wake the worker in time.
  server = await startServer({ allowPrivateTargets: true, webhookPollMs: 600_000 }, { deliveryWorker: true });
  ws = await server.workspace();
  receiver = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      received.push(JSON.parse(body).type);
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
});
afterAll(async () => {
  await server?.close();
  await new Promise((resolve) => receiver?.close(resolve));
});

async function waitForDeliveries(count: number, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (received.length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

it('wakes the delivery worker for each new delivery, without waiting for a poll', async () => {
  const env = ws.development.id;
  await ws.client.data(`mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { webhookEndpoint { id } } }`, {
    input: { environmentId: env, url: receiverUrl, eventTypes: ['organization.*'] },
  });
  const started = Date.now();
  await ws.client.data(`mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }`, {
    input: { environmentId: env, name: 'Woken' },
  });
  await waitForDeliveries(1);
  expect(received).toEqual(['organization.created']);
  expect(Date.now() - started).toBeLessThan(3000);

  // Redelivery through the API wakes it too.
  const { webhookEndpoints } = await ws.client.data(`query($env: ID) { webhookEndpoints(environmentId: $env) { nodes { deliveries(first: 1) { nodes { id } } } } }`, { env });
  await ws.client.data(`mutation($input: RedeliverWebhookInput!) { redeliverWebhook(input: $input) { delivery { id } } }`, {
    input: { deliveryId: webhookEndpoints.nodes[0].deliveries.nodes[0].id },
  });
  await waitForDeliveries(2);
  expect(received).toEqual(['organization.created', 'organization.created']);
});
