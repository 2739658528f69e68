import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '../../src/crypto/at-rest.js';
import { systemFork } from '../../src/db/tenant-scope.js';
import { ensureSigningKeys } from '../../src/modules/signing-key/signing-key.service.js';
import { bootstrapWorkspace } from '../../src/modules/workspace/workspace.service.js';
import { graphqlClient } from '../helpers/graphql.js';
import { startServer, TEST_MASTER_KEY, type TestServer, type TestWorkspace } from '../helpers/server.js';

const SIGNING_KEYS = `query($env: ID) { signingKeys(environmentId: $env) { id kid algorithm state } }`;

let server: TestServer;
let ws: TestWorkspace;

beforeAll(async () => {
  server = await startServer();
  ws = await server.workspace('First keys');
});
afterAll(() => server.close());

const keysOf = async (env: string, client = ws.client) => (await client.data(SIGNING_KEYS, { env })).signingKeys as { id: string; kid: string; algorithm: string; state: string }[];
const publishedKids = async (env: string) =>
  ((await (await fetch(`${server.config.publicUrl}/e/${env}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }).keys.map((key) => key.kid);

describe('the first signing key comes with the environment', () => {
  it('an environment created through the API has an active ES256 key at once, which its issuer publishes', async () => {
    const created = await ws.client.data(`mutation { createEnvironment(input: { name: "Staging", slug: "staging", kind: DEVELOPMENT }) { environment { id } userErrors { code } } }`);
    expect(created.createEnvironment.userErrors).toEqual([]);
    const env = created.createEnvironment.environment.id as string;
    const keys = await keysOf(env);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ algorithm: 'ES256', state: 'ACTIVE' });
    expect(await publishedKids(env)).toEqual([keys[0].kid]);
    // Reading the issuer made no other key.
    expect(await keysOf(env)).toEqual(keys);
  });

  it('a workspace bootstrapped with the master key has a key in each environment', async () => {
    const boot = await bootstrapWorkspace(
      systemFork(server.database.db.orm, 'test: bootstrap as the operator CLI does with the master key'),
      { name: 'Keyed', slug: `keyed-${process.pid}-${Date.now()}` },
      { requestId: 'test', ip: null, userAgent: 'vitest' },
      new SecretBox(TEST_MASTER_KEY),
    );
    const client = graphqlClient(server.graphqlUrl, boot.ownerKey);
    for (const environment of boot.environments) {
      expect((await keysOf(environment.id, client)).map((key) => key.state)).toEqual(['ACTIVE']);
    }
  });

  it('ensureSigningKeys gives every environment without a signer one, once', async () => {
    const bare = await server.workspace('Without keys');
    expect(await keysOf(bare.development.id, bare.client)).toEqual([]);
    const box = new SecretBox(TEST_MASTER_KEY);
    const keyed = await ensureSigningKeys(server.database.db.orm, box);
    expect(keyed).toEqual(expect.arrayContaining([bare.development.id, bare.production.id]));
    for (const env of [bare.development.id, bare.production.id]) {
      expect((await keysOf(env, bare.client)).map((key) => [key.algorithm, key.state])).toEqual([['ES256', 'ACTIVE']]);
    }
    expect(await ensureSigningKeys(server.database.db.orm, box)).toEqual([]);
  });
});
