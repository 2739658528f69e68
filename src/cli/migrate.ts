/** `npm run migrate`: applies pending migrations to the configured database and exits. */
import 'reflect-metadata';
import { migrate } from '../db/database.js';
import { openConfiguredDatabase } from './open-configured-database.js';
import { runCommand } from './run-command.js';

await runCommand(async () => {
  const db = await openConfiguredDatabase();
  try {
    const applied = await migrate(db.orm);
    console.log(applied.length ? `applied: ${applied.join(', ')}` : 'the database schema is up to date');
  } finally {
    await db.close();
  }
});
