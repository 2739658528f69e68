import 'reflect-metadata';
import type { FastifyInstance } from 'fastify';
import { createApp } from './app.js';
import { loadConfig, type Config } from './config.js';
import { migrate, openDatabase, type Database } from './db/database.js';
import { startRetentionJob } from './audit/retention.js';
import { resolveMasterKey } from './crypto/at-rest.js';
import { startTokenStateJob } from './http/oauth/housekeeping.js';
import { createLogger } from './logger.js';
import { DeliveryWorker, deliveryWorkerOptions } from './modules/webhook/delivery-worker.js';
import { ensureDefaultWorkspace, type BootstrappedWorkspace } from './modules/workspace/workspace.service.js';

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

    boot = await ensureDefaultWorkspace(db.orm.em.fork(), { requestId: 'bootstrap', ip: null, userAgent: 'gatehouse' });
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
  const stopTokenState = startTokenStateJob(db.orm.em, TOKEN_STATE_PRUNE_INTERVAL_MS, logger);
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
