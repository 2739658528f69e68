import type { EntityManager } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

let server: TestServer;
let ws: TestWorkspace;

beforeAll(async () => {
  server = await startServer({ subscriptionStallMs: 300 });
  ws = await server.workspace();
});
afterAll(() => server.close());

/** A graphql-ws client by hand, so the test can stop reading its socket. */
function rawSubscriber(url: string, key: string, environmentId: string) {
  const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
  let received = 0;
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  const subscribed = new Promise<void>((resolve) => {
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } })));
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString());
      if (message.type === 'connection_ack') {
        socket.send(
          JSON.stringify({
            id: '1',
            type: 'subscribe',
            payload: { query: 'subscription($env: ID) { auditEvents(environmentId: $env) { sequence after } }', variables: { env: environmentId } },
          }),
        );
        setTimeout(resolve, 300);
      }
      if (message.type === 'next') received += 1;
    });
  });
  return { socket, closed, subscribed, received: () => received };
}

describe('a subscriber that stops reading', () => {
  it('is disconnected with 4413 instead of growing a buffer, and the server keeps serving', async () => {
    const subscriber = rawSubscriber(server.graphqlUrl, ws.ownerKey, ws.development.id);
    await subscriber.subscribed;
    // Stop reading: the kernel buffers fill, then the server's sends stall.
    (subscriber.socket as unknown as { _socket: { pause(): void } })._socket.pause();

    // 600 events of ~16 KiB each (~10 MB), written straight into the table like any writer's.
    await server.database.db.orm.em.fork().transactional(async (em: EntityManager) => {
      await (em as SqlEntityManager).execute(
        `insert into audit_event (id, workspace_id, environment_id, action, actor_type, targets, target_ids, after, occurred_at)
         select 'evt_bulk' || g, ?, ?, 'organization.updated', 'SYSTEM', '[]'::jsonb, '{}', jsonb_build_object('blob', repeat('x', 16000)), now()
           from generate_series(1, 600) g`,
        [ws.workspace.id, ws.development.id],
      );
    });

    await new Promise((resolve) => setTimeout(resolve, 2000));
    (subscriber.socket as unknown as { _socket: { resume(): void } })._socket.resume();
    const closed = await subscriber.closed;
    expect(closed.code).toBe(4413);
    expect(closed.reason).toMatch(/Slow consumer/);
    expect(subscriber.received()).toBeLessThan(600);

    const still = await ws.client.data('{ viewer { scopes } }');
    expect(still.viewer.scopes).toEqual(['*']);
  }, 60_000);
});
