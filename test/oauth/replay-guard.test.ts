import { afterAll, beforeAll, expect, it } from 'vitest';
import { ReplayGuard } from '../../src/http/oauth/replay-guard.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { migrate } from '../../src/db/database.js';

let database: TestDatabase;
let guard: ReplayGuard;
beforeAll(async () => {
  database = await createTestDatabase();
  await migrate(database.db.orm);
  guard = new ReplayGuard(database.db.orm);
});
afterAll(async () => {
  await guard.close();
  await database.drop();
});

it('lets exactly one of many concurrent uses of an assertion id through, batch or no batch', async () => {
  const expiresAt = new Date(Date.now() + 60_000);
  const same = Array.from({ length: 30 }, () => guard.claim('sva_x', 'jti-same', expiresAt));
  const distinct = Array.from({ length: 30 }, (_, i) => guard.claim('sva_x', `jti-${i}`, expiresAt));
  const otherClient = guard.claim('sva_y', 'jti-same', expiresAt);
  expect((await Promise.all(same)).filter(Boolean)).toHaveLength(1);
  expect((await Promise.all(distinct)).every(Boolean)).toBe(true);
  expect(await otherClient).toBe(true);
  // Later, in another batch: still a replay.
  expect(await guard.claim('sva_x', 'jti-3', expiresAt)).toBe(false);
});
