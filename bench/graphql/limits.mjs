// Benchmark: what the query limits cost per request, without a server or a database. Times the
// checks an operation passes before it runs (over HTTP: the document-shape check on a second
// parse, then depth and cost once variables are known) for ordinary dashboard queries, and
// optionally the same checks of another build, for a before/after ratio.
//
//   npm run build && node bench/graphql/limits.mjs
//   BENCH_BASE=/other/checkout node bench/graphql/limits.mjs   (its dist/ is compared)
import 'reflect-metadata';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { getOperationAST, parse } from 'graphql';

const ITERATIONS = Number(process.env.BENCH_ITERATIONS || 20_000);
const LIMITS = { maxDepth: 10, maxComplexity: 20_000, maxPageSize: 100, maxSelections: 1000, maxAliases: 100 };

const QUERIES = {
  'nested organizations (bench/graphql)': [
    `query Bench($env: ID, $first: Int) { organizations(environmentId: $env, first: $first) { totalCount
      nodes { id name domains { domain } memberships(first: 10) { totalCount nodes { user { email } roles { key name } } } } } }`,
    { env: 'env_x', first: 20 },
  ],
  'audit page': [
    `query($env: ID!) { auditEvents(environmentId: $env, first: 50) { pageInfo { hasNextPage endCursor }
      nodes { sequence action occurredAt actor { type id name } targets { type id name } before after requestId } } }`,
    { env: 'env_x' },
  ],
  'viewer': ['{ viewer { workspaceId environmentIds scopes } }', {}],
};

async function load(root) {
  const dist = (file) => pathToFileURL(path.join(root, 'dist/src', file)).href;
  const { getSchema } = await import(dist('graphql/schema.js'));
  const limits = await import(dist('graphql/limits.js'));
  return { schema: await getSchema(), limits };
}

/** Microseconds per check of `query`, best of three rounds. */
function time(build, query, variables) {
  const document = parse(query);
  const operation = getOperationAST(document);
  const check = () => {
    // The HTTP path parses once more for the shape check (where a build has one).
    if (build.limits.checkDocumentLimits) build.limits.checkDocumentLimits(LIMITS, parse(query, { noLocation: true }));
    build.limits.checkQueryLimits(LIMITS, { schema: build.schema, document, operation, operationName: null, variables });
  };
  for (let i = 0; i < 1000; i += 1) check();
  let best = Infinity;
  for (let round = 0; round < 3; round += 1) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < ITERATIONS; i += 1) check();
    best = Math.min(best, Number(process.hrtime.bigint() - started) / 1000 / ITERATIONS);
  }
  return best;
}

const current = await load(process.cwd());
const base = process.env.BENCH_BASE ? await load(path.resolve(process.env.BENCH_BASE)) : null;
console.log(`\nQuery limit checks, µs per operation (best of 3 × ${ITERATIONS})\n`);
console.log(base ? '| query | this build | base | this / base |\n|---|---|---|---|' : '| query | µs |\n|---|---|');
for (const [name, [query, variables]] of Object.entries(QUERIES)) {
  const now = time(current, query, variables);
  if (!base) {
    console.log(`| ${name} | ${now.toFixed(1)} |`);
    continue;
  }
  const before = time(base, query, variables);
  console.log(`| ${name} | ${now.toFixed(1)} | ${before.toFixed(1)} | ${(now / before).toFixed(2)}× |`);
}
