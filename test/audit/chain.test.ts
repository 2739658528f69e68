import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { EntityManager } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseTarget } from '../../src/db/database.js';
import { assertBuilt, embeddedEnv, freshPostgresDatabase, postgresEnv, runCli } from '../helpers/processes.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

let server: TestServer;
let ws: TestWorkspace;
let env: string;

const VERIFY = `query($env: ID, $from: DateTime, $to: DateTime) {
  auditChainVerification(environmentId: $env, from: $from, to: $to) {
    chainKey valid eventsChecked firstBrokenSequence firstBrokenEventId reason headHash headSequence
  }
}`;
const EVENTS = `query($env: ID) { auditEvents(environmentId: $env, first: 100, orderBy: { direction: ASC }) {
  nodes { id sequence action hash previousHash occurredAt } } }`;

type Event = { id: string; sequence: string; action: string; hash: string; previousHash: string; occurredAt: string };

/** Runs SQL as an operator with direct database access would, bypassing the append-only guard. */
async function tamper(sql: string, params: unknown[]) {
  await server.database.db.orm.em.fork().transactional(async (em: EntityManager) => {
    await (em as SqlEntityManager).execute(`set local gatehouse.audit_maintenance = 'on'`);
    await (em as SqlEntityManager).execute(sql, params);
  });
}

async function createOrganizations(count: number, prefix: string) {
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      ws.client.data('mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }', {
        input: { environmentId: env, name: `${prefix} ${i}` },
      }),
    ),
  );
}

async function events(): Promise<Event[]> {
  return (await ws.client.data(EVENTS, { env })).auditEvents.nodes;
}

beforeAll(async () => {
  server = await startServer();
  ws = await server.workspace();
  env = ws.development.id;
});
afterAll(() => server.close());

