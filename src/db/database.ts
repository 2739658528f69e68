import 'reflect-metadata';
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { Migrator } from '@mikro-orm/migrations';
import { MikroORM, PostgreSqlDriver, type Options } from '@mikro-orm/postgresql';
import { PGliteDriver } from 'mikro-orm-pglite';
import { migrationsList } from '../../migrations/index.js';
import { entities } from './entities.js';

/** Where the data lives: PostgreSQL by URL, or embedded PGlite in a folder (null: in memory). */
export type DatabaseTarget = { kind: 'postgres'; url: string } | { kind: 'pglite'; dataDir: string | null };

export interface Database {
  readonly orm: MikroORM;
  readonly kind: DatabaseTarget['kind'];
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** Sees every SQL statement the ORM sends; tests count statements with it. */
  onQuery?: (sql: string) => void;
  /** Connection pool size on PostgreSQL. @default 10 */
  poolSize?: number;
  /** Receives the ORM's own messages (migrator progress); silent when unset. */
  log?: (message: string) => void;
}

function baseOptions(options: DatabaseOptions): Options {
  return {
    entities,
    extensions: [Migrator],
    discovery: { disableDynamicFileAccess: true, requireEntitiesArray: true },
    forceUtcTimezone: true,
    logger: (message: string) => options.log?.(message),
    allowGlobalContext: false,
    ensureDatabase: false,
    // Our services decide what to load; nothing should be fetched implicitly.
    populateWhere: 'infer',
    onQuery: (sql: string) => {
      options.onQuery?.(sql);
      return sql;
    },
    migrations: {
      migrationsList,
      tableName: 'mikro_orm_migrations',
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      path: 'migrations',
      emit: 'ts',
    },
  };
}

export async function openDatabase(target: DatabaseTarget, options: DatabaseOptions = {}): Promise<Database> {
  if (target.kind === 'postgres') {
    const orm = await MikroORM.init({
      ...baseOptions(options),
      driver: PostgreSqlDriver,
      clientUrl: target.url,
      pool: { min: 0, max: options.poolSize ?? 10 },
    });
    return { orm, kind: 'postgres', close: () => orm.close(true) };
  }

  // We create PGlite ourselves so the data folder is ours to choose and to close after the ORM.
  if (target.dataDir) mkdirSync(target.dataDir, { recursive: true });
  const pglite = target.dataDir ? new PGlite(target.dataDir) : new PGlite();
  await pglite.waitReady;
  const orm = await MikroORM.init({
    ...baseOptions(options),
    driver: PGliteDriver,
    dbName: 'postgres',
    driverOptions: { connection: { pglite: () => pglite } },
  } as unknown as Options);
  return {
    orm,
    kind: 'pglite',
    close: async () => {
      await orm.close(true);
      if (!pglite.closed) await pglite.close();
    },
  };
}

/** Applies pending migrations; returns the names applied. */
export async function migrate(orm: MikroORM): Promise<string[]> {
  const applied = await orm.getMigrator().up();
  return applied.map((m) => m.name);
}
