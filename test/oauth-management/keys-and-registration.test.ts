import 'reflect-metadata';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Environment } from '../../src/modules/environment/environment.entity.js';
import { SigningKey } from '../../src/modules/signing-key/signing-key.entity.js';
import { oneError } from '../helpers/graphql.js';
import { systemFork } from '../../src/db/tenant-scope.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

const USER_ERRORS = 'userErrors { field code message }';
const KEY_FIELDS = 'id environmentId kid algorithm state publicJwk activatesAt supersededAt unpublishAt revokedAt createdAt';
const SIGNING_KEYS = `query($env: ID) { signingKeys(environmentId: $env) { ${KEY_FIELDS} } }`;
const ROTATE = `mutation($input: RotateSigningKeyInput!) { rotateSigningKey(input: $input) { signingKey { ${KEY_FIELDS} } ${USER_ERRORS} } }`;
const REVOKE = `mutation($id: ID!) { revokeSigningKey(input: { id: $id }) { signingKey { ${KEY_FIELDS} } ${USER_ERRORS} } }`;
const ENVIRONMENT = `query($id: ID!) { environment(id: $id) { id issuer clientRegistrationPolicy registrationScopes } }`;
const UPDATE_POLICY = `mutation($input: UpdateClientRegistrationPolicyInput!) {
  updateClientRegistrationPolicy(input: $input) { initialAccessToken environment { id issuer clientRegistrationPolicy registrationScopes } ${USER_ERRORS} }
}`;
const AUDIT = `query($env: ID, $actions: [String!]) {
  auditEvents(environmentId: $env, first: 100, filter: { actions: $actions }) { nodes { action targets { type id name } before after } }
}`;
const DAY_MS = 86_400_000;

let server: TestServer;
let ws: TestWorkspace;
let dev: string;
let prod: string;

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

async function rotate(input: Record<string, unknown>, env = dev) {
  return (await ws.client.data(ROTATE, { input: { environmentId: env, ...input } })).rotateSigningKey;
}

async function keys(env = dev) {
  return (await ws.client.data(SIGNING_KEYS, { env })).signingKeys as any[];
}

async function updatePolicy(input: Record<string, unknown>, client = ws.client) {
  return (await client.data(UPDATE_POLICY, { input })).updateClientRegistrationPolicy;
}

beforeAll(async () => {
  server = await startServer();
  ws = await server.workspace('Keys');
  dev = ws.development.id;
  prod = ws.production.id;
});
afterAll(() => server.close());

