import type { EntityManager } from '@mikro-orm/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/db/id.js';
import { scopedFork, systemFork, tenantScope } from '../../src/db/tenant-scope.js';
import { Consent } from '../../src/modules/consent/consent.entity.js';
import { ConsentRepository } from '../../src/modules/consent/consent.repository.js';
import { UserSession } from '../../src/modules/session/session.entity.js';
import { noteApplication, startSession } from '../../src/modules/session/session.service.js';
import { RevokedToken } from '../../src/modules/token-state/token-state.entity.js';
import { RefreshToken } from '../../src/modules/user-token/user-token.entity.js';
import { issueRefreshToken, recordAccessToken } from '../../src/modules/user-token/user-token.service.js';
import { oneError } from '../helpers/graphql.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

const USER_ERRORS = 'userErrors { field code message }';
const SESSION_FIELDS = `id environmentId ipAddress userAgent createdAt lastSeenAt expiresAt authenticatedAt authenticationMethods
  applicationIds organizationIds active endedAt endReason user { id email }`;
const SESSIONS = `query($env: ID, $filter: SessionFilterInput, $first: Int, $after: String) {
  sessions(environmentId: $env, filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { ${SESSION_FIELDS} }
  }
}`;
const NODE = `query($id: ID!) { node(id: $id) { __typename id ... on Session { ${SESSION_FIELDS} } ... on Consent { environmentId applicationId scopes resources createdAt updatedAt user { id email } } } }`;
const REVOKE_SESSION = `mutation($id: ID!) { revokeSession(input: { id: $id }) { session { ${SESSION_FIELDS} } ${USER_ERRORS} } }`;
const REVOKE_USER_SESSIONS = `mutation($userId: ID!) { revokeUserSessions(input: { userId: $userId }) { user { id } revokedSessionIds ${USER_ERRORS} } }`;
const CONSENTS = `query($env: ID, $filter: ConsentFilterInput) {
  consents(environmentId: $env, filter: $filter, first: 50) { totalCount nodes { id applicationId scopes resources user { id } } }
}`;
const REVOKE_CONSENT = `mutation($id: ID!) { revokeConsent(input: { id: $id }) { deletedId ${USER_ERRORS} } }`;
const AUDIT = `query($env: ID, $actions: [String!], $target: ID) {
  auditEvents(environmentId: $env, first: 50, filter: { actions: $actions, targetId: $target }) { nodes { action actor { type } targets { type id } before after } }
}`;

const POLICY = { idleTtl: 3600, absoluteTtl: 86_400 };

let server: TestServer;
let ws: TestWorkspace;
let other: TestWorkspace;
let env: string;
let appId: string;
let secondAppId: string;

const fork = (): EntityManager => scopedFork(server.database.db.orm, tenantScope(ws.workspace.id, [env]));

async function createUser(email: string): Promise<string> {
  const data = await ws.client.data(`mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } ${USER_ERRORS} } }`, {
    input: { environmentId: env, email },
  });
  expect(data.createUser.userErrors).toEqual([]);
  return data.createUser.user.id;
}

async function createOrganization(name: string): Promise<string> {
  const data = await ws.client.data(`mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } ${USER_ERRORS} } }`, {
    input: { environmentId: env, name },
  });
  return data.createOrganization.organization.id;
}

async function createMembership(organizationId: string, userId: string): Promise<string> {
  const data = await ws.client.data(`mutation($input: CreateMembershipInput!) { createMembership(input: $input) { membership { id } ${USER_ERRORS} } }`, {
    input: { organizationId, userId },
  });
  expect(data.createMembership.userErrors).toEqual([]);
  return data.createMembership.membership.id;
}

async function createApplication(name: string): Promise<string> {
  const data = await ws.client.data(`mutation($input: CreateApplicationInput!) { createApplication(input: $input) { application { id } ${USER_ERRORS} } }`, {
    input: { environmentId: env, name, type: 'WEB', firstParty: false, redirectUris: ['https://partner.example/callback'] },
  });
  expect(data.createApplication.userErrors).toEqual([]);
  return data.createApplication.application.id;
}

