import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphqlClient } from '../helpers/graphql.js';
import { assertBuilt, embeddedEnv, freshPostgresDatabase, KEY, postgresEnv, runCli, spawnServer, type CliResult } from '../helpers/processes.js';

const POSTGRES_URL = process.env.DATABASE_URL || undefined;

const keysIn = (result: CliResult) => result.stdout.match(KEY) ?? [];
const describeResult = (result: CliResult) => `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;

describe(`npm run create-key (${POSTGRES_URL ? 'PostgreSQL' : 'embedded PGlite'})`, () => {
  let env: NodeJS.ProcessEnv;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    assertBuilt();
    if (POSTGRES_URL) {
      const database = await freshPostgresDatabase(POSTGRES_URL);
      env = postgresEnv(database.url);
      cleanup = database.drop;
    } else {
      const dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-data-'));
      env = embeddedEnv(dataDir);
      cleanup = async () => rmSync(dataDir, { recursive: true, force: true });
    }
    const boot = await runCli('bootstrap', ['--name', 'Acme Corp', '--slug', 'acme'], env);
    expect(boot.code, describeResult(boot)).toBe(0);
  });
  afterAll(() => cleanup?.());

  it('mints keys for an existing workspace, audits them as SYSTEM, and the keys work', async () => {
    const owner = await runCli('create-key', ['--workspace', 'acme'], env);
    expect(owner.code, describeResult(owner)).toBe(0);
    expect(keysIn(owner)).toHaveLength(1);
    const ownerKey = keysIn(owner)[0]!;
    expect(ownerKey).toMatch(/^gh_live_/);

    const pinned = await runCli(
      'create-key',
      ['--workspace', 'acme', '--environment', 'development', '--scopes', 'users:read,organizations:write', '--name', 'CI'],
      env,
    );
    expect(pinned.code, describeResult(pinned)).toBe(0);
    expect(keysIn(pinned)).toHaveLength(1);
    const pinnedKey = keysIn(pinned)[0]!;
    // Pinned to a development environment: a test key.
    expect(pinnedKey).toMatch(/^gh_test_/);

    const server = spawnServer({ ...env, PORT: '0', HOST: '127.0.0.1' });
    try {
      const url = await server.ready;
      const client = graphqlClient(`${url}/graphql`, ownerKey);
      const viewer = await client.data('{ viewer { workspaceId environmentIds scopes } }');
      expect(viewer.viewer.scopes).toEqual(['*']);
      expect(viewer.viewer.environmentIds).toHaveLength(2);

      const pinnedViewer = await client.withKey(pinnedKey).data('{ viewer { workspaceId environmentIds scopes } }');
      expect(pinnedViewer.viewer.workspaceId).toBe(viewer.viewer.workspaceId);
      expect(pinnedViewer.viewer.environmentIds).toHaveLength(1);
      expect(pinnedViewer.viewer.scopes).toEqual(['organizations:write', 'users:read']);

      const keys = await client.data('{ apiKeys(first: 10) { nodes { id name environmentId scopes } } }');
      const byName = Object.fromEntries(keys.apiKeys.nodes.map((key: { name: string }) => [key.name, key]));
      expect(Object.keys(byName).sort()).toEqual(['CI', 'Operator key', 'Owner key']);
      expect(byName['CI'].environmentId).toBe(pinnedViewer.viewer.environmentIds[0]);
      expect(byName['Operator key']).toMatchObject({ environmentId: null, scopes: ['*'] });

      const audit = await client.data(
        '{ auditEvents(first: 10, filter: { actions: ["api_key.created"] }) { nodes { action environmentId actor { type id } targets { type id name } } } }',
      );
      const events = audit.auditEvents.nodes as { environmentId: string | null; actor: { type: string; id: string | null }; targets: { id: string; name: string }[] }[];
      for (const name of ['CI', 'Operator key']) {
        const event = events.find((candidate) => candidate.targets[0].id === byName[name].id);
        expect(event, JSON.stringify(events)).toBeDefined();
        expect(event!.actor).toEqual({ type: 'SYSTEM', id: null });
        expect(event!.targets[0].name).toBe(name);
        expect(event!.environmentId).toBe(byName[name].environmentId);
      }
    } finally {
      await server.stop();
    }
    expect(await server.exited, server.output()).toBe(0);
  }, 120_000);

  it('fails with a clear message and exit code 1 for an unknown workspace, environment or scope', async () => {
    const noWorkspace = await runCli('create-key', ['--workspace', 'nope'], env);
    expect(noWorkspace.code, describeResult(noWorkspace)).toBe(1);
    expect(noWorkspace.stderr).toContain('No workspace with slug "nope"');
    expect(keysIn(noWorkspace)).toHaveLength(0);

    const noEnvironment = await runCli('create-key', ['--workspace', 'acme', '--environment', 'staging'], env);
    expect(noEnvironment.code, describeResult(noEnvironment)).toBe(1);
    expect(noEnvironment.stderr).toContain('The workspace "acme" has no environment with slug "staging"');
    expect(keysIn(noEnvironment)).toHaveLength(0);

    const badScope = await runCli('create-key', ['--workspace', 'acme', '--scopes', 'users:read,everything'], env);
    expect(badScope.code, describeResult(badScope)).toBe(1);
    expect(badScope.stderr).toContain('Unknown scopes: everything');

    const usage = await runCli('create-key', [], env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('usage: npm run create-key -- --workspace <slug>');
  }, 90_000);
});