describe('the audit hash chain', () => {
  it('links every event of an environment to the one before, even under concurrent writers', async () => {
    await createOrganizations(20, 'Concurrent');
    const all = await events();
    expect(all.length).toBeGreaterThanOrEqual(21);
    expect(all[0].previousHash).toBe('0'.repeat(64));
    for (let i = 1; i < all.length; i += 1) {
      expect(all[i].previousHash).toBe(all[i - 1].hash);
      expect(BigInt(all[i].sequence) > BigInt(all[i - 1].sequence)).toBe(true);
    }
    const result = (await ws.client.data(VERIFY, { env })).auditChainVerification;
    expect(result).toEqual({
      chainKey: env,
      valid: true,
      eventsChecked: all.length,
      firstBrokenSequence: null,
      firstBrokenEventId: null,
      reason: null,
      headHash: all[all.length - 1].hash,
      headSequence: all[all.length - 1].sequence,
    });
  });

  it('refuses to change or delete events through SQL unless a maintenance job says so', async () => {
    const [first] = await events();
    const connection = server.database.db.orm.em.fork().getConnection();
    await expect(connection.execute(`update audit_event set action = 'x.y' where id = ?`, [first.id])).rejects.toThrow(/append-only/);
    await expect(connection.execute(`delete from audit_event where id = ?`, [first.id])).rejects.toThrow(/append-only/);
  });

  it('detects an event edited in the database, at that event', async () => {
    const all = await events();
    const victim = all[5];
    await tamper(`update audit_event set after = jsonb_set(after, '{name}', '"Forged"') where id = ?`, [victim.id]);
    const result = (await ws.client.data(VERIFY, { env })).auditChainVerification;
    expect(result).toMatchObject({ valid: false, reason: 'CONTENT_ALTERED', firstBrokenEventId: victim.id, firstBrokenSequence: victim.sequence, eventsChecked: 6 });
    expect(result.headHash).toBe(all[4].hash);
  });

  it('detects an edit that also recomputes the edited event\'s hash, at the next event', async () => {
    const ws2 = await server.workspace();
    await ws2.client.data('mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }', {
      input: { environmentId: ws2.development.id, name: 'Original' },
    });
    const before = (await ws2.client.data(EVENTS, { env: ws2.development.id })).auditEvents.nodes as Event[];
    const victim = before[before.length - 2];
    await tamper(
      `update audit_event e set actor_name = 'someone else' where id = ?;`,
      [victim.id],
    );
    await tamper(`update audit_event e set hash = encode(sha256(convert_to(audit_event_canonical(e), 'UTF8')), 'hex') where id = ?`, [victim.id]);
    const result = (await ws2.client.data(VERIFY, { env: ws2.development.id })).auditChainVerification;
    expect(result).toMatchObject({ valid: false, reason: 'LINK_BROKEN', firstBrokenEventId: before[before.length - 1].id });
  });

  it('detects a deleted event at its successor', async () => {
    const ws3 = await server.workspace();
    for (const name of ['A', 'B', 'C']) {
      await ws3.client.data('mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }', {
        input: { environmentId: ws3.development.id, name },
      });
    }
    const all = (await ws3.client.data(EVENTS, { env: ws3.development.id })).auditEvents.nodes as Event[];
    await tamper('delete from audit_event where id = ?', [all[1].id]);
    const result = (await ws3.client.data(VERIFY, { env: ws3.development.id })).auditChainVerification;
    expect(result).toMatchObject({ valid: false, reason: 'LINK_BROKEN', firstBrokenEventId: all[2].id, eventsChecked: 2 });
  });

  it('verifies a time range, linking its first event to the one before it', async () => {
    const ws4 = await server.workspace();
    await ws4.client.data('mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }', {
      input: { environmentId: ws4.development.id, name: 'Early' },
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const from = new Date().toISOString();
    for (const name of ['Late 1', 'Late 2']) {
      await ws4.client.data('mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }', {
        input: { environmentId: ws4.development.id, name },
      });
    }
    const ranged = (await ws4.client.data(VERIFY, { env: ws4.development.id, from })).auditChainVerification;
    expect(ranged).toMatchObject({ valid: true, eventsChecked: 2 });
    const empty = (await ws4.client.data(VERIFY, { env: ws4.development.id, from: '2000-01-01T00:00:00Z', to: '2000-01-02T00:00:00Z' }))
      .auditChainVerification;
    expect(empty).toMatchObject({ valid: true, eventsChecked: 0, headHash: null });
  });

  it('keeps workspace-level events in a chain of their own, verified with a workspace-wide key', async () => {
    const ws5 = await server.workspace();
    await ws5.client.data('mutation { updateWorkspace(input: { name: "Renamed" }) { workspace { id } } }');
    const result = (await ws5.client.data(VERIFY, {})).auditChainVerification;
    expect(result).toMatchObject({ chainKey: `wks:${ws5.workspace.id}`, valid: true });
    expect(result.eventsChecked).toBeGreaterThanOrEqual(3); // workspace.created, api_key.created, workspace.updated
  });

  it('needs audit:read, and never verifies another tenant\'s chain', async () => {
    const key = await ws.client.data('mutation { createApiKey(input: { name: "no audit", scopes: ["organizations:read"] }) { secret } }');
    const denied = await ws.client.withKey(key.createApiKey.secret).request(VERIFY, { env });
    expect(denied.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN' });
    const other = await server.workspace();
    const foreign = await other.client.request(VERIFY, { env });
    expect(foreign.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', reason: 'environment.not_found' });
  });
});

describe('npm run audit:verify', () => {
  it('reports intact chains with exit 0 and the first broken link with exit 1', async () => {
    assertBuilt();
    const { openDatabase } = await import('../../src/db/database.js');
    let environment: NodeJS.ProcessEnv;
    let target: DatabaseTarget;
    let cleanup: () => Promise<void>;
    if (process.env.DATABASE_URL) {
      const database = await freshPostgresDatabase(process.env.DATABASE_URL);
      environment = postgresEnv(database.url);
      target = { kind: 'postgres', url: database.url };
      cleanup = database.drop;
    } else {
      const dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-audit-'));
      environment = embeddedEnv(dataDir);
      target = { kind: 'pglite', dataDir };
      cleanup = async () => rmSync(dataDir, { recursive: true, force: true });
    }
    try {
      expect((await runCli('bootstrap', ['--name', 'Audit', '--slug', 'audit'], environment)).code).toBe(0);
      const intact = await runCli('audit-verify', [], environment);
      expect(intact.code, intact.stderr).toBe(0);
      expect(intact.stdout).toMatch(/chains intact/);
      // Tamper through the database directly, as an intruder with database access would.
      const db = await openDatabase(target);
      try {
        await db.orm.em.fork().transactional(async (em: EntityManager) => {
          await (em as SqlEntityManager).execute(`set local gatehouse.audit_maintenance = 'on'`);
          await (em as SqlEntityManager).execute(`update audit_event set action = 'workspace.forged' where action = 'workspace.created'`);
        });
      } finally {
        await db.close();
      }
      const broken = await runCli('audit-verify', [], environment);
      expect(broken.code).toBe(1);
      expect(broken.stdout).toMatch(/BROKEN {2}wks:wks_[0-9a-z]+: CONTENT_ALTERED at sequence \d+/);
    } finally {
      await cleanup();
    }
  });
});
