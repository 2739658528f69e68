import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/database.js';
import { migrate } from '../db/database.js';
import { sql } from '../db/sql.js';
import { systemFork } from '../db/tenant-scope.js';
import { actionPatternCondition, checkActionPatterns, compileActionPatterns, isActionPattern, MAX_ACTION_PATTERNS } from './action-pattern.js';
import { AuditEvent } from './audit-event.entity.js';
import { auditEventData } from './audit-recorder.js';
import { AuditEventRepository } from './audit.repository.js';

/**
 * The one table of cases every form of the action pattern must agree on: the JavaScript
 * matcher, the query condition, and the webhook outbox trigger (migrations/sql/audit_event_outbox.sql).
 * [action, patterns, whether the action matches]
 */
const CASES: readonly (readonly [action: string, patterns: readonly string[], matches: boolean])[] = [
  // Exact.
  ['organization.created', ['organization.created'], true],
  ['organization.updated', ['organization.created'], false],
  ['organization.created.x', ['organization.created'], false],
  ['a.b', ['a.b'], true],
  ['a.b.c', ['a.b'], false],
  // Prefix: up to a dot, so a longer family never matches.
  ['organization.created', ['organization.*'], true],
  ['organization.domain_verified', ['organization.*'], true],
  ['organization_domain.created', ['organization.*'], false],
  ['organization', ['organization.*'], false],
  ['organization.', ['organization.*'], true],
  ['user.created', ['user.*'], true],
  ['users.created', ['user.*'], false],
  ['user.created', ['users.*'], false],
  ['User.created', ['user.*'], false],
  ['a.b', ['a.*'], true],
  ['a.b.c.d', ['a.*'], true],
  // Nested prefix.
  ['a.b.c', ['a.b.*'], true],
  ['a.b', ['a.b.*'], false],
  ['a.bc.d', ['a.b.*'], false],
  ['a.x.c', ['a.b.*'], false],
  // `_` is a LIKE wildcard: it must match only itself.
  ['a_b.created', ['a_b.*'], true],
  ['axb.created', ['a_b.*'], false],
  ['axb.created', ['a_b.created'], false],
  ['api_key.created', ['api_key.*'], true],
  ['apixkey.created', ['api_key.*'], false],
  ['user_.y', ['user_.*'], true],
  ['userx.y', ['user_.*'], false],
  // `%` and `\` in an action are plain characters.
  ['user.100%', ['user.*'], true],
  ['user%.created', ['user.*'], false],
  ['user%.y', ['user_.*'], false],
  ['a.b\\c', ['a.*'], true],
  ['a\\b.c', ['a.*'], false],
  // Everything.
  ['organization.created', ['*'], true],
  ['anything_at.all', ['*'], true],
  ['user%.created', ['*'], true],
  ['organization.created', [], true],
  ['users.created', [], true],
  // Lists match when any pattern does.
  ['user.created', ['organization.*', 'user.created'], true],
  ['organization.deleted', ['organization.*', 'user.created'], true],
  ['user.deleted', ['organization.*', 'user.created'], false],
  ['users.created', ['user.*', 'a_b.*'], false],
  ['x.y', ['x.z', '*'], true],
];

const ACTIONS = [...new Set(CASES.map(([action]) => action))];
const LISTS = [...new Map(CASES.map(([, patterns]) => [JSON.stringify(patterns), patterns])).values()];

