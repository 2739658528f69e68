/** Writes schema.graphql from the code; with `--check`, fails when the committed file differs. */
import { readFileSync, writeFileSync } from 'node:fs';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { getSchema } from '../graphql/schema.js';

const FILE = 'schema.graphql';
const header = '# Generated from the code by `npm run schema:emit`. Do not edit.\n\n';
const text = header + printSchema(lexicographicSortSchema(await getSchema())) + '\n';

if (process.argv.includes('--check')) {
  let committed = '';
  try {
    committed = readFileSync(FILE, 'utf8');
  } catch {
    // missing file counts as drift
  }
  if (committed !== text) {
    console.error(`${FILE} is out of date with the code; run \`npm run schema:emit\` and commit it.`);
    process.exitCode = 1;
  } else {
    console.log(`${FILE} matches the code`);
  }
} else {
  writeFileSync(FILE, text);
  console.log(`wrote ${FILE}`);
}
