import { readFileSync } from 'node:fs';

/**
 * The statement in `migrations/sql/<name>.sql`, exactly as written there (less the file's final
 * newline): the triggers and functions that migrations create, kept as SQL files. Read relative
 * to this module, so it works from source (vitest) and from `dist/migrations/` (the build copies
 * `migrations/sql/` beside it).
 *
 * A migration that has run in the field must keep meaning what it meant: a file a migration
 * reads is never edited afterwards. A new version of a function is a new file, read by a new
 * migration (see `audit_event_chain.1.sql`, `.2.sql`, `.3.sql`). test/audit/trigger-sql.test.ts
 * pins what every migration executes.
 */
export function sqlFile(name: string): string {
  const text = readFileSync(new URL(`./sql/${name}.sql`, import.meta.url), 'utf8');
  return text.endsWith('\n') ? text.slice(0, -1) : text;
}
