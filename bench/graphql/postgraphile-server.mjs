// PostGraphile 4 (the devDependency) over the bench database, as a child process of
// bench/graphql/run.mjs so that it has its own event loop, like Gatehouse.
//
//   DATABASE_URL=postgres://... PORT=4711 node bench/graphql/postgraphile-server.mjs
//
// Library mode on node:http with the options its docs recommend for production: no query log,
// no GraphiQL, no watch mode, no default mutations (the bench only reads). No JWT and no RLS:
// PostGraphile checks nothing here, where Gatehouse authenticates the API key and checks its
// scope and environment on every request.
import http from 'node:http';
import Module, { createRequire } from 'node:module';
import path from 'node:path';
import pg from 'pg';

// PostGraphile 4 needs graphql 15 while the project uses 16, so npm nests graphql 15 twice
// (under postgraphile and under graphile-build-pg); graphile's `instanceof` checks fail across
// the two copies ("Unexpected input type"). Every `graphql` the PostGraphile packages require
// resolves to postgraphile's own copy.
const require = createRequire(import.meta.url);
const postgraphileDir = path.dirname(require.resolve('postgraphile/package.json'));
const graphqlParent = { id: postgraphileDir, filename: path.join(postgraphileDir, 'index.js'), paths: Module._nodeModulePaths(postgraphileDir) };
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  if (request === 'graphql' || request.startsWith('graphql/')) return resolveFilename.call(this, request, graphqlParent, ...rest);
  return resolveFilename.call(this, request, parent, ...rest);
};
const { postgraphile } = require('postgraphile');
const graphileBuildPg = require('graphile-build-pg');
const port = Number(process.env.PORT || 4711);
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.POOL_SIZE || 10) });

const middleware = postgraphile(pool, 'public', {
  graphqlRoute: '/graphql',
  graphiql: false,
  disableQueryLog: true,
  retryOnInitFail: false,
  watchPg: false,
  dynamicJson: true,
  disableDefaultMutations: true,
  legacyRelations: 'omit',
  setofFunctionsContainNulls: false,
  extendedErrors: ['errcode'],
  // Gatehouse's schema has SQL functions taking a table row (e.g. audit_event_chain_key) whose
  // computed-column names clash with real columns; the bench reads none of them.
  skipPlugins: [graphileBuildPg.PgComputedColumnsPlugin],
});
// Build the schema before listening, so that a schema error fails the start, not a request.
await middleware.getGraphQLSchema();

const server = http.createServer(middleware);
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`postgraphile listening on http://127.0.0.1:${port}/graphql\n`);
});

const stop = () => {
  server.close();
  void middleware.release?.();
  void pool.end().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 5_000).unref();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
