import 'reflect-metadata';
import type { EntityManager } from '@mikro-orm/core';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Migrator } from '@mikro-orm/migrations';
import { MikroORM, PostgreSqlDriver, type Options } from '@mikro-orm/postgresql';
import { PGliteDriver } from 'mikro-orm-pglite';
import { statementCount } from './statement-count.js';
import pg from 'pg';
import { migrationsList } from '../../migrations/index.js';
import { lockDataDir } from './data-dir-lock.js';
import { entities } from './entities.js';
import { PostgresListener, type NotificationHandler, type Unlisten } from './notifications.js';
import { sql } from './sql.js';
import { TENANT_FILTER, tenantFilter, TenantWriteGuard } from './tenant-scope.js';

/** Where the data lives: PostgreSQL by URL, or embedded PGlite in a folder (null: in memory). */
export type DatabaseTarget = { kind: 'postgres'; url: string } | { kind: 'pglite'; dataDir: string | null };

export interface Database {
  readonly orm: MikroORM;
  readonly kind: DatabaseTarget['kind'];
  /** LISTEN to a channel: committed NOTIFYs of every process (PostgreSQL) or of this one (PGlite). */
  listen(channel: string, handler: NotificationHandler): Promise<Unlisten>;
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
    // Tenant scoping by construction (tenant-scope.ts): every query of tenant data carries the
    // EntityManager's scope, and every flush is checked against it.
    filters: { [TENANT_FILTER]: tenantFilter },
    subscribers: [new TenantWriteGuard()],
    // Relations are plain foreign keys (mapToPk): the filter must not join their targets.
    autoJoinRefsForFilters: false,
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
    // One LISTEN connection per process, shared by every channel (audit stream, OAuth cache).
    const listener = new PostgresListener(target.url);
    return {
      orm,
      kind: 'postgres',
      listen: (channel, handler) => listener.listen(channel, handler),
      close: async () => {
        await listener.close();
        await orm.close(true);
      },
    };
  }

  // We create PGlite ourselves so the data folder is ours to choose and to close after the ORM.
  // PGlite takes no lock of its own: a second process opening the folder would corrupt it.
  let releaseLock = () => {};
  if (target.dataDir) {
    mkdirSync(target.dataDir, { recursive: true });
    releaseLock = await lockDataDir(target.dataDir);
  }
  let pglite: PGlite | undefined;
  let orm: MikroORM;
  try {
    // The database lives in a subfolder: PGlite creates one only in an empty folder, and the
    // data folder holds our lock file beside it.
    pglite = target.dataDir ? new PGlite(path.join(target.dataDir, 'pgdata')) : new PGlite();
    await pglite.waitReady;
    const instance = pglite;
    orm = await MikroORM.init({
      ...baseOptions(options),
      driver: PGliteDriver,
      dbName: 'postgres',
      driverOptions: { connection: { pglite: () => instance } },
    } as unknown as Options);
    runRawQueriesByStatementCount(orm);
  } catch (error) {
    if (pglite && !pglite.closed) await pglite.close().catch(() => undefined);
    releaseLock();
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    orm,
    kind: 'pglite',
    listen: async (channel, handler) => {
      const unlisten = await pglite.listen(channel, (payload) => handler.onNotify(payload));
      return async () => {
        if (!pglite.closed) await unlisten();
      };
    },
    close: () =>
      (closing ??= (async () => {
        try {
          await orm.close(true);
          if (!pglite.closed) await pglite.close();
        } finally {
          releaseLock();
        }
      })()),
  };
}

/** Arbitrary constant key of the PostgreSQL advisory lock that serialises migrations across processes. */
export const MIGRATION_LOCK_KEY = 0x6761_7465; // "gate"

/**
 * Applies pending migrations; returns the names applied. On PostgreSQL several processes may
 * start at once on an empty database: each holds a session-level advisory lock on a
 * connection of its own while migrating, so they migrate one after the other and the later
 * ones find nothing left to do.
 */
export async function migrate(orm: MikroORM): Promise<string[]> {
  const url = orm.config.get('driver') === PostgreSqlDriver ? orm.config.get('clientUrl') : undefined;
  if (!url) return (await orm.getMigrator().up()).map((m) => m.name);

  const lock = new pg.Client({ connectionString: url, application_name: 'gatehouse-migrate' });
  // A dropped connection releases the lock server-side; it must not crash the process.
  lock.on('error', () => undefined);
  await lock.connect();
  try {
    await lock.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      return (await orm.getMigrator().up()).map((m) => m.name);
    } finally {
      await lock.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    }
  } finally {
    await lock.end().catch(() => undefined);
  }
}

/** Readiness: the database answers. */
export async function ping(orm: { em: EntityManager }): Promise<void> {
  await sql(orm.em.fork(), 'select 1');
}

interface PGliteQuery {
  method?: string;
  sql?: string;
  bindings?: unknown[];
  response?: unknown;
}

/**
 * Makes the PGlite adapter run a raw query as a script only when it really holds several
 * statements (see statement-count.ts): its own test splits on every `;`, inside string literals
 * too, and a single statement run as a script returns its result in another shape.
 */
function runRawQueriesByStatementCount(orm: MikroORM): void {
  type Dialect = { _query(connection: unknown, query: PGliteQuery): Promise<PGliteQuery>; [PATCHED]?: true };
  // The prototype, not the instance: knex builds each transaction's client from the prototype.
  const dialect = Object.getPrototypeOf((orm.em.getConnection() as unknown as { getKnex(): { client: Dialect } }).getKnex().client) as Dialect;
  if (dialect[PATCHED]) return;
  const original = dialect._query;
  dialect._query = async function (this: Dialect, connection, query) {
    if (query.method === 'raw' && query.sql?.includes(';') && statementCount(query.sql) <= 1) {
      query.response = await (connection as PGlite).query(query.sql, query.bindings ?? []);
      return query;
    }
    return original.call(this, connection, query);
  };
  dialect[PATCHED] = true;
}

const PATCHED = Symbol('gatehouse: raw queries run by statement count');