describe('signing keys', () => {
  it('rotate: a published NEXT key, then revocations that hand signing on', async () => {
    expect(await keys()).toEqual([]);

    const first = await rotate({ activateAfterSeconds: 0 });
    expect(first.userErrors).toEqual([]);
    const k1 = first.signingKey;
    expect(k1).toMatchObject({ environmentId: dev, algorithm: 'ES256', state: 'ACTIVE', supersededAt: null, unpublishAt: null, revokedAt: null });
    expect(k1.id).toMatch(/^sgk_/);
    expect(k1.publicJwk).toMatchObject({ kty: 'EC', crv: 'P-256', kid: k1.kid, alg: 'ES256', use: 'sig' });
    expect(k1.publicJwk).not.toHaveProperty('d');

    const second = await rotate({ algorithm: 'EdDSA', activateAfterSeconds: 3600 });
    expect(second.userErrors).toEqual([]);
    const k2 = second.signingKey;
    expect(k2).toMatchObject({ algorithm: 'EdDSA', state: 'NEXT', publicJwk: { kty: 'OKP', crv: 'Ed25519' } });
    expect(new Date(k2.activatesAt).getTime()).toBeGreaterThan(Date.now() + 3500_000);

    let list = await keys();
    expect(list.map((key) => [key.id, key.state])).toEqual([
      [k2.id, 'NEXT'],
      [k1.id, 'ACTIVE'],
    ]);
    // The signer retires when the next key activates, and stays published a day longer.
    expect(list[1].supersededAt).toBe(k2.activatesAt);
    expect(new Date(list[1].unpublishAt).getTime()).toBe(new Date(k2.activatesAt).getTime() + DAY_MS);

    expect(await rotate({})).toEqual({ signingKey: null, userErrors: oneError('signing_key.rotation_pending', ['input', 'environmentId']) });

    // Withdrawing the waiting key: the signer signs on, no longer superseded.
    const withdrawn = (await ws.client.data(REVOKE, { id: k2.id })).revokeSigningKey;
    expect(withdrawn).toMatchObject({ signingKey: { id: k2.id, state: 'REVOKED', revokedAt: expect.any(String), unpublishAt: expect.any(String) }, userErrors: [] });
    list = await keys();
    expect(list.map((key) => [key.id, key.state])).toEqual([
      [k2.id, 'REVOKED'],
      [k1.id, 'ACTIVE'],
    ]);
    expect(list[1].supersededAt).toBeNull();

    // Revoking the signer: a successor of the same algorithm signs at once.
    const revoked = (await ws.client.data(REVOKE, { id: k1.id })).revokeSigningKey;
    expect(revoked).toMatchObject({ signingKey: { id: k1.id, state: 'REVOKED' }, userErrors: [] });
    list = await keys();
    expect(list).toHaveLength(3);
    const successor = list.find((key) => key.id !== k1.id && key.id !== k2.id);
    expect(successor).toMatchObject({ algorithm: 'ES256', state: 'ACTIVE' });

    expect((await ws.client.data(REVOKE, { id: k1.id })).revokeSigningKey).toEqual({
      signingKey: null,
      userErrors: oneError('signing_key.already_revoked', ['input', 'id']),
    });

    const node = await ws.client.data(`query($id: ID!) { node(id: $id) { __typename id ... on SigningKey { kid state } } }`, { id: successor.id });
    expect(node.node).toEqual({ __typename: 'SigningKey', id: successor.id, kid: successor.kid, state: 'ACTIVE' });
  });

  it('rotate in RS256, into an environment without keys, and refuse a bad delay', async () => {
    const rsa = await rotate({ algorithm: 'RS256' }, prod);
    expect(rsa.userErrors).toEqual([]);
    // No key signs yet in this environment: the rotated key waits the default delay.
    expect(rsa.signingKey).toMatchObject({ algorithm: 'RS256', state: 'NEXT', publicJwk: { kty: 'RSA', alg: 'RS256' } });
    expect(new Date(rsa.signingKey.activatesAt).getTime()).toBeGreaterThan(Date.now() + 800_000);
    expect(await rotate({ activateAfterSeconds: -1 }, prod)).toEqual({
      signingKey: null,
      userErrors: oneError('signing_key.activation_delay', ['input', 'activateAfterSeconds']),
    });
  });

  it('are audited without private material', async () => {
    const events = (await ws.client.data(AUDIT, { env: dev, actions: ['signing_key.rotated', 'signing_key.revoked'] })).auditEvents.nodes;
    expect(events.map((e: any) => e.action).sort()).toEqual(['signing_key.revoked', 'signing_key.revoked', 'signing_key.rotated', 'signing_key.rotated']);
    const stored = await systemFork(server.database.db.orm, 'test: reads stored rows directly').find(SigningKey, { environmentId: dev });
    const text = JSON.stringify(events);
    for (const key of stored) expect(text).not.toContain(key.privateSealed);
    expect(text).not.toContain('"d"');
  });
});

