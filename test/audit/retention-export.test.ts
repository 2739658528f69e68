import type { EntityManager } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyRetention } from '../../src/audit/retention.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

let server: TestServer;

const CREATE_ORG = 'mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }';
const VERIFY = 'query($env: ID) { auditChainVerification(environmentId: $env) { valid eventsChecked reason firstBrokenEventId } }';
const RETENTION = `mutation($input: UpdateEnvironmentInput!) { updateEnvironment(input: $input) {
  environment { auditRetentionDays } userErrors { code field } } }`;

async function maintenance(sql: string, params: unknown[]) {
  await server.database.db.orm.em.fork().transactional(async (em: EntityManager) => {
    await (em as SqlEntityManager).execute(`set local gatehouse.audit_maintenance = 'on'`);
    await (em as SqlEntityManager).execute(sql, params);
  });
}

async function sequences(ws: TestWorkspace, env: string): Promise<{ sequence: string; action: string }[]> {
  return (await ws.client.data('query($env: ID) { auditEvents(environmentId: $env, first: 100, orderBy: { direction: ASC }) { nodes { sequence action } } }', { env }))
    .auditEvents.nodes;
}

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

describe('audit retention', () => {
  it('validates the retention setting', async () => {
    const ws = await server.workspace();
    for (const days of [0, 3651, -1]) {
      const result = await ws.client.data(RETENTION, { input: { id: ws.development.id, auditRetentionDays: days } });
      expect(result.updateEnvironment.userErrors).toEqual([{ code: 'environment.invalid_retention', field: ['input', 'auditRetentionDays'] }]);
    }
    const set = await ws.client.data(RETENTION, { input: { id: ws.development.id, auditRetentionDays: 30 } });
    expect(set.updateEnvironment.environment.auditRetentionDays).toBe(30);
    const cleared = await ws.client.data(RETENTION, { input: { id: ws.development.id, auditRetentionDays: null } });
    expect(cleared.updateEnvironment.environment.auditRetentionDays).toBeNull();
  });

  it('prunes old events, records a checkpoint, and the chain still verifies and keeps growing', async () => {
    const ws = await server.workspace();
    const env = ws.development.id;
    for (const name of ['Old 1', 'Old 2', 'Old 3', 'New 1']) await ws.client.data(CREATE_ORG, { input: { environmentId: env, name } });
    await ws.client.data(RETENTION, { input: { id: env, auditRetentionDays: 30 } });
    const before = await sequences(ws, env);
    // The first events happened 40 days ago.
    const old = before.slice(0, 3).map((e) => e.sequence);
    await maintenance(`update audit_event set occurred_at = now() - interval '40 days' where seq = any(?::bigint[])`, [`{${old.join(',')}}`]);

    const results = await applyRetention(server.database.db.orm.em);
    expect(results.find((r) => r.chainKey === env)).toEqual({ chainKey: env, eventsPruned: 3 });
    const after = await sequences(ws, env);
    expect(after.map((e) => e.sequence)).toEqual([...before.slice(3).map((e) => e.sequence), after.at(-1)!.sequence]);
    expect(after.at(-1)!.action).toBe('audit.pruned');
    expect((await ws.client.data(VERIFY, { env })).auditChainVerification).toMatchObject({ valid: true, eventsChecked: after.length });

    await ws.client.data(CREATE_ORG, { input: { environmentId: env, name: 'After pruning' } });
    expect((await ws.client.data(VERIFY, { env })).auditChainVerification.valid).toBe(true);
    // Running again prunes nothing more.
    expect((await applyRetention(server.database.db.orm.em)).find((r) => r.chainKey === env)?.eventsPruned).toBe(0);
  });

  it('links the next event to the checkpoint when a whole chain was pruned', async () => {
    const ws = await server.workspace();
    const env = ws.production.id;
    await ws.client.data(CREATE_ORG, { input: { environmentId: env, name: 'Only' } });
    await ws.client.data(RETENTION, { input: { id: env, auditRetentionDays: 1 } });
    await maintenance(`update audit_event set occurred_at = now() - interval '2 days' where chain_key = ?`, [env]);
    await applyRetention(server.database.db.orm.em);
    // Only the pruning's own event remains; prune it too, then write again.
    await maintenance(`update audit_event set occurred_at = now() - interval '2 days' where chain_key = ?`, [env]);
    await applyRetention(server.database.db.orm.em);
    await ws.client.data(CREATE_ORG, { input: { environmentId: env, name: 'Fresh' } });
    expect((await ws.client.data(VERIFY, { env })).auditChainVerification).toMatchObject({ valid: true });
  });
});

describe('pruning a long chain', () => {
  it('prunes in batches and leaves a chain that verifies', async () => {
    const ws = await server.workspace();
    const env = ws.development.id;
    await server.database.db.orm.em.fork().getConnection().execute(
      `insert into audit_event (id, workspace_id, environment_id, action, actor_type, targets, target_ids, occurred_at)
       select 'evt_old' || g, ?, ?, 'organization.updated', 'SYSTEM', '[]'::jsonb, '{}', now() - interval '400 days' from generate_series(1, 12000) g`,
      [ws.workspace.id, env],
    );
    await ws.client.data(CREATE_ORG, { input: { environmentId: env, name: 'Recent' } });
    await ws.client.data(RETENTION, { input: { id: env, auditRetentionDays: 365 } });
    const result = (await applyRetention(server.database.db.orm.em)).find((r) => r.chainKey === env);
    // The chain's prefix goes: the 12000 old events and the environment.created before them.
    expect(result?.eventsPruned).toBe(12001);
    expect((await ws.client.data(VERIFY, { env })).auditChainVerification.valid).toBe(true);
    const remaining = await sequences(ws, env);
    expect(remaining.map((e) => e.action).slice(-3)).toEqual(['organization.created', 'environment.updated', 'audit.pruned']);
  }, 60_000);
});

