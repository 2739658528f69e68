import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';

/**
 * Runs the built server and operator commands as child processes, exactly as `npm start` and
 * `npm run <command>` do. `npm test` builds dist/ first (pretest).
 */
export const MAIN = path.resolve('dist/src/main.js');
export const cli = (name: string) => path.resolve(`dist/src/cli/${name}.js`);

/** Matches a full API key as printed once by the server or the CLI. */
export const KEY = /gh_(?:live|test)_[A-Za-z0-9_-]{43}/g;

export function assertBuilt(): void {
  if (!existsSync(MAIN)) throw new Error('dist/ is missing: `npm test` builds it first (pretest); or run `npm run build`');
}

/**
 * `env` as `npm start` would see it: without the NODE_ENV=test that vitest sets. Libraries
 * change behaviour on it (Apollo installs its own signal handlers unless it is `test`), so a
 * child that inherited it would not be the process operators run.
 */
export function asNpmStartWould(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { NODE_ENV: _vitest, ...rest } = env;
  return rest;
}

/** Environment of a process using the embedded database in `dataDir`. */
export function embeddedEnv(dataDir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...asNpmStartWould(process.env), GATEHOUSE_DATA_DIR: dataDir, LOG_LEVEL: 'info', ...extra };
  delete env.DATABASE_URL;
  return env;
}

/** Environment of a process using the PostgreSQL database at `url`. */
export function postgresEnv(url: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  // A fixed master key: every process of one test must seal and open secrets alike.
  return { ...asNpmStartWould(process.env), DATABASE_URL: url, LOG_LEVEL: 'info', GATEHOUSE_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'), ...extra };
}

export interface ServerProcess {
  child: ChildProcess;
  /** stdout and stderr so far, interleaved. */
  output(): string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  /** Resolves with the local URL once the server listens; rejects if it exits first. */
  ready: Promise<string>;
  /** Sends `signal` (SIGTERM by default) unless it already exited, then resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts the built server with `env` (which should set PORT and HOST), as `npm start` would. */
export function spawnServer(env: NodeJS.ProcessEnv, readyTimeoutMs = 40_000): ServerProcess {
  const child = spawn(process.execPath, [MAIN], { env: asNpmStartWould(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => {
      exitCode = code ?? (signal ? -1 : null);
      if (signal) out += `\n[killed by ${signal}]`;
      resolve(exitCode);
    }),
  );
  const ready = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), readyTimeoutMs);
    const check = () => {
      const match = /"url":"(http:\/\/localhost:\d+)".*"msg":"gatehouse listening"/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout!.on('data', (chunk) => {
      out += chunk;
      check();
    });
    child.stderr!.on('data', (chunk) => (out += chunk));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${out}`));
    });
  });
  ready.catch(() => undefined); // callers that only await `exited` must not see an unhandled rejection
  return {
    child,
    output: () => out,
    exited,
    ready,
    stop: (signal = 'SIGTERM') => {
      if (exitCode === undefined) child.kill(signal);
      return exited;
    },
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `dist/src/cli/<name>.js args` to completion, as `npm run <name>` would. */
export function runCli(name: string, args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli(name), ...args], { env: asNpmStartWould(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk) => (stdout += chunk));
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A new, empty database on the PostgreSQL server of `serverUrl`, dropped by `drop()`. */
export async function freshPostgresDatabase(serverUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `gatehouse_proc_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const parsed = new URL(serverUrl);
  parsed.pathname = `/${name}`;
  return {
    url: parsed.toString(),
    drop: async () => {
      const cleanup = new pg.Client({ connectionString: serverUrl });
      await cleanup.connect();
      try {
        await cleanup.query(`drop database if exists "${name}" with (force)`);
      } finally {
        await cleanup.end();
      }
    },
  };
}

/**
 * Two server processes on one fresh PostgreSQL database, serving one issuer at `publicUrl` as
 * behind a load balancer (for tests that need DATABASE_URL; call inside the test). The first
 * process bootstraps the workspace: its owner key comes back. Stopped and dropped in `close`.
 */
export function processPair(postgresUrl: string | undefined, publicUrl: string) {
  let database: { url: string; drop(): Promise<void> } | undefined;
  const servers: ServerProcess[] = [];
  return {
    async start(): Promise<{ aUrl: string; bUrl: string; key: string }> {
      assertBuilt();
      database = await freshPostgresDatabase(postgresUrl!);
      const env = postgresEnv(database.url, { PORT: '0', HOST: '127.0.0.1', GATEHOUSE_PUBLIC_URL: publicUrl });
      const a = spawnServer(env);
      servers.push(a);
      const aUrl = await a.ready;
      const key = a.output().match(KEY)![0];
      const b = spawnServer(env);
      servers.push(b);
      return { aUrl, bUrl: await b.ready, key };
    },
    async close(): Promise<void> {
      await Promise.all(servers.map((server) => server.stop()));
      await database?.drop();
    },
  };
}
