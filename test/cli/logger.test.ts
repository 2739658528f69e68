import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { migrate } from '../../src/db/database.js';
import { AppError } from '../../src/errors/app-error.js';
import { createLogger } from '../../src/logger.js';
import { Workspace } from '../../src/modules/workspace/workspace.entity.js';
import { systemFork } from '../../src/db/tenant-scope.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

function capture() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, logger: createLogger({ ...loadConfig({}), logLevel: 'info' }, sink) };
}

/** The logger shared by the server (main.ts), createApp's default and the operator commands. */
describe('createLogger', () => {
  it('takes its level from the configuration and never writes credentials from request headers', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger({ ...loadConfig({}), logLevel: 'debug' }, sink);
    expect(logger.level).toBe('debug');
    logger.info(
      { req: { headers: { authorization: 'Bearer gh_live_secret', cookie: 'session=secret', accept: 'json' } } },
      'request',
    );
    logger.info({ headers: { authorization: 'Bearer gh_live_secret' } }, 'outgoing');
    const text = lines.join('');
    expect(text).not.toContain('secret');
    expect(text.match(/\[REDACTED\]/g)).toHaveLength(3);
    expect(text).toContain('"accept":"json"');
    logger.trace('hidden');
    expect(lines.join('')).not.toContain('hidden');
  });
});

describe('createLogger and database errors', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
    await migrate(database.db.orm);
    await database.db.orm.em.fork().getConnection().execute(
      `insert into "workspace" ("id", "name", "slug", "created_at", "updated_at") values ('wks_taken', 'Taken', 'taken-slug-4242', now(), now())`,
    );
  });
  afterAll(() => database?.drop());

  /** A unique violation as the ORM raises it, carrying the values of the statement it ran. */
  async function ormViolation(): Promise<unknown> {
    const em = systemFork(database.db.orm, 'test: a workspace row written directly');
    em.create(Workspace, { id: 'wks_second', name: 'Jane Doe Holdings', slug: 'taken-slug-4242' } as never);
    return em.flush().then(() => expect.unreachable(), (error: unknown) => error);
  }

  it('writes a unique violation as its SQLSTATE, constraint and table, never the statement, its values or the key', async () => {
    const violation = await ormViolation();
    const raw = await database.db.orm.em
      .fork()
      .getConnection()
      .execute(`insert into "workspace" ("id", "name", "slug", "created_at", "updated_at") values ('wks_third', 'Jane Doe Raw', 'taken-slug-4242', now(), now())`)
      .then(() => expect.unreachable(), (error: unknown) => error);
    const { lines, logger } = capture();
    logger.error({ err: violation }, 'through the ORM');
    logger.error({ err: raw }, 'through a raw query');
    logger.error(violation as Error);
    // As Fastify and main.ts log a failure: the error's message in the line's text.
    logger.error({ err: violation }, `cannot start: ${(violation as Error).message}`);
    logger.error({ err: new AppError('INTERNAL', 'workspace.create_failed', 'Could not create', { cause: violation }) }, 'wrapped');
    logger.error({ err: new AggregateError([raw], 'several failed') }, 'aggregated');

    const text = lines.join('');
    expect(text).not.toMatch(/Jane Doe|taken-slug-4242|insert into|values \(|Key \(/i);
    const entries = lines.map((line) => JSON.parse(line));
    const summary = { code: '23505', constraint: 'workspace_slug_unique', table: 'workspace' };
    expect(entries[0].err).toMatchObject({ type: 'UniqueConstraintViolationException', ...summary });
    expect(entries[0].err.stack).toMatch(/^UniqueConstraintViolationException: database error 23505 on "workspace" \(constraint "workspace_slug_unique"\)\n\s+at /);
    expect(entries[1].err).toMatchObject({ type: 'DatabaseError', ...summary });
    expect(entries[2].err).toMatchObject(summary);
    expect(entries[2].msg).toBe('database error 23505 on "workspace" (constraint "workspace_slug_unique")');
    expect(entries[3].msg).toBe('cannot start: database error 23505 on "workspace" (constraint "workspace_slug_unique")');
    // The outer error stays as pino writes it; the cause is summarised.
    expect(entries[4].err).toMatchObject({ type: 'AppError', message: 'Could not create', code: 'workspace.create_failed', cause: summary });
    expect(entries[5].err.aggregateErrors).toEqual([expect.objectContaining(summary)]);
  });

  it('leaves other errors as pino writes them, causes included', () => {
    const { lines, logger } = capture();
    logger.error({ err: new Error('outer', { cause: new Error('inner detail') }) }, 'plain');
    const [entry] = lines.map((line) => JSON.parse(line));
    expect(entry.err).toMatchObject({ type: 'Error', message: 'outer: inner detail' });
    expect(entry.err.stack).toContain('caused by: Error: inner detail');
  });
});
