import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '../../src');

function sources(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [full] : [];
  });
}

const files = sources().map((file) => ({ file: path.relative(SRC, file), text: readFileSync(file, 'utf8') }));
/** Where SQL may be written: repositories, and the database layer itself. */
const mayRunSql = (file: string) => file.startsWith('db/') || file.endsWith('.repository.ts');

/** Every way SQL reaches the database without the ORM's query API. */
const RAW_SQL = [
  { name: 'the sql() helper', pattern: /from '[./]*db\/sql\.js'/ },
  { name: 'em.execute / connection.execute', pattern: /(\b(em|tx|fork|connection)|EntityManager\))\.execute\s*[<(]/ },
  { name: 'getConnection()', pattern: /\.getConnection\(/ },
  { name: 'knex', pattern: /\.getKnex\(|from 'knex'/ },
  { name: 'a query builder', pattern: /\.createQueryBuilder\(|\.qb\(/ },
  { name: 'a raw SQL fragment', pattern: /\braw\(\s*\(|import \{[^}]*\braw\b[^}]*\} from '@mikro-orm/ },
];

describe('the layers', () => {
  it('runs SQL only in repositories and src/db/', () => {
    const offenders = files.flatMap(({ file, text }) =>
      mayRunSql(file) ? [] : RAW_SQL.filter(({ pattern }) => pattern.test(text)).map(({ name }) => `${file}: ${name}`),
    );
    expect(offenders).toEqual([]);
  });

  it('keeps transports out of the domain: no module, audit or db file imports src/http or src/graphql plumbing', () => {
    const offenders = files
      .filter(({ file }) => /^(modules|audit|db|auth|crypto)\//.test(file))
      .filter(({ text }) => /from '(\.\.\/)+http\//.test(text))
      .map(({ file }) => file);
    expect(offenders).toEqual([]);
  });

  it('makes every EntityManager with a tenant scope or a visible system reason', () => {
    // A fork of the ORM's root EntityManager has no scope, and every query of tenant data through
    // it throws; outside the database layer, EntityManagers come from scopedFork() or
    // systemFork(reason), and forks of those keep their scope.
    const offenders = files.filter(({ file, text }) => !file.startsWith('db/') && /\borm\.em\.fork\(/.test(text)).map(({ file }) => file);
    expect(offenders).toEqual([]);
  });
});
