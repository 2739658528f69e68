/**
 * `npm run bootstrap -- --name "Acme Corp" --slug acme`: creates a workspace with a development
 * and a production environment and prints its owner API key once.
 */
import 'reflect-metadata';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { resolveMasterKey, SecretBox } from '../crypto/at-rest.js';
import { migrate } from '../db/database.js';
import { bootstrapWorkspace } from '../modules/workspace/workspace.service.js';
import { openConfiguredDatabase } from './open-configured-database.js';
import { runCommand } from './run-command.js';
import { systemFork } from '../db/tenant-scope.js';

const { values } = parseArgs({ options: { name: { type: 'string' }, slug: { type: 'string' } } });
if (!values.name || !values.slug) {
  console.error('usage: npm run bootstrap -- --name "<workspace name>" --slug <slug>');
  process.exit(2);
}
const { name, slug } = values;

/**
 * The master key's box when the master key is there already (configured, or the embedded data
 * folder's file), so the new environments get their signing keys now; otherwise none (this
 * command makes no key material of its own), and the server gives them keys when it starts.
 */
function existingSecretBox(): SecretBox | null {
  const config = loadConfig();
  if (config.masterKey) return new SecretBox(resolveMasterKey(config.masterKey, null).key);
  if (config.databaseUrl || !existsSync(path.join(config.dataDir, 'master.key'))) return null;
  return new SecretBox(resolveMasterKey(undefined, config.dataDir).key);
}

await runCommand(async () => {
  const db = await openConfiguredDatabase();
  try {
    await migrate(db.orm);
    const boot = await bootstrapWorkspace(
      systemFork(db.orm, 'operator CLI: bootstrap'),
      { name, slug },
      { requestId: 'cli-bootstrap', ip: null, userAgent: 'gatehouse-cli' },
      existingSecretBox(),
    );
    console.log(`workspace ${boot.workspace.id} (${boot.workspace.slug})`);
    for (const environment of boot.environments) console.log(`  ${environment.kind.toLowerCase()}: ${environment.id}`);
    console.log(`owner API key (shown once): ${boot.ownerKey}`);
  } finally {
    await db.close();
  }
});
