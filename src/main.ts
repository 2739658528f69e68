import 'reflect-metadata';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import type { Database } from './db/database.js';
import type { DeliveryWorker } from './modules/webhook/delivery-worker.js';
import type { BootstrappedWorkspace } from './modules/workspace/workspace.service.js';

// The server runs as in production unless told otherwise: libraries check NODE_ENV once, when
// they load (graphql-js, for one, then skips a cross-realm `instanceof` check on every type test
// during execution, a few per cent of the CPU of a nested read). So it is set before any of them
// loads: static imports are evaluated before this module's body, which is why everything below
// that may load graphql is imported dynamically, in main(). NODE_ENV=development (or any other
// value) set by the operator is kept. Everything the app configures explicitly (introspection,
// Apollo's signal handlers, landing page and stack traces, graphql-ws close reasons) does not
// depend on it.
if (!process.env.NODE_ENV) process.env.NODE_ENV = 'production';

/** How often expired revoked-token and used-assertion ids are forgotten. */
const TOKEN_STATE_PRUNE_INTERVAL_MS = 10 * 60_000;

/** Where the server will answer, for the printed example; null when the port is chosen at listen time. */
function exampleUrl(config: Config): string | null {
  if (config.port === 0) return null;
  const host = ['0.0.0.0', '::', ''].includes(config.host) ? 'localhost' : config.host.includes(':') ? `[${config.host}]` : config.host;
  return `http://${host}:${config.port}`;
}

/**
 * Printed to stdout once, not logged: the key is never stored in clear anywhere. Called right
 * after the workspace is committed, before the server listens, so that a failing start (port
 * taken, …) cannot lose the key.
 */
function printOwnerKey(boot: BootstrappedWorkspace, config: Config): void {
  const [development] = boot.environments;
  const url = exampleUrl(config) ?? 'http://localhost:<port>';
  process.stdout.write(
    [
      '',
      '  Gatehouse created the workspace "' + boot.workspace.name + '" with a development and a production environment.',
      '  Its owner API key (shown once; store it now):',
      '',
      `    ${boot.ownerKey}`,
      '',
      '  Try it:',
      `    curl -s ${url}/graphql -H 'Authorization: Bearer ${boot.ownerKey}' \\`,
      `      -H 'Content-Type: application/json' -d '{"query":"{ viewer { workspaceId environmentIds scopes } }"}'`,
      '',
      `  Development environment id: ${development.id}`,
      '',
    ].join('\n') + '\n',
  );
}

async function main(): Promise<void> {
  const [
    { createApp },
    { loadConfig },
    { migrate, openDatabase },
    { startRetentionJob },
    { resolveMasterKey },
    { startTokenStateJob },
    { createLogger },
    { DeliveryWorker, deliveryWorkerOptions },
    { ensureDefaultWorkspace },
    { systemFork },
    { guardedFetch },
  ] = await Promise.all([
    import('./app.js'),
    import('./config.js'),
    import('./db/database.js'),
    import('./audit/retention.js'),
    import('./crypto/at-rest.js'),
    import('./http/oauth/housekeeping.js'),
    import('./logger.js'),
    import('./modules/webhook/delivery-worker.js'),
    import('./modules/workspace/workspace.service.js'),
    import('./db/tenant-scope.js'),
    import('./http/outbound-fetch.js'),
  ]);
  const config = loadConfig();
  const logger = createLogger(config);
  let db: Database | undefined;
  let app: FastifyInstance | undefined;
  let boot: BootstrappedWorkspace | null = null;
  let worker: DeliveryWorker | undefined;
  try {
    db = await openDatabase(
      config.databaseUrl ? { kind: 'postgres', url: config.databaseUrl } : { kind: 'pglite', dataDir: config.dataDir },
    );
    const applied = await migrate(db.orm);
    logger.info({ database: db.kind, applied }, applied.length ? 'migrations applied' : 'database schema up to date');

    boot = await ensureDefaultWorkspace(systemFork(db.orm, 'first start: the default workspace'), { requestId: 'bootstrap', ip: null, userAgent: 'gatehouse' });
    if (boot) printOwnerKey(boot, config);

    const master = resolveMasterKey(config.masterKey, config.databaseUrl ? null : config.dataDir);
    if (master.generatedAt) {
      logger.warn({ file: master.generatedAt }, 'generated a master key into the data folder; set GATEHOUSE_MASTER_KEY in production and keep it apart from the data');
    }
    app = await createApp({ config, orm: db.orm, logger, listen: db.listen, masterKey: master.key });
    await app.listen({ port: config.port, host: config.host });
    worker = new DeliveryWorker(deliveryWorkerOptions(config, db, master.key, logger));
    await worker.start();
  } catch (error) {
    const message = (error as { message?: unknown } | null)?.message ?? String(error);
    logger.fatal({ err: error }, `cannot start: ${String(message)}`);
    if (boot) {
      process.stderr.write('  The owner key printed above was saved and stays valid; it will not be printed again.\n');
    }
    // Close what was opened, so the embedded database is shut down cleanly and its folder unlocked.
    const force = setTimeout(() => process.exit(1), config.shutdownTimeoutMs);
    force.unref();
    try {
      await worker?.stop();
      await app?.close();
    } catch (closeError) {
      logger.error({ err: closeError }, 'error while closing the server');
    }
    try {
      await db?.close();
    } catch (closeError) {
      logger.error({ err: closeError }, 'error while closing the database');
    }
    process.exit(1);
  }

  const stopRetention = config.retentionIntervalMs > 0 ? startRetentionJob(db.orm.em, config.retentionIntervalMs, logger) : async () => {};
  // IdP metadata documents, read again daily, through the outbound guard.
  const metadataFetch = guardedFetch({ maxBytes: 512 * 1024, timeoutMs: 10_000, allowPrivate: config.allowPrivateTargets });
  const stopTokenState = startTokenStateJob(db.orm.em, TOKEN_STATE_PRUNE_INTERVAL_MS, logger, metadataFetch);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining requests');
    const force = setTimeout(() => {
      logger.error('shutdown timed out; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    force.unref();
    try {
      await app.close();
      await worker?.stop();
      await stopRetention();
      await stopTokenState();
      await db.close();
      logger.info('stopped');
    } catch (error) {
      logger.error({ err: error }, 'error while shutting down');
      process.exitCode = 1;
    }
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  // Announced only once the handlers are in place: whoever waits for this line may signal at once.
  const localUrl = `http://localhost:${(app.server.address() as { port: number }).port}`;
  logger.info({ url: localUrl, database: db.kind }, 'gatehouse listening');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
