import 'reflect-metadata';
import pino from 'pino';
import { createApp } from './app.js';
import { loadConfig } from './config.js';
import { migrate, openDatabase } from './db/database.js';
import { ensureDefaultWorkspace, type BootstrappedWorkspace } from './modules/workspace/workspace.service.js';

function printOwnerKey(boot: BootstrappedWorkspace, url: string): void {
  const [development] = boot.environments;
  // Printed to stdout once, not logged: the key is never stored in clear anywhere.
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
  const logger = pino({ level: config.logLevel });
  const db = await openDatabase(
    config.databaseUrl ? { kind: 'postgres', url: config.databaseUrl } : { kind: 'pglite', dataDir: config.dataDir },
  );
  const applied = await migrate(db.orm);
  logger.info({ database: db.kind, applied }, applied.length ? 'migrations applied' : 'database schema up to date');

  const boot = await ensureDefaultWorkspace(db.orm.em.fork(), { requestId: 'bootstrap', ip: null, userAgent: 'gatehouse' });
  const app = await createApp({ config, orm: db.orm, logger });
  await app.listen({ port: config.port, host: config.host });
  const localUrl = `http://localhost:${(app.server.address() as { port: number }).port}`;
  logger.info({ url: localUrl, database: db.kind }, 'gatehouse listening');
  if (boot) printOwnerKey(boot, localUrl);

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
      await db.close();
      logger.info('stopped');
    } catch (error) {
      logger.error({ err: error }, 'error while shutting down');
      process.exitCode = 1;
    }
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