describe('action patterns', () => {
  it('has only valid patterns in its table', () => {
    for (const patterns of LISTS) expect(() => checkActionPatterns(patterns, ['actions'])).not.toThrow();
  });

  it.each(CASES)('JavaScript: %j against %j is %s', (action, patterns, matches) => {
    expect(compileActionPatterns(patterns)(action)).toBe(matches);
  });

  it.each(['organization.created', 'organization.*', 'organization.domain.*', 'directory.user.created', 'directory.user.*', 'a_b.c', '*', 'user'])('accepts %j', (pattern) => {
    expect(isActionPattern(pattern)).toBe(true);
  });

  it.each(['', 'a.*.b', '*.created', 'a.b.c.d', 'a.b.c.d.*', 'a%', 'a.b%', 'u*', 'user*', 'User.created', 'a b', 'a.', '.a', 'a.b\\c', 'a1.b', '**'])('refuses %j', (pattern) => {
    expect(isActionPattern(pattern)).toBe(false);
    expect(() => checkActionPatterns([pattern], ['input', 'eventTypes'])).toThrow(/is not an action/);
  });

  it(`accepts at most ${MAX_ACTION_PATTERNS} patterns`, () => {
    const many = Array.from({ length: MAX_ACTION_PATTERNS + 1 }, () => 'a.b');
    expect(() => checkActionPatterns(many.slice(1), ['actions'])).not.toThrow();
    expect(() => checkActionPatterns(many, ['actions'])).toThrow(/At most/);
  });

  describe('in the database', () => {
    let database: TestDatabase;
    const workspace = 'wks_action_patterns';
    const environment = 'env_action_patterns';
    /** The webhook endpoint subscribed to each list of patterns. */
    const endpointOf = new Map<string, string>();

    beforeAll(async () => {
      database = await createTestDatabase();
      const { orm } = database.db;
      await migrate(orm);
      const em = systemFork(orm, 'test: action patterns across tenants');
      await sql(em, `insert into "workspace" ("id", "created_at", "updated_at", "name", "slug") values (?, now(), now(), 'Patterns', 'patterns')`, [workspace]);
      await sql(em, `insert into "environment" ("id", "created_at", "updated_at", "workspace_id", "name", "slug", "kind") values (?, now(), now(), ?, 'Patterns', 'patterns', 'DEVELOPMENT')`, [
        environment,
        workspace,
      ]);
      for (const [index, patterns] of LISTS.entries()) {
        const id = `whe_patterns_${index}`;
        endpointOf.set(JSON.stringify(patterns), id);
        await sql(
          em,
          `insert into "webhook_endpoint" ("id", "created_at", "updated_at", "environment_id", "url", "event_types", "secret_sealed", "secret_prefix")
           values (?, now(), now(), ?, 'https://example.com/hook', ?::text[], 'sealed', 'whsec_')`,
          [id, environment, [...patterns]],
        );
      }
      // One event per action: the outbox trigger creates a delivery for each endpoint it matches.
      await new AuditEventRepository(em).append(
        ACTIONS.map((action) =>
          auditEventData(
            { principal: null, meta: { requestId: 'test', ip: null, userAgent: null } },
            { action, workspaceId: workspace, environmentId: environment, targets: [] },
          ),
        ),
      );
    });

    afterAll(async () => {
      await database?.drop();
    });

    it.each(CASES)('query condition: %j against %j is %s', async (action, patterns, matches) => {
      const em = systemFork(database.db.orm, 'test: action patterns');
      const found = await em.find(AuditEvent, { $and: [actionPatternCondition<AuditEvent>(patterns, ['actions']), { environmentId: environment, action }] });
      expect(found.length === 1).toBe(matches);
    });

    it.each(CASES)('outbox trigger: %j against %j is %s', async (action, patterns, matches) => {
      const em = systemFork(database.db.orm, 'test: action patterns');
      const deliveries = await sql(em, `select 1 from "webhook_delivery" where "endpoint_id" = ? and "event_type" = ?`, [endpointOf.get(JSON.stringify(patterns)), action]);
      expect(deliveries.length === 1).toBe(matches);
    });

    it('agrees with the JavaScript matcher on every action for every list', async () => {
      const em = systemFork(database.db.orm, 'test: action patterns');
      for (const patterns of LISTS) {
        const matches = compileActionPatterns(patterns);
        const expected = ACTIONS.filter((action) => matches(action)).sort();
        const queried = (await em.find(AuditEvent, { $and: [actionPatternCondition<AuditEvent>(patterns, ['actions']), { environmentId: environment }] })).map((event) => event.action);
        const delivered = (
          await sql<{ event_type: string }>(em, `select "event_type" from "webhook_delivery" where "endpoint_id" = ?`, [endpointOf.get(JSON.stringify(patterns))])
        ).map((row) => row.event_type);
        expect({ patterns, actions: queried.sort() }).toEqual({ patterns, actions: expected });
        expect({ patterns, actions: delivered.sort() }).toEqual({ patterns, actions: expected });
      }
    });
  });
});
