import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, embeddedEnv, runCli, spawnServer } from '../helpers/processes.js';

describe('the embedded data folder has a single writer', () => {
  let dataDir: string;
  beforeAll(() => {
    assertBuilt();
    dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-data-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('refuses `migrate` while the server runs on the same folder, and allows it once the server stopped', async () => {
    const env = embeddedEnv(dataDir);
    const server = spawnServer({ ...env, PORT: '0', HOST: '127.0.0.1' });
    try {
      await server.ready;
      const lockFile = path.join(dataDir, 'gatehouse.lock');
      expect(readFileSync(lockFile, 'utf8').trim()).toBe(String(server.child.pid));

      const refused = await runCli('migrate', [], env);
      expect(refused.code, refused.stdout + refused.stderr).not.toBe(0);
      expect(refused.stderr).toContain(`the data folder ${dataDir} is in use by process ${server.child.pid}; stop it first`);
      // The refused command did not touch the server's lock.
      expect(readFileSync(lockFile, 'utf8').trim()).toBe(String(server.child.pid));
    } finally {
      await server.stop();
    }
    expect(await server.exited, server.output()).toBe(0);
    expect(existsSync(path.join(dataDir, 'gatehouse.lock'))).toBe(false);

    const allowed = await runCli('migrate', [], env);
    expect(allowed.code, allowed.stdout + allowed.stderr).toBe(0);
    expect(allowed.stdout).toContain('the database schema is up to date');
    expect(existsSync(path.join(dataDir, 'gatehouse.lock'))).toBe(false);
  }, 90_000);

  it('takes over the lock of a process that died without releasing it', async () => {
    // A pid that surely belongs to no running process: one of a process that already exited.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(path.join(dataDir, 'gatehouse.lock'), dead.stdout);
    const result = await runCli('migrate', [], embeddedEnv(dataDir));
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(existsSync(path.join(dataDir, 'gatehouse.lock'))).toBe(false);
  }, 60_000);
});
