/**
 * `npm run bootstrap -- --name "Acme Corp" --slug acme`: creates a workspace with a development
 * and a production environment and prints its owner API key once.
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { migrate } from '../db/database.js';
import { bootstrapWorkspace } from '../modules/workspace/workspace.service.js';
import { openConfiguredDatabase } from './open-configured-database.js';
import { runCommand } from './run-command.js';

const { values } = parseArgs({ options: { name: { type: 'string' }, slug: { type: 'string' } } });
if (!values.name || !values.slug) {
  console.error('usage: npm run bootstrap -- --name "<workspace name>" --slug <slug>');
  process.exit(2);
}
const { name, slug } = values;

await runCommand(async () => {
  const db = await openConfiguredDatabase();
  try {
    await migrate(db.orm);
    const boot = await bootstrapWorkspace(db.orm.em.fork(), { name, slug }, {
      requestId: 'cli-bootstrap',
      ip: null,
      userAgent: 'gatehouse-cli',
    });
    console.log(`workspace ${boot.workspace.id} (${boot.workspace.slug})`);
    for (const environment of boot.environments) console.log(`  ${environment.kind.toLowerCase()}: ${environment.id}`);
    console.log(`owner API key (shown once): ${boot.ownerKey}`);
  } finally {
    await db.close();
  }
});