interface SignedIn {
  sessionId: string;
  /** A refresh token born in the session, and the access token last issued with it. */
  refreshTokenId: string;
  jti: string;
}

/**
 * Signs a user in as the hosted pages would: a session, an application noted in it (as a member
 * of an organization or not), and a refresh token with its access token issued through it.
 */
async function signIn(userId: string, options: { organizationId?: string; clientId?: string; startedAt?: Date } = {}): Promise<SignedIn> {
  const em = fork();
  const now = options.startedAt ?? new Date();
  const { session } = startSession(em, { environmentId: env, userId, amr: ['otp'], ip: '203.0.113.7', userAgent: 'Mozilla/5.0 (Test)' }, POLICY, now);
  const clientId = options.clientId ?? appId;
  noteApplication(session, clientId, options.organizationId ?? null);
  const tokens = issueToken(em, userId, { sessionId: session.id, clientId, organizationId: options.organizationId ?? null });
  await em.flush();
  return { sessionId: session.id, ...tokens };
}

/** A refresh token (and access token) of the user, in a session or not. */
function issueToken(em: EntityManager, userId: string, options: { sessionId: string | null; clientId: string; organizationId: string | null }) {
  const { record } = issueRefreshToken(em, {
    environmentId: env,
    clientId: options.clientId,
    userId,
    sessionId: options.sessionId,
    codeId: null,
    idleTtl: 3600,
    absoluteTtl: 86_400,
    scopes: ['openid', 'offline_access'],
    resource: null,
    organizationId: options.organizationId,
    authTime: new Date(),
    amr: ['otp'],
  });
  const jti = `jti-${newId('session').slice(4)}`;
  recordAccessToken(record, jti, new Date(Date.now() + 600_000));
  return { refreshTokenId: record.id, jti };
}

async function standaloneToken(userId: string, options: { clientId?: string; organizationId?: string | null } = {}) {
  const em = fork();
  const token = issueToken(em, userId, { sessionId: null, clientId: options.clientId ?? appId, organizationId: options.organizationId ?? null });
  await em.flush();
  return token;
}

/** Whether a refresh token is revoked and whether its access token is on the revocation list. */
async function tokenState(token: { refreshTokenId: string; jti: string }) {
  const em = systemFork(server.database.db.orm, 'test: reads token state');
  const refresh = await em.findOne(RefreshToken, { id: token.refreshTokenId });
  const revoked = await em.findOne(RevokedToken, { jti: token.jti });
  return { refreshRevoked: refresh ? refresh.revokedAt !== null : 'deleted', accessRevoked: revoked !== null };
}

const LIVE = { refreshRevoked: false, accessRevoked: false };
const REVOKED = { refreshRevoked: true, accessRevoked: true };

async function session(id: string) {
  return (await ws.client.data(NODE, { id })).node;
}

async function auditOf(action: string, target: string) {
  return (await ws.client.data(AUDIT, { env, actions: [action], target })).auditEvents.nodes;
}

beforeAll(async () => {
  server = await startServer();
  ws = await server.workspace('Sessions');
  other = await server.workspace('Intruder');
  env = ws.development.id;
  appId = await createApplication('Partner app');
  secondAppId = await createApplication('Second partner app');
});

afterAll(() => server.close());

