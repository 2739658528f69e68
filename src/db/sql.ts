import type { EntityManager } from '@mikro-orm/core';
import type { EntityManager as SqlEntityManager } from '@mikro-orm/postgresql';
import { createHash } from 'node:crypto';
import pg from 'pg';

type Knexish = { raw(sql: string, bindings: readonly unknown[]): Promise<unknown> };

/**
 * The one way raw SQL runs, and only repositories and `db/` call it. Runs inside `em`'s
 * transaction when it has one (the ORM's `getConnection().execute` silently leaves it when its
 * last argument is forgotten), and sends parameters bound by the driver, never inlined into the
 * text: `?` placeholders; a JS array is one parameter (`= any(?::text[])`), so a batch of ids is
 * one short statement instead of kilobytes of quoted literals.
 *
 * Table and column names come from entity metadata (`tableOf`) or named constants, never from
 * input.
 */
export async function sql<T = Record<string, unknown>>(em: EntityManager, text: string, params: readonly unknown[] = []): Promise<T[]> {
  const knex = (em.getTransactionContext() as Knexish | undefined) ?? ((em as SqlEntityManager).getConnection().getKnex() as unknown as Knexish);
  // The ORM's onQuery hook sees every statement (the debug log; tests count statements with it).
  const onQuery = em.config.get('onQuery') as ((statement: string, params: readonly unknown[]) => string) | undefined;
  const result = (await knex.raw(onQuery ? onQuery(text, params) : text, params)) as { rows?: T[] } | T[];
  return Array.isArray(result) ? result : (result.rows ?? []);
}

interface KnexClient {
  positionBindings(text: string): string;
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): Promise<unknown>;
}

/**
 * `sql` as a named prepared statement on PostgreSQL: each pooled connection parses and plans
 * the text once and then only binds and runs it. For a hot statement whose planning costs more
 * than its execution (a statement with CTEs and subqueries plans in about a millisecond; its
 * index lookups run in a tenth of that). Inside a transaction it runs on the transaction's
 * connection (knex's transaction client hands out that one and never releases it). On PGlite
 * (one embedded backend, no pool) it is plain `sql`. The name is the text's hash, so a text of
 * other shape (another tenant scope's placeholders) is another statement.
 */
export async function preparedSql<T = Record<string, unknown>>(em: EntityManager, text: string, params: readonly unknown[] = []): Promise<T[]> {
  const transaction = em.getTransactionContext() as { client: KnexClient } | undefined;
  const client = transaction?.client ?? ((em as SqlEntityManager).getConnection().getKnex() as unknown as { client: KnexClient }).client;
  const connection = await client.acquireConnection();
  if (!(connection instanceof pg.Client)) {
    await client.releaseConnection(connection);
    return sql<T>(em, text, params);
  }
  try {
    const onQuery = em.config.get('onQuery') as ((statement: string, params: readonly unknown[]) => string) | undefined;
    const { name, statement } = prepared(client, onQuery ? onQuery(text, params) : text);
    const result = await connection.query<T & pg.QueryResultRow>({ name, text: statement, values: [...params] });
    return result.rows;
  } finally {
    await client.releaseConnection(connection);
  }
}

/** Texts seen by `preparedSql`, with their `$n` form and statement name (a handful: hot statements only). */
const preparedTexts = new Map<string, { name: string; statement: string }>();

function prepared(client: KnexClient, text: string): { name: string; statement: string } {
  let found = preparedTexts.get(text);
  if (!found) {
    const statement = client.positionBindings(text);
    found = { name: `gh_${createHash('sha256').update(statement).digest('base64url').slice(0, 22)}`, statement };
    if (preparedTexts.size >= 1000) preparedTexts.clear();
    preparedTexts.set(text, found);
  }
  return found;
}

/** Table name of an entity, from its metadata. */
export const tableOf = (em: EntityManager, entity: new (...args: never[]) => unknown): string => em.getMetadata().get(entity.name).tableName;

