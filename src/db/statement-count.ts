/**
 * How many SQL statements a text holds: the `;` that separate them, outside string literals
 * ('…', E'…' with backslash escapes), quoted identifiers ("…"), dollar-quoted bodies
 * ($tag$…$tag$) and comments (-- and nested /* *\/). Empty statements do not count.
 *
 * The PGlite adapter (knex-pglite) decides whether to run a raw query as several statements by
 * splitting its text on every `;`, quotes and all. A statement whose inlined value contains one
 * (a browser's user agent, "Mozilla/5.0 (X11; Linux x86_64)…") was then run as a script and its
 * result came back in another shape: MikroORM failed a batch insert of audit events with it.
 * database.ts asks this function instead.
 */
export function statementCount(sql: string): number {
  let count = 0;
  let content = false;
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i];
    if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? n : end + 1;
      continue;
    }
    if (c === '/' && sql[i + 1] === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') (depth += 1), (i += 2);
        else if (sql[i] === '*' && sql[i + 1] === '/') (depth -= 1), (i += 2);
        else i += 1;
      }
      continue;
    }
    if (c === ';') {
      if (content) count += 1;
      content = false;
      i += 1;
      continue;
    }
    if (!/\s/.test(c)) content = true;
    if (c === "'" || c === '"') {
      const escapes = c === "'" && (sql[i - 1] === 'E' || sql[i - 1] === 'e') && !/[A-Za-z0-9_]/.test(sql[i - 2] ?? '');
      i += 1;
      while (i < n) {
        if (escapes && sql[i] === '\\') i += 2;
        else if (sql[i] === c && sql[i + 1] === c) i += 2;
        else if (sql[i] === c) break;
        else i += 1;
      }
      i += 1;
      continue;
    }
    if (c === '$') {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 66));
      // `$1` placeholders and identifiers with `$` in them are not dollar quotes.
      if (tag && !/[A-Za-z0-9_]/.test(sql[i - 1] ?? '')) {
        const end = sql.indexOf(tag[0], i + tag[0].length);
        i = end < 0 ? n : end + tag[0].length;
        continue;
      }
    }
    i += 1;
  }
  return content ? count + 1 : count;
}
