import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll } from 'vitest';
import { createApp, type AppDeps } from '../../src/app.js';
import { DeliveryWorker, deliveryWorkerOptions } from '../../src/modules/webhook/delivery-worker.js';
import { loadConfig, type Config } from '../../src/config.js';
import { migrate } from '../../src/db/database.js';
import { bootstrapWorkspace, type BootstrappedWorkspace } from '../../src/modules/workspace/workspace.service.js';
import { systemFork } from '../../src/db/tenant-scope.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { graphqlClient, type GraphQLClient } from './graphql.js';

export interface TestServer {
  url: string;
  graphqlUrl: string;
  app: FastifyInstance;
  database: TestDatabase;
  config: Config;
  /** SQL statements sent since the server started; reset it to measure one request. */
  sql: { count: number; statements: string[] };
  /** A new workspace with two environments and an owner key, and a client using that key. */
  workspace(name?: string): Promise<TestWorkspace>;
  close(): Promise<void>;
}

export interface TestWorkspace extends BootstrappedWorkspace {
  development: { id: string };
  production: { id: string };
  client: GraphQLClient;
}

/** One master key per test process; tests never depend on its value. */
export const TEST_MASTER_KEY = randomBytes(32);

const leftovers = new Set<TestServer>();
let workspaceCounter = 0;

/**
 * Starts the real HTTP server on a free loopback port over a fresh database. Servers not
 * closed by the test are closed after the file.
 */
export async function startServer(
  overrides: Partial<Config> = {},
  deps: Pick<AppDeps, 'resolveTxt' | 'outboundFetch'> & { deliveryWorker?: boolean } = {},
): Promise<TestServer> {
  const sql = { count: 0, statements: [] as string[] };
  const database = await createTestDatabase({
    onQuery: (statement) => {
      sql.count += 1;
      if (sql.statements.length < 500) sql.statements.push(statement);
    },
  });
  await migrate(database.db.orm);
  const config: Config = { ...loadConfig({}), logLevel: 'silent', port: 0, host: '127.0.0.1', ...overrides };
  const { deliveryWorker, ...appDeps } = deps;
  const app = await createApp({ config, orm: database.db.orm, logger: pino({ level: 'silent' }), listen: database.db.listen, masterKey: TEST_MASTER_KEY, ...appDeps });
  const worker = deliveryWorker ? new DeliveryWorker(deliveryWorkerOptions(config, database.db, TEST_MASTER_KEY, pino({ level: 'silent' }))) : undefined;
  await worker?.start();
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  const url = `http://127.0.0.1:${port}`;
  // Issuers derive from the public URL, known only now that the port is chosen.
  if (!overrides.publicUrl) config.publicUrl = url;
  const graphqlUrl = `${url}/graphql`;
  let closed = false;
  const server: TestServer = {
    url,
    graphqlUrl,
    app,
    database,
    config,
    sql,
    async workspace(name) {
      workspaceCounter += 1;
      const slug = `ws-${process.pid}-${workspaceCounter}-${Math.random().toString(36).slice(2, 8)}`;
      const boot = await bootstrapWorkspace(
        systemFork(database.db.orm, 'test: a workspace as the operator CLI bootstraps it'),
        { name: name ?? `Workspace ${workspaceCounter}`, slug },
        { requestId: 'test', ip: null, userAgent: 'vitest' },
      );
      const [development, production] = boot.environments;
      return { ...boot, development, production, client: graphqlClient(graphqlUrl, boot.ownerKey) };
    },
    async close() {
      if (closed) return;
      closed = true;
      leftovers.delete(server);
      await worker?.stop();
      await app.close();
      await database.drop();
    },
  };
  leftovers.add(server);
  return server;
}

afterAll(async () => {
  await Promise.all([...leftovers].map((server) => server.close()));
});