describe('client registration policy', () => {
  it('defaults to OFF; the environment shows its issuer', async () => {
    const env = (await ws.client.data(ENVIRONMENT, { id: dev })).environment;
    expect(env).toEqual({ id: dev, issuer: `${server.config.publicUrl}/e/${dev}`, clientRegistrationPolicy: 'OFF', registrationScopes: [] });
  });

  it('issues an initial access token once, stored as SHA-256, replaced by the next one, discarded when leaving the policy', async () => {
    expect(await updatePolicy({ environmentId: dev, policy: 'INITIAL_ACCESS_TOKEN' })).toEqual({
      initialAccessToken: null,
      environment: null,
      userErrors: oneError('client_registration.token_required', ['input', 'issueInitialAccessToken']),
    });

    const first = await updatePolicy({ environmentId: dev, policy: 'INITIAL_ACCESS_TOKEN', issueInitialAccessToken: true, registrationScopes: ['b:read', 'a:read', 'a:read'] });
    expect(first.userErrors).toEqual([]);
    expect(first.initialAccessToken).toMatch(/^ghiat_[A-Za-z0-9_-]{43}$/);
    expect(first.environment).toEqual({
      id: dev,
      issuer: `${server.config.publicUrl}/e/${dev}`,
      clientRegistrationPolicy: 'INITIAL_ACCESS_TOKEN',
      registrationScopes: ['a:read', 'b:read'],
    });
    const stored = async () => (await systemFork(server.database.db.orm, 'test: reads stored rows directly').findOneOrFail(Environment, { id: dev })).initialAccessTokenHash;
    expect(await stored()).toBe(sha256(first.initialAccessToken));

    // Changing the scopes keeps the token, and shows none.
    const scopesOnly = await updatePolicy({ environmentId: dev, registrationScopes: [] });
    expect(scopesOnly).toMatchObject({ initialAccessToken: null, environment: { clientRegistrationPolicy: 'INITIAL_ACCESS_TOKEN', registrationScopes: [] }, userErrors: [] });
    expect(await stored()).toBe(sha256(first.initialAccessToken));

    const second = await updatePolicy({ environmentId: dev, issueInitialAccessToken: true });
    expect(second.initialAccessToken).toMatch(/^ghiat_/);
    expect(second.initialAccessToken).not.toBe(first.initialAccessToken);
    expect(await stored()).toBe(sha256(second.initialAccessToken));

    expect(await updatePolicy({ environmentId: dev, policy: 'OPEN', issueInitialAccessToken: true })).toMatchObject({
      environment: null,
      userErrors: oneError('client_registration.token_unused', ['input', 'issueInitialAccessToken']),
    });
    const open = await updatePolicy({ environmentId: dev, policy: 'OPEN' });
    expect(open).toMatchObject({ initialAccessToken: null, environment: { clientRegistrationPolicy: 'OPEN' }, userErrors: [] });
    expect(await stored()).toBeNull();

    expect(await updatePolicy({ environmentId: dev, registrationScopes: ['has space'] })).toMatchObject({
      environment: null,
      userErrors: oneError('oauth.invalid_scope', ['input', 'registrationScopes']),
    });

    const events = (await ws.client.data(AUDIT, { env: dev, actions: ['environment.client_registration_updated'] })).auditEvents.nodes.reverse();
    expect(events.map((e: any) => [e.before.policy, e.after.policy, e.after.initialAccess])).toEqual([
      ['OFF', 'INITIAL_ACCESS_TOKEN', 'issued'],
      ['INITIAL_ACCESS_TOKEN', 'INITIAL_ACCESS_TOKEN', 'set'],
      ['INITIAL_ACCESS_TOKEN', 'INITIAL_ACCESS_TOKEN', 'issued'],
      ['INITIAL_ACCESS_TOKEN', 'OPEN', 'none'],
    ]);
    expect(events[0].after.registrationScopes).toEqual(['a:read', 'b:read']);
    const text = JSON.stringify(events);
    for (const token of [first.initialAccessToken, second.initialAccessToken]) {
      expect(text).not.toContain(token);
      expect(text).not.toContain(sha256(token));
    }
    expect(text).not.toContain('[REDACTED]');
  });

  it('is set by a key pinned to the environment, for its own environment', async () => {
    const created = await ws.client.data(
      `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret userErrors { code } } }`,
      { input: { name: 'pinned oauth', environmentId: prod, scopes: ['oauth:write', 'environments:read'] } },
    );
    const pinned = ws.client.withKey(created.createApiKey.secret);
    const result = await updatePolicy({ policy: 'OPEN', registrationScopes: ['x'] }, pinned);
    expect(result).toMatchObject({ environment: { id: prod, clientRegistrationPolicy: 'OPEN', registrationScopes: ['x'] }, userErrors: [] });
    const other = await pinned.request(UPDATE_POLICY, { input: { environmentId: dev, policy: 'OFF' } });
    expect(other.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', reason: 'environment.not_found' });
  });
});
