import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphqlClient } from '../helpers/graphql.js';
import { embeddedEnv } from '../helpers/processes.js';

const MAIN = path.resolve('dist/src/main.js');

interface Started {
  child: ChildProcess;
  url: string;
  stdout: () => string;
}

/** Runs the built server exactly as `npm start` does, in embedded mode on `dataDir`. */
async function startProcess(dataDir: string): Promise<Started> {
  const env = embeddedEnv(dataDir, { PORT: '0', HOST: '127.0.0.1' });
  const child = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (chunk) => (out += chunk));
  child.stderr!.on('data', (chunk) => (out += chunk));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 30_000);
    child.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${out}`)));
    child.stdout!.on('data', () => {
      const match = /"url":"(http:\/\/localhost:\d+)".*"msg":"gatehouse listening"/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
  });
  return { child, url, stdout: () => out };
}

function stopProcess(started: Started): Promise<number | null> {
  return new Promise((resolve) => {
    started.child.once('exit', (code) => resolve(code));
    started.child.kill('SIGTERM');
  });
}

describe('npm start in embedded mode', () => {
  let dataDir: string;
  beforeAll(() => {
    if (!existsSync(MAIN)) throw new Error('dist/ is missing: `npm test` builds it first (pretest)');
    dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-data-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('prints an owner key once, keeps data across a SIGTERM restart, and never prints the key again', async () => {
    const first = await startProcess(dataDir);
    const key = /(gh_live_[A-Za-z0-9_-]{43})/.exec(first.stdout())?.[1];
    expect(key, first.stdout()).toBeDefined();
    const client = graphqlClient(`${first.url}/graphql`, key!);
    const viewer = await client.data('{ viewer { environmentIds } }');
    const created = await client.data(
      'mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } userErrors { code } } }',
      { input: { environmentId: viewer.viewer.environmentIds[0], name: 'Survivor' } },
    );
    const orgId = created.createOrganization.organization.id;
    expect(await stopProcess(first)).toBe(0);
    expect(first.stdout()).toContain('"msg":"stopped"');
    // The key is printed on stdout once and never reaches the JSON log lines.
    const logLines = first.stdout().split('\n').filter((line) => line.startsWith('{'));
    expect(logLines.some((line) => line.includes(key!))).toBe(false);

    const second = await startProcess(dataDir);
    try {
      expect(second.stdout()).not.toMatch(/gh_live_/);
      const again = graphqlClient(`${second.url}/graphql`, key!);
      const found = await again.data('query($id: ID!) { node(id: $id) { ... on Organization { name } } }', { id: orgId });
      expect(found.node).toEqual({ name: 'Survivor' });
    } finally {
      expect(await stopProcess(second)).toBe(0);
    }
  }, 90_000);
});
