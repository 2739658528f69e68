import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphqlClient } from '../helpers/graphql.js';
import { assertBuilt, embeddedEnv, KEY, spawnServer, type ServerProcess } from '../helpers/processes.js';

/**
 * The server as operators run it (`npm start`: no NODE_ENV, embedded data folder) stops cleanly
 * on SIGTERM and on Ctrl-C: it drains, closes the database, releases the folder's lock, logs
 * "stopped" and exits with 0. Under NODE_ENV=test libraries behave differently (Apollo leaves
 * the signals alone), so the children here are spawned without it.
 */
describe('graceful shutdown of `npm start`', () => {
  let dataDir: string;
  beforeAll(() => {
    assertBuilt();
    dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-shutdown-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  const lockFile = () => path.join(dataDir, 'gatehouse.lock');
  const start = (extra: NodeJS.ProcessEnv = {}) => spawnServer(embeddedEnv(dataDir, { PORT: '0', HOST: '127.0.0.1', ...extra }));

  async function expectCleanStop(server: ServerProcess, signal: NodeJS.Signals): Promise<void> {
    const code = await server.stop(signal);
    expect(code, server.output()).toBe(0);
    const log = server.output();
    expect(log).toContain(`"signal":"${signal}","msg":"shutting down: draining requests"`);
    expect(log).toContain('"msg":"stopped"');
    expect(log).not.toContain('[killed by');
    expect(existsSync(lockFile())).toBe(false);
  }

  it.each(['SIGTERM', 'SIGINT'] as const)('exits with 0 on %s, logs "stopped" and releases the data folder', async (signal) => {
    const server = start();
    try {
      await server.ready;
      expect(existsSync(lockFile())).toBe(true);
    } finally {
      await expectCleanStop(server, signal);
    }
  }, 90_000);

  it('lets an in-flight webhook delivery finish and record its result before exiting', async () => {
    const receiver = await heldReceiver();
    const fresh = mkdtempSync(path.join(tmpdir(), 'gatehouse-shutdown-'));
    const env = embeddedEnv(fresh, { PORT: '0', HOST: '127.0.0.1', GATEHOUSE_ALLOW_PRIVATE_TARGETS: 'true' });
    try {
      const first = spawnServer(env);
      let endpointId: string;
      let key: string;
      try {
        const url = await first.ready;
        key = first.output().match(KEY)![0];
        const client = graphqlClient(`${url}/graphql`, key);
        const [environmentId] = (await client.data('{ viewer { environmentIds } }')).viewer.environmentIds;
        const created = await client.data(
          'mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { webhookEndpoint { id } userErrors { code message } } }',
          { input: { environmentId, url: receiver.url, eventTypes: ['organization.created'] } },
        );
        expect(created.createWebhookEndpoint.userErrors).toEqual([]);
        endpointId = created.createWebhookEndpoint.webhookEndpoint.id;
        await client.data('mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }', {
          input: { environmentId, name: 'In flight' },
        });
        await receiver.received;
      } finally {
        const stopped = first.stop('SIGTERM');
        // The answer comes after the signal: the process must still be there to take it.
        setTimeout(() => receiver.answer(), 500);
        expect(await stopped, first.output()).toBe(0);
        await receiver.close();
      }
      expect(first.output()).toContain('"msg":"stopped"');

      const second = spawnServer(env);
      try {
        const url = await second.ready;
        const deliveries = await graphqlClient(`${url}/graphql`, key).data(
          'query($id: ID!) { webhookDeliveries(endpointId: $id) { nodes { status attempts attemptHistory { statusCode } } } }',
          { id: endpointId },
        );
        expect(deliveries.webhookDeliveries.nodes).toEqual([{ status: 'SUCCEEDED', attempts: 1, attemptHistory: [{ statusCode: 200 }] }]);
      } finally {
        expect(await second.stop(), second.output()).toBe(0);
      }
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  }, 120_000);
});

/** A webhook receiver that holds the first request until told to answer it (200). */
async function heldReceiver(): Promise<{ url: string; received: Promise<void>; answer(): void; close(): Promise<void> }> {
  let answer = () => {};
  let onReceived = () => {};
  const received = new Promise<void>((resolve) => (onReceived = resolve));
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    request.resume();
    answer = () => response.writeHead(200).end('ok');
    onReceived();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`,
    received,
    answer: () => answer(),
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
