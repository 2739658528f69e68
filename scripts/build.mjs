#!/usr/bin/env node
/**
 * Compiles src/ and migrations/ into dist/ with tsc (tsconfig.build.json), and copies the
 * migrations' SQL files (migrations/sql/) beside the compiled migrations.
 *
 *   node scripts/build.mjs             always compiles (`npm run build`)
 *   node scripts/build.mjs --if-stale  compiles only when an input changed since the last
 *                                      build (`npm start`, `npm test` and the operator commands)
 *
 * A full compile takes several seconds; comparing modification times takes milliseconds, so a
 * second `npm start` does not pay for a build it does not need. The inputs are every file and
 * folder under src/ and migrations/ (a folder's time changes when a file is added, renamed or
 * deleted) and the files that decide how they compile. A successful build leaves
 * dist/.build-stamp dated when it started, so an edit made during a build is seen next time.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STAMP = path.join(root, 'dist', '.build-stamp');
const ENTRY = path.join(root, 'dist', 'src', 'main.js');
const INPUTS = ['src', 'migrations', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'];
/** Files tsc does not emit, copied beside the compiled code that reads them: the migrations' SQL (migrations/sql-file.ts), the hosted pages' templates and stylesheet. */
const ASSETS = [
  ['migrations/sql', 'dist/migrations/sql'],
  ['src/http/pages/assets', 'dist/src/http/pages/assets'],
];

/** The newest modification time under `entry` (itself included), in milliseconds. */
function newestChange(entry) {
  let stats;
  try {
    stats = statSync(entry);
  } catch {
    return 0;
  }
  if (!stats.isDirectory()) return stats.mtimeMs;
  let newest = stats.mtimeMs;
  for (const child of readdirSync(entry)) newest = Math.max(newest, newestChange(path.join(entry, child)));
  return newest;
}

/** Why dist/ must be rebuilt, or null when it is newer than every input. */
function staleness() {
  if (!existsSync(ENTRY) || !existsSync(STAMP)) return 'no previous build';
  const builtAt = statSync(STAMP).mtimeMs;
  const changed = INPUTS.find((input) => newestChange(path.join(root, input)) > builtAt);
  return changed ? `${changed} changed` : null;
}

const ifStale = process.argv.includes('--if-stale');
const reason = ifStale ? staleness() : 'requested';
// Silent when nothing is to do, and on stderr otherwise: commands like audit:verify print
// results on stdout.
if (!reason) process.exit(0);
if (ifStale) console.error(`building dist/ (${reason})`);
const startedAt = new Date();
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
// Copied even when tsc reports errors (it emits anyway): what it emitted can find its files.
for (const [from, to] of ASSETS) {
  // Replaced whole, so a file deleted from the source does not linger in dist/.
  rmSync(path.join(root, to), { recursive: true, force: true });
  cpSync(path.join(root, from), path.join(root, to), { recursive: true });
}
if (result.status !== 0) process.exit(result.status ?? 1);
writeFileSync(STAMP, '');
utimesSync(STAMP, startedAt, startedAt);
