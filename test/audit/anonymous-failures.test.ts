import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, postForm } from '../helpers/oauth.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

/** Anonymous failures audited one by one per environment per minute, in this test. */
const BUDGET = 3;

let server: TestServer;
let ws: TestWorkspace;

beforeAll(async () => {
  // Behind a trusted proxy, so that each request can come from an address of its own.
  server = await startServer({ trustProxy: true, anonymousFailureAuditsPerMinute: BUDGET });
  ws = await server.workspace();
});
afterAll(() => server.close());

/** A failed client authentication at an environment's token endpoint from its own address. */
function failAt(environmentId: string, index: number) {
  return postForm(
    `${server.url}/e/${environmentId}/oauth/token`,
    { grant_type: 'client_credentials' },
    { authorization: basic(`app_${String(index).padStart(26, '0')}`, 'not-the-secret'), 'x-forwarded-for': `203.0.113.${index}` },
  );
}

const rows = (environmentId: string, action: string) =>
  server.database.db.orm.em
    .fork()
    .getConnection()
    .execute<{ actor_type: string; after: Record<string, any> }[]>('select "actor_type", "after" from "audit_event" where "chain_key" = ? and "action" = ? order by "seq"', [
      environmentId,
      action,
    ]);

describe('anonymous failed authentications, per environment', () => {
  it('audits a bounded number per environment from any number of addresses, refuses them all, and summarises the rest', async () => {
    const flood = await Promise.all(Array.from({ length: 8 }, (_, index) => failAt(ws.development.id, index + 1)));
    // Every one is refused alike: the budget only decides what is written.
    expect(flood.map((response) => [response.status, response.body.error])).toEqual(Array(8).fill([401, 'invalid_client']));
    expect(await rows(ws.development.id, 'oauth.client_authentication_failed')).toHaveLength(BUDGET);

    // Another environment has a budget of its own.
    expect((await failAt(ws.production.id, 100)).status).toBe(401);
    expect(await rows(ws.production.id, 'oauth.client_authentication_failed')).toHaveLength(1);

    // The window's summary is written when it ends, or when the server stops.
    expect(await rows(ws.development.id, 'audit.failures_suppressed')).toEqual([]);
    await server.app.close();
    const [summary, ...more] = await rows(ws.development.id, 'audit.failures_suppressed');
    expect(more).toEqual([]);
    expect(summary).toMatchObject({
      actor_type: 'SYSTEM',
      after: { suppressed: { 'oauth.client_authentication_failed': 8 - BUDGET }, audited: BUDGET, perWindow: BUDGET },
    });
    expect(Date.parse(summary.after.windowEnd)).toBeGreaterThanOrEqual(Date.parse(summary.after.windowStart));
    // Nothing was left out in the other environment: no summary there.
    expect(await rows(ws.production.id, 'audit.failures_suppressed')).toEqual([]);
  });
});