describe('audit retention and webhooks', () => {
  it('keeps events whose webhook deliveries are still pending', async () => {
    const ws = await server.workspace();
    const env = ws.development.id;
    await ws.client.data('mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { webhookEndpoint { id } } }', {
      input: { environmentId: env, url: 'https://hooks.example.com/pending', eventTypes: ['organization.created'] },
    });
    await ws.client.data(CREATE_ORG, { input: { environmentId: env, name: 'Awaiting delivery' } });
    await ws.client.data(RETENTION, { input: { id: env, auditRetentionDays: 1 } });
    await maintenance(`update audit_event set occurred_at = now() - interval '2 days' where chain_key = ?`, [env]);
    const before = await sequences(ws, env);
    const pendingAt = before.findIndex((e) => e.action === 'organization.created');
    const result = (await applyRetention(server.database.db.orm.em)).find((r) => r.chainKey === env);
    // Everything before the event with a pending delivery goes; it and what follows stay.
    expect(result?.eventsPruned).toBe(pendingAt);
    const after = await sequences(ws, env);
    expect(after[0].sequence).toBe(before[pendingAt].sequence);
    // (The chain is not verified here: backdating every event above altered their content.)
  });
});

describe('NDJSON export', () => {
  let ws: TestWorkspace;
  let env: string;
  beforeAll(async () => {
    ws = await server.workspace();
    env = ws.development.id;
    await ws.client.data(CREATE_ORG, { input: { environmentId: env, name: 'Exported' } });
  });

  const exportUrl = (params: Record<string, string>) => `${server.url}/audit/export?${new URLSearchParams(params)}`;

  it('streams every event of the environment, oldest first, one JSON object per line, and audits the export', async () => {
    // Enough events for several read batches.
    await server.database.db.orm.em.fork().getConnection().execute(
      `insert into audit_event (id, workspace_id, environment_id, action, actor_type, targets, target_ids, occurred_at)
       select 'evt_bulkexport' || g, ?, ?, 'organization.updated', 'SYSTEM', '[]'::jsonb, '{}', now() from generate_series(1, 2500) g`,
      [ws.workspace.id, env],
    );
    const response = await fetch(exportUrl({ environmentId: env }), { headers: { authorization: `Bearer ${ws.ownerKey}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const lines = (await response.text()).trimEnd().split('\n').map((line) => JSON.parse(line));
    expect(lines.length).toBeGreaterThanOrEqual(2501);
    const sequences = lines.map((line) => BigInt(line.sequence));
    expect([...sequences].sort((a, b) => (a < b ? -1 : 1))).toEqual(sequences);
    expect(new Set(sequences).size).toBe(sequences.length);
    expect(lines[0]).toMatchObject({ action: 'environment.created', environmentId: env, hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(JSON.stringify(lines)).not.toContain(ws.ownerKey);
    const exported = await ws.client.data('query($env: ID) { auditEvents(environmentId: $env, filter: { actions: ["audit.exported"] }) { totalCount } }', { env });
    expect(exported.auditEvents.totalCount).toBe(1);
  });

  it('applies filters and time ranges', async () => {
    const response = await fetch(exportUrl({ environmentId: env, actions: 'organization.created' }), {
      headers: { authorization: `Bearer ${ws.ownerKey}` },
    });
    const lines = (await response.text()).trimEnd().split('\n').map((line) => JSON.parse(line));
    expect(lines.map((line) => line.action)).toEqual(['organization.created']);
    const empty = await fetch(exportUrl({ environmentId: env, from: '2000-01-01T00:00:00Z', to: '2000-01-02T00:00:00Z' }), {
      headers: { authorization: `Bearer ${ws.ownerKey}` },
    });
    expect(await empty.text()).toBe('');
  });

  it('answers bad requests with the same error codes as GraphQL and exports nothing', async () => {
    const anonymous = await fetch(exportUrl({ environmentId: env }));
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await anonymous.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED', reason: 'auth.missing_credentials' } });

    const narrow = (await ws.client.data('mutation { createApiKey(input: { name: "n", scopes: ["users:read"] }) { secret } }')).createApiKey.secret;
    const forbidden = await fetch(exportUrl({ environmentId: env }), { headers: { authorization: `Bearer ${narrow}` } });
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toMatchObject({ error: { code: 'FORBIDDEN', reason: 'auth.missing_scope' } });

    const other = await server.workspace();
    const foreign = await fetch(exportUrl({ environmentId: env }), { headers: { authorization: `Bearer ${other.ownerKey}` } });
    expect(foreign.status).toBe(404);
    expect(await foreign.json()).toMatchObject({ error: { code: 'NOT_FOUND', reason: 'environment.not_found' } });

    const badTime = await fetch(exportUrl({ environmentId: env, from: 'yesterday' }), { headers: { authorization: `Bearer ${ws.ownerKey}` } });
    expect(badTime.status).toBe(400);
    expect(await badTime.json()).toMatchObject({ error: { code: 'BAD_USER_INPUT', reason: 'audit.invalid_time' } });
  });
});
