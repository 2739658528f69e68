import { afterAll, beforeAll, expect, it } from 'vitest';
import { pruneTokenState } from '../../src/http/oauth/housekeeping.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server?.close());

it('forgets revoked token ids and used assertion ids only once they have expired', async () => {
  const connection = server.database.db.orm.em.getConnection();
  const past = new Date(Date.now() - 60_000);
  const future = new Date(Date.now() + 60_000);
  await connection.execute(`insert into revoked_token (jti, environment_id, expires_at) values ('old', 'env', ?), ('live', 'env', ?)`, [past, future]);
  await connection.execute(`insert into used_assertion (client_id, jti, expires_at) values ('c', 'old', ?), ('c', 'live', ?)`, [past, future]);
  expect(await pruneTokenState(server.database.db.orm.em.fork())).toBe(2);
  expect(await connection.execute(`select jti from revoked_token`)).toEqual([{ jti: 'live' }]);
  expect(await connection.execute(`select jti from used_assertion`)).toEqual([{ jti: 'live' }]);
  expect(await pruneTokenState(server.database.db.orm.em.fork())).toBe(0);
});