describe('sessions', () => {
  let ann: string;
  let bob: string;
  let org: string;
  let withOrg: SignedIn;
  let plain: SignedIn;
  let bobs: SignedIn;
  let expired: SignedIn;

  beforeAll(async () => {
    ann = await createUser('ann@sessions.example');
    bob = await createUser('bob@sessions.example');
    org = await createOrganization('Session Corp');
    await createMembership(org, ann);
    withOrg = await signIn(ann, { organizationId: org });
    plain = await signIn(ann);
    bobs = await signIn(bob);
    // Started three hours ago with a one-hour idle lifetime: expired, never ended.
    expired = await signIn(ann, { startedAt: new Date(Date.now() - 3 * 3600_000) });
  });

  it('lists live sessions newest first, with every field, and pages them', async () => {
    const all = (await ws.client.data(SESSIONS, { env })).sessions;
    expect(all.totalCount).toBe(3);
    expect(all.nodes.map((s: any) => s.id).sort()).toEqual([withOrg.sessionId, plain.sessionId, bobs.sessionId].sort());
    const created = all.nodes.map((s: any) => Date.parse(s.createdAt));
    expect(created).toEqual([...created].sort((a, b) => b - a));

    const first = all.nodes.find((s: any) => s.id === withOrg.sessionId);
    expect(first).toMatchObject({
      environmentId: env,
      ipAddress: '203.0.113.7',
      userAgent: 'Mozilla/5.0 (Test)',
      authenticationMethods: ['otp'],
      applicationIds: [appId],
      organizationIds: [org],
      active: true,
      endedAt: null,
      endReason: null,
      user: { id: ann, email: 'ann@sessions.example' },
    });
    expect(first.id).toMatch(/^ses_/);
    // The idle deadline, an hour after it started (never past the absolute one).
    expect(Date.parse(first.expiresAt) - Date.parse(first.authenticatedAt)).toBe(POLICY.idleTtl * 1000);
    expect(first.lastSeenAt).toBe(first.authenticatedAt);

    const page1 = (await ws.client.data(SESSIONS, { env, first: 2 })).sessions;
    expect(page1.nodes).toHaveLength(2);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const page2 = (await ws.client.data(SESSIONS, { env, first: 2, after: page1.pageInfo.endCursor })).sessions;
    expect(page2.nodes).toHaveLength(1);
    expect(page2.pageInfo.hasNextPage).toBe(false);
    expect([...page1.nodes, ...page2.nodes].map((s: any) => s.id)).toEqual(all.nodes.map((s: any) => s.id));
  });

  it('filters by user and organization, and lists ended and expired ones when asked', async () => {
    const ofAnn = (await ws.client.data(SESSIONS, { env, filter: { userId: ann } })).sessions;
    expect(ofAnn.totalCount).toBe(2);
    expect(ofAnn.nodes.map((s: any) => s.id).sort()).toEqual([withOrg.sessionId, plain.sessionId].sort());

    const ofOrg = (await ws.client.data(SESSIONS, { env, filter: { organizationId: org } })).sessions;
    expect(ofOrg.totalCount).toBe(1);
    expect(ofOrg.nodes.map((s: any) => s.id)).toEqual([withOrg.sessionId]);

    const everyOfAnn = (await ws.client.data(SESSIONS, { env, filter: { userId: ann, activeOnly: false } })).sessions;
    expect(everyOfAnn.totalCount).toBe(3);
    const old = everyOfAnn.nodes.find((s: any) => s.id === expired.sessionId);
    expect(old).toMatchObject({ active: false, endedAt: null, endReason: null });

    const nobody = (await ws.client.data(SESSIONS, { env, filter: { userId: newId('user') } })).sessions;
    expect(nobody).toMatchObject({ totalCount: 0, nodes: [] });
  });

  it('reads a session by node(id:)', async () => {
    expect(await session(withOrg.sessionId)).toMatchObject({ __typename: 'Session', id: withOrg.sessionId, active: true, user: { id: ann } });
    expect(await session(expired.sessionId)).toMatchObject({ __typename: 'Session', active: false });
    const unknown = await ws.client.request(NODE, { id: newId('session') });
    expect(unknown.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', reason: 'session.not_found' });
  });

  it('revokes a session with its tokens, once', async () => {
    const revoked = (await ws.client.data(REVOKE_SESSION, { id: plain.sessionId })).revokeSession;
    expect(revoked.userErrors).toEqual([]);
    expect(revoked.session).toMatchObject({ id: plain.sessionId, active: false, endReason: 'REVOKED' });
    expect(Date.parse(revoked.session.endedAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(await tokenState(plain)).toEqual(REVOKED);
    // The user's other session and its tokens are untouched.
    expect(await tokenState(withOrg)).toEqual(LIVE);
    expect((await session(withOrg.sessionId)).active).toBe(true);

    const live = (await ws.client.data(SESSIONS, { env, filter: { userId: ann } })).sessions;
    expect(live.nodes.map((s: any) => s.id)).toEqual([withOrg.sessionId]);
    const every = (await ws.client.data(SESSIONS, { env, filter: { userId: ann, activeOnly: false } })).sessions;
    expect(every.nodes.find((s: any) => s.id === plain.sessionId)).toMatchObject({ active: false, endReason: 'REVOKED' });

    const [event] = await auditOf('session.revoked', plain.sessionId);
    expect(event).toMatchObject({
      actor: { type: 'API_KEY' },
      targets: [{ type: 'session', id: plain.sessionId }, { type: 'user', id: ann }],
      before: { id: plain.sessionId, userId: ann, endedAt: null, endReason: null },
      after: { id: plain.sessionId, endReason: 'revoked' },
    });

    const again = (await ws.client.data(REVOKE_SESSION, { id: plain.sessionId })).revokeSession;
    expect(again).toEqual({ session: null, userErrors: oneError('session.already_ended', ['input', 'id']) });
    expect(await auditOf('session.revoked', plain.sessionId)).toHaveLength(1);

    const unknown = await ws.client.request(REVOKE_SESSION, { id: newId('session') });
    expect(unknown.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', reason: 'session.not_found' });
  });

  it('revokes an expired session too: its refresh tokens outlive it', async () => {
    expect(await tokenState(expired)).toEqual(LIVE);
    const revoked = (await ws.client.data(REVOKE_SESSION, { id: expired.sessionId })).revokeSession;
    expect(revoked.session).toMatchObject({ active: false, endReason: 'REVOKED' });
    expect(await tokenState(expired)).toEqual(REVOKED);
  });

  it('signs a user out everywhere', async () => {
    const another = await signIn(ann, { clientId: secondAppId });
    // A token from a sign-in without a session (none is kept for it) goes too.
    const sessionless = await standaloneToken(ann);
    const bobBefore = await tokenState(bobs);

    const result = (await ws.client.data(REVOKE_USER_SESSIONS, { userId: ann })).revokeUserSessions;
    expect(result.userErrors).toEqual([]);
    expect(result.user).toEqual({ id: ann });
    expect([...result.revokedSessionIds].sort()).toEqual([withOrg.sessionId, another.sessionId].sort());
    for (const token of [withOrg, another, sessionless]) expect(await tokenState(token)).toEqual(REVOKED);
    expect((await session(withOrg.sessionId)).endReason).toBe('REVOKED');
    expect((await ws.client.data(SESSIONS, { env, filter: { userId: ann } })).sessions.totalCount).toBe(0);

    // Bob is not affected.
    expect(await tokenState(bobs)).toEqual(bobBefore);
    expect((await session(bobs.sessionId)).active).toBe(true);

    const events = await auditOf('session.revoked', ann);
    const event = events.find((e: any) => e.targets[0].id === ann);
    expect(event.targets[0]).toEqual({ type: 'user', id: ann });
    expect(event.targets.slice(1).map((t: any) => t.id).sort()).toEqual([withOrg.sessionId, another.sessionId].sort());
    expect(event.after).toMatchObject({ userId: ann, endReason: 'revoked' });

    // Nothing left to end: it still answers, with no sessions.
    const again = (await ws.client.data(REVOKE_USER_SESSIONS, { userId: ann })).revokeUserSessions;
    expect(again).toMatchObject({ revokedSessionIds: [], userErrors: [] });
    const unknown = await ws.client.request(REVOKE_USER_SESSIONS, { userId: newId('user') });
    expect(unknown.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', reason: 'user.not_found' });
  });
});

describe('what ends sessions with the change', () => {
  it('suspending a user', async () => {
    const user = await createUser('suspended@sessions.example');
    const signedIn = await signIn(user);
    const sessionless = await standaloneToken(user);
    const suspended = await ws.client.data(`mutation($id: ID!) { suspendUser(input: { id: $id }) { user { status } ${USER_ERRORS} } }`, { id: user });
    expect(suspended.suspendUser).toEqual({ user: { status: 'SUSPENDED' }, userErrors: [] });
    expect(await session(signedIn.sessionId)).toMatchObject({ active: false, endReason: 'USER_SUSPENDED' });
    expect(await tokenState(signedIn)).toEqual(REVOKED);
    expect(await tokenState(sessionless)).toEqual(REVOKED);
    const [event] = await auditOf('user.suspended', user);
    expect(event.targets).toEqual([
      { type: 'user', id: user },
      { type: 'session', id: signedIn.sessionId },
    ]);
    // Reactivating does not bring them back.
    await ws.client.data(`mutation($id: ID!) { reactivateUser(input: { id: $id }) { ${USER_ERRORS} } }`, { id: user });
    expect((await session(signedIn.sessionId)).active).toBe(false);
  });

  it('deleting a user: their live access tokens stay revoked after their rows are gone', async () => {
    const user = await createUser('deleted@sessions.example');
    const signedIn = await signIn(user);
    const deleted = await ws.client.data(`mutation($id: ID!) { deleteUser(input: { id: $id }) { deletedId ${USER_ERRORS} } }`, { id: user });
    expect(deleted.deleteUser).toEqual({ deletedId: user, userErrors: [] });
    expect(await tokenState(signedIn)).toEqual({ refreshRevoked: 'deleted', accessRevoked: true });
    const em = systemFork(server.database.db.orm, 'test: the session row went with the user');
    expect(await em.findOne(UserSession, { id: signedIn.sessionId })).toBeNull();
  });

  it('removing or deactivating a membership ends the sessions used with its organization', async () => {
    const user = await createUser('member@sessions.example');
    const first = await createOrganization('First Org');
    const second = await createOrganization('Second Org');
    const firstMembership = await createMembership(first, user);
    const secondMembership = await createMembership(second, user);
    const inFirst = await signIn(user, { organizationId: first });
    const inSecond = await signIn(user, { organizationId: second });
    const withoutOrg = await signIn(user);
    const firstTokenWithoutSession = await standaloneToken(user, { organizationId: first });

    const deactivated = await ws.client.data(
      `mutation($input: UpdateMembershipInput!) { updateMembership(input: $input) { membership { status } ${USER_ERRORS} } }`,
      { input: { id: firstMembership, status: 'INACTIVE' } },
    );
    expect(deactivated.updateMembership).toEqual({ membership: { status: 'INACTIVE' }, userErrors: [] });
    expect(await session(inFirst.sessionId)).toMatchObject({ active: false, endReason: 'MEMBERSHIP_REMOVED' });
    expect(await tokenState(inFirst)).toEqual(REVOKED);
    expect(await tokenState(firstTokenWithoutSession)).toEqual(REVOKED);
    expect((await session(inSecond.sessionId)).active).toBe(true);
    expect(await tokenState(inSecond)).toEqual(LIVE);
    const [updated] = await auditOf('membership.updated', firstMembership);
    expect(updated.targets.map((t: any) => t.type)).toEqual(['membership', 'organization', 'user', 'session']);

    const removed = await ws.client.data(`mutation($id: ID!) { deleteMembership(input: { id: $id }) { deletedId ${USER_ERRORS} } }`, { id: secondMembership });
    expect(removed.deleteMembership).toEqual({ deletedId: secondMembership, userErrors: [] });
    expect(await session(inSecond.sessionId)).toMatchObject({ active: false, endReason: 'MEMBERSHIP_REMOVED' });
    expect(await tokenState(inSecond)).toEqual(REVOKED);

    // A session never used with either organization goes on.
    expect((await session(withoutOrg.sessionId)).active).toBe(true);
    expect(await tokenState(withoutOrg)).toEqual(LIVE);
  });

  it('deleting an organization ends its members’ sessions used with it', async () => {
    const user = await createUser('orgdeleted@sessions.example');
    const doomed = await createOrganization('Doomed Org');
    await createMembership(doomed, user);
    const inDoomed = await signIn(user, { organizationId: doomed });
    const elsewhere = await signIn(user);
    const deleted = await ws.client.data(`mutation($id: ID!) { deleteOrganization(input: { id: $id }) { deletedId ${USER_ERRORS} } }`, { id: doomed });
    expect(deleted.deleteOrganization.userErrors).toEqual([]);
    expect(await session(inDoomed.sessionId)).toMatchObject({ active: false, endReason: 'MEMBERSHIP_REMOVED' });
    expect(await tokenState(inDoomed)).toEqual(REVOKED);
    expect((await session(elsewhere.sessionId)).active).toBe(true);
  });
});

describe('consents', () => {
  let cat: string;
  let dan: string;
  let catFirst: Consent;
  let catSecond: Consent;
  let danFirst: Consent;

  beforeAll(async () => {
    cat = await createUser('cat@consents.example');
    dan = await createUser('dan@consents.example');
    const em = fork();
    const consents = new ConsentRepository(em);
    const grant = (userId: string, clientId: string, scopes: string[]) =>
      consents.create({ id: newId('consent'), environmentId: env, userId, clientId, scopes, resources: ['https://api.consents.example'] });
    catFirst = grant(cat, appId, ['openid', 'profile']);
    catSecond = grant(cat, secondAppId, ['openid']);
    danFirst = grant(dan, appId, ['openid', 'email']);
    await em.flush();
  });

  it('lists and filters consents, and reads one by node(id:)', async () => {
    const all = (await ws.client.data(CONSENTS, { env })).consents;
    expect(all.totalCount).toBe(3);
    expect(all.nodes.map((c: any) => c.id).sort()).toEqual([catFirst.id, catSecond.id, danFirst.id].sort());

    const ofCat = (await ws.client.data(CONSENTS, { env, filter: { userId: cat } })).consents;
    expect(ofCat.nodes.map((c: any) => c.id).sort()).toEqual([catFirst.id, catSecond.id].sort());
    const ofApp = (await ws.client.data(CONSENTS, { env, filter: { applicationId: appId } })).consents;
    expect(ofApp.nodes.map((c: any) => c.id).sort()).toEqual([catFirst.id, danFirst.id].sort());
    const both = (await ws.client.data(CONSENTS, { env, filter: { userId: cat, applicationId: secondAppId } })).consents;
    expect(both).toEqual({ totalCount: 1, nodes: [{ id: catSecond.id, applicationId: secondAppId, scopes: ['openid'], resources: ['https://api.consents.example'], user: { id: cat } }] });

    const node = (await ws.client.data(NODE, { id: catFirst.id })).node;
    expect(node).toMatchObject({
      __typename: 'Consent',
      id: catFirst.id,
      environmentId: env,
      applicationId: appId,
      scopes: ['openid', 'profile'],
      user: { id: cat, email: 'cat@consents.example' },
    });
    expect(catFirst.id).toMatch(/^cns_/);
  });

  it('revokes a consent and the refresh tokens the application holds for the user', async () => {
    const catApp = await standaloneToken(cat, { clientId: appId });
    const catOtherApp = await standaloneToken(cat, { clientId: secondAppId });
    const danApp = await standaloneToken(dan, { clientId: appId });

    const revoked = (await ws.client.data(REVOKE_CONSENT, { id: catFirst.id })).revokeConsent;
    expect(revoked).toEqual({ deletedId: catFirst.id, userErrors: [] });
    expect(await tokenState(catApp)).toEqual(REVOKED);
    expect(await tokenState(catOtherApp)).toEqual(LIVE);
    expect(await tokenState(danApp)).toEqual(LIVE);
    expect((await ws.client.data(CONSENTS, { env, filter: { userId: cat } })).consents.nodes.map((c: any) => c.id)).toEqual([catSecond.id]);

    const [event] = await auditOf('consent.revoked', catFirst.id);
    expect(event).toMatchObject({
      targets: [
        { type: 'consent', id: catFirst.id },
        { type: 'user', id: cat },
        { type: 'application', id: appId },
      ],
      before: { id: catFirst.id, userId: cat, clientId: appId, scopes: ['openid', 'profile'] },
      after: null,
    });

    const again = await ws.client.request(REVOKE_CONSENT, { id: catFirst.id });
    expect(again.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', reason: 'consent.not_found' });
    const gone = await ws.client.request(NODE, { id: catFirst.id });
    expect(gone.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', reason: 'consent.not_found' });
  });
});

describe('access', () => {
  let user: string;
  let signedIn: SignedIn;
  let consent: string;

  beforeAll(async () => {
    user = await createUser('guarded@sessions.example');
    signedIn = await signIn(user);
    const em = fork();
    consent = new ConsentRepository(em).create({ id: newId('consent'), environmentId: env, userId: user, clientId: appId, scopes: ['openid'], resources: [] }).id;
    await em.flush();
  });

  it('needs users:read to read and users:write to revoke', async () => {
    const keyWith = async (scopes: string[]) => {
      const created = await ws.client.data(`mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }`, {
        input: { name: scopes.join(' '), environmentId: env, scopes },
      });
      return ws.client.withKey(created.createApiKey.secret);
    };
    const reader = await keyWith(['users:read']);
    expect((await reader.data(SESSIONS, { env, filter: { userId: user } })).sessions.totalCount).toBe(1);
    expect((await reader.data(CONSENTS, { env, filter: { userId: user } })).consents.totalCount).toBe(1);
    for (const [document, variables] of [
      [REVOKE_SESSION, { id: signedIn.sessionId }],
      [REVOKE_USER_SESSIONS, { userId: user }],
      [REVOKE_CONSENT, { id: consent }],
    ] as const) {
      expect((await reader.request(document, variables)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    }
    const outsider = await keyWith(['organizations:read']);
    for (const [document, variables] of [
      [SESSIONS, { env }],
      [CONSENTS, { env }],
      [NODE, { id: signedIn.sessionId }],
      [NODE, { id: consent }],
    ] as const) {
      expect((await outsider.request(document, variables)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    }
    expect((await session(signedIn.sessionId)).active).toBe(true);
  });

  it("gives another workspace's key NOT_FOUND for all of it, and changes nothing", async () => {
    const intruder = other.client;
    const expectNotFound = async (document: string, variables: Record<string, unknown>, reason: string) => {
      const response = await intruder.request(document, variables);
      expect(response.errors?.[0].extensions, document).toMatchObject({ code: 'NOT_FOUND', reason });
      expect(JSON.stringify(response.data ?? null)).not.toContain(user);
    };
    await expectNotFound(SESSIONS, { env }, 'environment.not_found');
    await expectNotFound(CONSENTS, { env }, 'environment.not_found');
    await expectNotFound(NODE, { id: signedIn.sessionId }, 'session.not_found');
    await expectNotFound(NODE, { id: consent }, 'consent.not_found');
    await expectNotFound(REVOKE_SESSION, { id: signedIn.sessionId }, 'session.not_found');
    await expectNotFound(REVOKE_USER_SESSIONS, { userId: user }, 'user.not_found');
    await expectNotFound(REVOKE_CONSENT, { id: consent }, 'consent.not_found');
    // Filtering its own environment by the victim's ids finds nothing.
    const own = await intruder.data(
      `query($env: ID, $user: ID) { sessions(environmentId: $env, filter: { userId: $user, activeOnly: false }) { totalCount nodes { id } }
        consents(environmentId: $env, filter: { userId: $user }) { totalCount nodes { id } } }`,
      { env: other.development.id, user },
    );
    expect(own).toEqual({ sessions: { totalCount: 0, nodes: [] }, consents: { totalCount: 0, nodes: [] } });

    expect((await session(signedIn.sessionId)).active).toBe(true);
    expect(await tokenState(signedIn)).toEqual(LIVE);
    expect((await ws.client.data(CONSENTS, { env, filter: { userId: user } })).consents.totalCount).toBe(1);
  });
});
