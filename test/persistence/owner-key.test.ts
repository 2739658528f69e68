import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphqlClient } from '../helpers/graphql.js';
import { assertBuilt, embeddedEnv, KEY, spawnServer } from '../helpers/processes.js';

function occupyPort(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port }));
  });
}

describe('first start when the server cannot listen', () => {
  let dataDir: string;
  let blocker: { server: Server; port: number };
  beforeAll(async () => {
    assertBuilt();
    dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-data-'));
    blocker = await occupyPort();
  });
  afterAll(async () => {
    await new Promise((resolve) => blocker.server.close(resolve));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints the owner key before listening, exits non-zero, closes the data folder, and the key works on the next start', async () => {
    // The port is taken: listen fails (EADDRINUSE) after the default workspace was committed.
    const failed = spawnServer(embeddedEnv(dataDir, { PORT: String(blocker.port), HOST: '127.0.0.1' }));
    const code = await failed.exited;
    expect(code, failed.output()).not.toBe(0);
    expect(failed.output()).toMatch(/EADDRINUSE/);
    // Printed once (the banner also shows it in a curl example).
    const keys = [...new Set(failed.output().match(KEY) ?? [])];
    expect(keys, failed.output()).toHaveLength(1);
    expect(failed.output().match(/Its owner API key/g)).toHaveLength(1);
    const key = keys[0]!;
    // The key went to stdout as text, never into a JSON log line.
    const logLines = failed.output().split('\n').filter((line) => line.startsWith('{'));
    expect(logLines.some((line) => line.includes(key))).toBe(false);
    // The database was closed before exiting: the data folder's lock is released.
    expect(existsSync(path.join(dataDir, 'gatehouse.lock'))).toBe(false);

    const second = spawnServer(embeddedEnv(dataDir, { PORT: '0', HOST: '127.0.0.1' }));
    try {
      const url = await second.ready;
      expect(second.output()).not.toMatch(KEY);
      const viewer = await graphqlClient(`${url}/graphql`, key).data('{ viewer { scopes environmentIds } }');
      expect(viewer.viewer.scopes).toEqual(['*']);
      expect(viewer.viewer.environmentIds).toHaveLength(2);
    } finally {
      await second.stop();
    }
    expect(await second.exited, second.output()).toBe(0);
  }, 90_000);
});
