import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // type-graphql is CommonJS; without this alias the ESM tests and type-graphql would load
    // two copies of graphql ("Cannot use GraphQLObjectType from another module or realm").
    alias: { graphql: 'graphql/index.js' },
  },
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // Each test file starts its own server on one shared database per file (PGlite in memory,
    // or a fresh database on PostgreSQL). Two workers fit two cores and PGlite's memory cost.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    setupFiles: ['test/helpers/setup.ts'],
  },
});
