import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { migrate } from '../../src/db/database.js';
import { createLogger } from '../../src/logger.js';
import { bootstrapWorkspace } from '../../src/modules/workspace/workspace.service.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { graphqlClient, type GraphQLClient } from '../helpers/graphql.js';
import { systemFork } from '../../src/db/tenant-scope.js';

/**
 * What clients and the log get to see when a request goes wrong: the real HTTP server, with the
 * server's own logger (createLogger) writing into a buffer instead of stdout.
 */
let database: TestDatabase;
let app: FastifyInstance;
let url: string;
let client: GraphQLClient;
let environmentId: string;
const lines: string[] = [];
const log = () => lines.join('');
const logEntries = () => lines.flatMap((chunk) => chunk.split('\n')).filter(Boolean).map((line) => JSON.parse(line) as Record<string, any>);

beforeAll(async () => {
  database = await createTestDatabase();
  await migrate(database.db.orm);
  const config = { ...loadConfig({}), logLevel: 'info', port: 0, host: '127.0.0.1' };
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  app = await createApp({ config, orm: database.db.orm, logger: createLogger(config, sink), listen: database.db.listen, masterKey: randomBytes(32) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  config.publicUrl = url;
  const boot = await bootstrapWorkspace(systemFork(database.db.orm, 'test: bootstrap'), { name: 'Errors', slug: 'errors' }, { requestId: 'test', ip: null, userAgent: 'vitest' });
  environmentId = boot.environments[0].id;
  client = graphqlClient(`${url}/graphql`, boot.ownerKey);
});
afterAll(async () => {
  await app?.close();
  await database?.drop();
});

/** Runs DDL on the test's database: constraints the application does not know of, so its writes fail in the database. */
const ddl = (sql: string) => database.db.orm.em.fork().getConnection().execute(sql);

describe('database errors in the log', () => {
  it('logs a unique violation with its code, constraint and table, never the statement or its values', async () => {
    // Registration writes outside the mapped service path: a violation there reaches the log.
    await ddl('create unique index "test_oauth_client_name_unique" on "oauth_client" ("environment_id", "name")');
    await client.data('mutation($input: UpdateClientRegistrationPolicyInput!) { updateClientRegistrationPolicy(input: $input) { userErrors { code } } }', {
      input: { environmentId, policy: 'OPEN' },
    });
    const register = () =>
      fetch(`${url}/e/${environmentId}/oauth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ client_name: 'Jane Doe Personal Client', grant_types: ['client_credentials'], contacts: ['jane.doe@example.com'] }),
      });
    expect((await register()).status).toBe(201);
    lines.length = 0;
    const failed = await register();
    expect(failed.status).toBe(500);
    expect(((await failed.json()) as { error: string }).error).toBe('server_error');

    const entry = logEntries().find((line) => line.msg === 'oauth endpoint failed');
    expect(entry, log()).toBeDefined();
    expect(entry!.err).toMatchObject({ type: 'UniqueConstraintViolationException', code: '23505', constraint: 'test_oauth_client_name_unique', table: 'oauth_client' });
    expect(log()).not.toMatch(/Jane Doe|jane\.doe|insert into|values \(|Key \(/i);
    // Neither the registration token's hash nor any other 256-bit hex value.
    expect(log()).not.toMatch(/[0-9a-f]{64}/);
  });

  it('logs a failed GraphQL write without the user data it carried', async () => {
    await ddl(`alter table "app_user" add constraint "test_no_blocked_email" check ("email" not like '%blocked%')`);
    lines.length = 0;
    const result = await client.request(
      'mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } userErrors { code } } }',
      { input: { environmentId, email: 'jane.blocked@example.com', givenName: 'Janet', familyName: 'Blocksworth' } },
    );
    expect(result.errors?.[0].extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    const entry = logEntries().find((line) => line.msg === 'unexpected error in a GraphQL operation');
    expect(entry, log()).toBeDefined();
    expect(entry!.err).toMatchObject({ code: '23514', constraint: 'test_no_blocked_email', table: 'app_user' });
    expect(log()).not.toMatch(/blocked@|Janet|Blocksworth|insert into/i);
  });
});

describe('malformed request bodies', () => {
  const post = (path: string, body: string, contentType = 'application/json') =>
    fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': contentType, authorization: 'Bearer gh_live_whatever' }, body });

  it('answers malformed JSON on /graphql with a GraphQL error response and 400, without quoting the body', async () => {
    const response = await post('/graphql', '{"query": "{ viewer { scopes } }", "variables": {"secret": "hunter2"');
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await response.json()) as { errors: { message: string; extensions: Record<string, unknown> }[] };
    expect(body).toEqual({ errors: [{ message: 'The request body is not valid JSON', extensions: { code: 'BAD_REQUEST', requestId: response.headers.get('x-request-id') } }] });
    expect(JSON.stringify(body)).not.toContain('hunter2');
  });

  it('answers an empty JSON body and an unsupported content type on /graphql in the same shape', async () => {
    const empty = await post('/graphql', '');
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as any).errors[0].extensions.code).toBe('BAD_REQUEST');
    const xml = await post('/graphql', '<query/>', 'application/xml');
    expect(xml.status).toBe(415);
    expect(((await xml.json()) as any).errors[0]).toMatchObject({ message: 'Unsupported content type; send application/json', extensions: { code: 'BAD_REQUEST' } });
  });

  it('answers malformed JSON at OAuth registration with an RFC 7591 error', async () => {
    const response = await post(`/e/${environmentId}/oauth/register`, '{"client_name":');
    expect(response.status).toBe(400);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ error: 'invalid_client_metadata', request_id: expect.stringMatching(/^req_/) });
    expect(Object.keys(body).sort()).toEqual(['error', 'error_description', 'request_id']);
  });
});

describe('node(id:)', () => {
  it('does not echo an arbitrarily long invalid id', async () => {
    const id = `org_${'A'.repeat(100_000)}`;
    const result = await client.request('query($id: ID!) { node(id: $id) { id } }', { id });
    expect(result.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'node.invalid_id' });
    expect(result.errors![0].message.length).toBeLessThan(100);
    expect(JSON.stringify(result).length).toBeLessThan(2000);
  });
});
