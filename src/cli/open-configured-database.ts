import { loadConfig } from '../config.js';
import { openDatabase, type Database } from '../db/database.js';

/** The database the server would use, from the same configuration. */
export function openConfiguredDatabase(log?: (message: string) => void): Promise<Database> {
  const config = loadConfig();
  return openDatabase(
    config.databaseUrl ? { kind: 'postgres', url: config.databaseUrl } : { kind: 'pglite', dataDir: config.dataDir },
    { log },
  );
}
