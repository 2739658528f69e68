import type { EntityManager } from '@mikro-orm/core';
import { recordAudit, type RequestMeta } from '../../audit/audit-recorder.js';
import type { SecretBox } from '../../crypto/at-rest.js';
import { hashSecret, secretMatchesHash } from '../../crypto/secrets.js';
import { newId, newInternalId } from '../../db/id.js';
import { ConsentRepository } from '../consent/consent.repository.js';
import { SignUpPolicy } from '../environment/environment.entity.js';
import { MembershipStatus } from '../membership/membership.entity.js';
import { OrganizationDomainRepository } from '../organization/organization.repository.js';
import { MembershipRepository, type MembershipGrants } from '../membership/membership.repository.js';
import { SsoIdentityLinkRepository } from '../connection/connection.repository.js';
import type { SsoConnection } from '../connection/connection.entity.js';
import type { SsoIdentity } from '../connection/saml-request.entity.js';
import { applyIdpProfile, idpRoleKeys } from '../connection/sso-provisioning.js';
import { DEFAULT_MEMBERSHIP_ROLE } from '../role/builtin-roles.js';
import type { UserSession } from '../session/session.entity.js';
import { UserSessionRepository } from '../session/session.repository.js';
import { endSessions, noteApplication, resumeSession, startSession, type SessionPolicy } from '../session/session.service.js';
import { UserStatus, type User } from '../user/user.entity.js';
import { UserRepository } from '../user/user.repository.js';
import { snapshotUser } from '../user/user.service.js';
import { issueCode } from '../user-token/user-token.service.js';
import { issueChallenge, redeemLink, verifyCode, type ChallengeFailure, type ChallengeOutcome } from './challenge.service.js';
import { SignInChallengeRepository } from './challenge.repository.js';
import type { SignInFlow } from './flow.entity.js';
import { SignInFlowRepository } from './flow.repository.js';
import type { AuthorizationRequest } from './flow.types.js';

/**
 * Signing people in to an environment, whatever proves who they are: today a code or link
 * mailed to them; an SSO connection or a social provider (next) proves it the same way, by
 * handing `signIn` a verified email, so there is one flow. The hosted pages call these in
 * order: a flow is started by the authorization endpoint, the person authenticates (a session
 * starts), `advanceFlow` says what is missing (an organization, consent) until it issues the
 * code. No HTTP here: the pages map each step to a page or a redirect.
 */

/** A flow lasts as long as a person might reasonably take to find a code in their mail. */
export const FLOW_TTL_MS = 30 * 60_000;

export interface SignInEnvironment {
  id: string;
  workspaceId: string;
  signUpPolicy: SignUpPolicy;
  session: SessionPolicy;
}

export interface SignInClient {
  id: string;
  name: string;
  firstParty: boolean;
}

/** Starts the flow of a checked authorization request in a browser (`browserId`: its cookie); `clientId` is the client's row id. */
export function startFlow(em: EntityManager, input: { environmentId: string; clientId: string; request: AuthorizationRequest; browserId: string }, now = new Date()): SignInFlow {
  return new SignInFlowRepository(em).create({
    id: newInternalId('signInFlow'),
    environmentId: input.environmentId,
    clientId: input.clientId,
    request: input.request as unknown as Record<string, unknown>,
    browserHash: hashSecret(input.browserId),
    expiresAt: new Date(now.getTime() + FLOW_TTL_MS),
  });
}

const FLOW_ID = /^flw_[0-9a-hjkmnp-tv-z]{26}$/;

/** The flow `id` of this browser, while it is open; null otherwise (unknown, another browser's, expired, over). */
export async function openFlow(em: EntityManager, id: string | undefined, browserId: string | undefined, now = new Date()): Promise<SignInFlow | null> {
  if (!id || !browserId || !FLOW_ID.test(id)) return null;
  const flow = await new SignInFlowRepository(em).byId(id);
  if (!flow || flow.completedAt || flow.expiresAt.getTime() <= now.getTime()) return null;
  return secretMatchesHash(flow.browserHash, browserId) ? flow : null;
}

/** The flow a request read before its transaction (`openFlow` outside one), managed by the transaction `em` without a second read. */
export function adoptFlow(em: EntityManager, flow: SignInFlow): SignInFlow {
  return new SignInFlowRepository(em).adopt(flow);
}

export const requestOf = (flow: SignInFlow): AuthorizationRequest => flow.request as unknown as AuthorizationRequest;

/**
 * Who may be sent a code: a known, active user, or anyone when sign-up is open; never an
 * address of an organization that requires SSO.
 */
async function mayReceiveCode(em: EntityManager, env: SignInEnvironment, email: string): Promise<boolean> {
  if (await new OrganizationDomainRepository(em).ssoRequiredFor(env.id, email)) return false;
  const user = await new UserRepository(em).findByEmail(env.id, email);
  if (user) return user.status === UserStatus.ACTIVE;
  return env.signUpPolicy === SignUpPolicy.OPEN;
}

/** Whether `email` belongs to an organization whose people must sign in through its SSO connections. */
export function ssoRequiredFor(em: EntityManager, environmentId: string, email: string): Promise<boolean> {
  return new OrganizationDomainRepository(em).ssoRequiredFor(environmentId, email);
}

/**
 * Starts an email sign-in: a challenge is made for every address, and the caller is told
 * whether to mail it. Someone who may not sign in gets no mail, but the page they see, and
 * the work done, are the same, so the answer tells nobody whether an address has an account.
 * Run in a transaction (see issueChallenge).
 */
export async function startEmailSignIn(
  em: EntityManager,
  box: SecretBox,
  env: SignInEnvironment,
  input: { email: string; ip: string; flowId: string | null },
  now = new Date(),
): Promise<{ challengeId: string; email: string; mail: { code: string; linkToken: string } | null }> {
  const issued = await issueChallenge(em, box, { environmentId: env.id, email: input.email, ip: input.ip, flowId: input.flowId }, now);
  const send = await mayReceiveCode(em, env, issued.challenge.email);
  return { challengeId: issued.challenge.id, email: issued.challenge.email, mail: send ? { code: issued.code, linkToken: issued.linkToken } : null };
}

/** The address and flow of a challenge, to show its code page; null when unknown. */
export async function pendingChallenge(em: EntityManager, id: string): Promise<{ email: string; flowId: string | null } | null> {
  if (!/^sic_[0-9a-hjkmnp-tv-z]{26}$/.test(id)) return null;
  const challenge = await new SignInChallengeRepository(em).find(id);
  return challenge && { email: challenge.email, flowId: challenge.flowId };
}

/** Why a sign-in was refused (`user.signin_failed`'s reason). */
export type SignInFailure = ChallengeFailure | 'sign_up_closed' | 'user_suspended' | 'user_deprovisioned' | 'membership_inactive' | 'guest_email_taken' | 'sso_required' | 'email_not_verified';

export type SignInResult =
  | { ok: true; user: User; session: UserSession; token: string; flowId: string | null; signedUp: boolean }
  | { ok: false; reason: SignInFailure; flowId: string | null };

/** A typed code for a challenge. Run in a transaction. */
export async function signInWithCode(
  em: EntityManager,
  box: SecretBox,
  env: SignInEnvironment,
  input: { challengeId: string; code: string; flowId: string; meta: RequestMeta; previousSessionToken?: string },
  now = new Date(),
): Promise<SignInResult> {
  const outcome = await verifyCode(em, box, input.challengeId, input.code, now, input.flowId);
  return completeChallenge(em, env, outcome, ['otp'], input, now);
}

/** A magic link's token. Run in a transaction. */
export async function signInWithLink(
  em: EntityManager,
  env: SignInEnvironment,
  input: { token: string; meta: RequestMeta; previousSessionToken?: string },
  now = new Date(),
): Promise<SignInResult> {
  const outcome = await redeemLink(em, input.token, now);
  return completeChallenge(em, env, outcome, ['mail'], input, now);
}

async function completeChallenge(
  em: EntityManager,
  env: SignInEnvironment,
  outcome: ChallengeOutcome,
  amr: string[],
  input: { meta: RequestMeta; previousSessionToken?: string },
  now: Date,
): Promise<SignInResult> {
  if (!outcome.ok) {
    failed(em, env, input.meta, outcome.reason, null);
    return { ok: false, reason: outcome.reason, flowId: null };
  }
  const { challenge } = outcome;
  if (challenge.environmentId !== env.id) return { ok: false, reason: 'unknown', flowId: null };
  // A code sent before the organization began to require SSO does not sign its people in.
  if (await new OrganizationDomainRepository(em).ssoRequiredFor(env.id, challenge.email)) return refuse(em, env, { email: challenge.email, flowId: challenge.flowId, meta: input.meta }, 'sso_required', null);
  return signIn(em, env, { email: challenge.email, emailVerified: true, amr, flowId: challenge.flowId, meta: input.meta, previousSessionToken: input.previousSessionToken }, now);
}

/**
 * Signs in the person who proved they hold `email`: their user (made now when sign-up is open),
 * a session, and the audit trail. Every way of authenticating ends here. The browser's earlier
 * session (`previousSessionToken`) is renewed when it is the same person's (its applications keep
 * their refresh tokens), and ended when it is someone else's.
 */
export async function signIn(
  em: EntityManager,
  env: SignInEnvironment,
  input: SignInInput,
  now = new Date(),
): Promise<SignInResult> {
  const users = new UserRepository(em);
  const user = input.userId ? await users.find(input.userId) : await users.findByEmail(env.id, input.email);
  const result = await signInAs(em, env, input, user, now);
  await em.flush();
  return result;
}

interface SignInInput {
  email: string;
  emailVerified: boolean;
  amr: string[];
  flowId: string | null;
  meta: RequestMeta;
  previousSessionToken?: string;
  /** Create the user whatever the sign-up policy: an organization's own IdP vouches for them (just-in-time provisioning). */
  provision?: boolean;
  /** The user, already identified (an SSO link): not looked up by email. */
  userId?: string;
  /** Names for a user made now (an IdP's). */
  givenName?: string | null;
  familyName?: string | null;
}

/**
 * `signIn` of a user the caller has already looked up (`found`: null when there is none), with
 * the writes left in the unit of work for the caller's flush.
 */
async function signInAs(em: EntityManager, env: SignInEnvironment, input: SignInInput, found: User | null, now: Date): Promise<SignInResult> {
  const users = new UserRepository(em);
  let user = found;
  let signedUp = false;
  if (!user) {
    if (env.signUpPolicy !== SignUpPolicy.OPEN && !input.provision) return refuse(em, env, input, 'sign_up_closed', null);
    user = users.create({ id: newId('user'), environmentId: env.id, email: input.email, emailVerified: input.emailVerified, givenName: input.givenName ?? null, familyName: input.familyName ?? null });
    signedUp = true;
    recordAudit(em, { principal: null, user: { id: user.id, email: user.email }, meta: input.meta }, {
      action: 'user.created',
      workspaceId: env.workspaceId,
      environmentId: env.id,
      targets: [{ type: 'user', id: user.id, name: user.email }],
      after: { ...snapshotUser(user), signedUp: true },
    });
  } else if (user.status !== UserStatus.ACTIVE) {
    return refuse(em, env, input, user.status === UserStatus.SUSPENDED ? 'user_suspended' : 'user_deprovisioned', user);
  } else if (input.emailVerified && !user.emailVerified) {
    // The address is proven for the first time: sessions opened before, by whoever held the
    // unproven account (a guest-admitting IdP's claim, say), end here.
    user.emailVerified = true;
    await endSessions(em, await new UserSessionRepository(em).liveOfUser(user.id), 'revoked', now);
  }
  const previous = await resumeSession(em, input.previousSessionToken, env.id, env.session, now);
  let session: UserSession;
  let token: string;
  if (previous && previous.userId === user.id) {
    previous.authTime = now;
    previous.amr = input.amr;
    session = previous;
    token = input.previousSessionToken!;
  } else {
    if (previous) await endSessions(em, [previous], 'replaced', now);
    ({ session, token } = startSession(em, { environmentId: env.id, userId: user.id, amr: input.amr, ip: input.meta.ip, userAgent: input.meta.userAgent }, env.session, now));
  }
  recordAudit(em, { principal: null, user: { id: user.id, email: user.email }, meta: input.meta }, {
    action: 'user.signed_in',
    workspaceId: env.workspaceId,
    environmentId: env.id,
    targets: [
      { type: 'user', id: user.id, name: user.email },
      { type: 'session', id: session.id },
    ],
    after: { method: input.amr, signedUp },
  });
  return { ok: true, user, session, token, flowId: input.flowId, signedUp };
}

/**
 * A person an organization's SSO connection vouched for, signed in:
 * - found by the connection's link to them (its NameID), else by email only when the address
 *   is in a verified domain of the organization: an IdP claiming a guest address never takes
 *   over an account that exists (`guest_email_taken`), and its guests' addresses stay
 *   unverified;
 * - created just in time when new, whatever the sign-up policy, and linked to the NameID;
 * - made a member of the organization unless they are one; an invited (PENDING) membership
 *   becomes active; one an admin deactivated is refused, not revived;
 * - given what the IdP says: names, mapped custom attributes, and, when the connection maps
 *   groups to roles, the roles of their groups (`applyIdpProfile`).
 * Run in a transaction.
 */
export async function signInThroughConnection(
  em: EntityManager,
  env: SignInEnvironment,
  input: {
    connection: SsoConnection;
    identity: SsoIdentity;
    /** The flow signed in for; null for an IdP-initiated sign-in, which has none yet. */
    flowId: string | null;
    meta: RequestMeta;
    previousSessionToken?: string;
  },
  now = new Date(),
): Promise<SignInResult> {
  const { connection, identity } = input;
  const refusal = { email: identity.email, flowId: input.flowId, meta: input.meta };
  const links = new SsoIdentityLinkRepository(em);
  // The link, the users it and the address may name, their memberships of the organization and
  // the roles a new membership would get: one statement.
  const roleKeys = idpRoleKeys(connection, identity);
  const person = await links.personOf({
    environmentId: env.id,
    connectionId: connection.id,
    subject: identity.nameId,
    email: identity.email,
    organizationId: connection.organizationId,
    roleKeys: roleKeys ?? [DEFAULT_MEMBERSHIP_ROLE],
  });
  const { link } = person;
  let existing = link ? person.linkedUser : null;
  // A guest the IdP vouched for before, whose address its owner has since proven (an email
  // code, or a connection of the address's own organization): the IdP no longer speaks for it.
  // Else an IdP that created the account first would keep signing in as its rightful owner.
  if (existing && !identity.inVerifiedDomain && existing.emailVerified) return refuse(em, env, refusal, 'guest_email_taken', existing);
  if (!existing) {
    const byEmail = person.emailUser;
    if (byEmail && !identity.inVerifiedDomain) return refuse(em, env, refusal, 'guest_email_taken', byEmail);
    existing = byEmail;
  }
  const membership = existing ? (person.memberships.find((candidate) => candidate.userId === existing.id) ?? null) : null;
  if (existing && membership?.status === MembershipStatus.INACTIVE) return refuse(em, env, refusal, 'membership_inactive', existing);
  const result = await signInAs(
    em,
    env,
    {
      email: identity.email,
      emailVerified: identity.inVerifiedDomain,
      amr: ['sso'],
      flowId: input.flowId,
      meta: input.meta,
      previousSessionToken: input.previousSessionToken,
      provision: true,
      // A new user is made with the IdP's names at once (one INSERT, no UPDATE after it).
      givenName: identity.givenName,
      familyName: identity.familyName,
    },
    existing,
    now,
  );
  if (!result.ok) return result;
  const { user } = result;
  const linked = link ?? links.create({ id: newInternalId('ssoIdentity'), environmentId: env.id, connectionId: connection.id, subject: identity.nameId, userId: user.id });
  linked.attributes = identity.raw;
  linked.lastSignedInAt = now;
  await applyIdpProfile(em, env, { user, membership, connection, identity, meta: input.meta, roles: person.roles });
  // Signed in through an organization's IdP: the flow goes on as a member of that organization
  // unless the application asked for one (which then decides, and must be one of theirs).
  if (input.flowId) await new SignInFlowRepository(em).assignOrganizationUnlessChosen(input.flowId, connection.organizationId, now);
  await em.flush();
  return result;
}

/** A refused sign-in: audited as `user.signin_failed` with its reason. */
export function refuse(em: EntityManager, env: SignInEnvironment, input: { email: string; flowId: string | null; meta: RequestMeta }, reason: SignInFailure, user: User | null): SignInResult {
  failed(em, env, input.meta, reason, user, input.email);
  return { ok: false, reason, flowId: input.flowId };
}

function failed(em: EntityManager, env: SignInEnvironment, meta: RequestMeta, reason: SignInFailure, user: User | null, email?: string): void {
  recordAudit(em, { principal: null, anonymous: true, meta }, {
    action: 'user.signin_failed',
    workspaceId: env.workspaceId,
    environmentId: env.id,
    targets: user ? [{ type: 'user', id: user.id, name: user.email }] : [],
    after: { reason, ...(email && !user ? { email } : {}) },
  });
}

/** What a flow needs next. */
export type FlowStep =
  | { kind: 'authenticate' }
  | { kind: 'choose_organization'; organizations: { id: string; name: string }[] }
  | { kind: 'consent'; scopes: string[]; resources: string[] }
  /** Sent back to the application as an OAuth error (OpenID Connect Core §3.1.2.6). */
  | { kind: 'error'; error: 'access_denied' | 'login_required' | 'consent_required' | 'account_selection_required'; description: string }
  | { kind: 'done'; code: string };

/**
 * Moves a flow on for the browser's session (null: nobody signed in). With `prompt=none`
 * nothing may be asked, so whatever would be asked becomes the matching error. When nothing is
 * missing, the code is issued and the flow is over. Run in a transaction.
 */
export async function advanceFlow(
  em: EntityManager,
  env: SignInEnvironment,
  client: SignInClient,
  flow: SignInFlow,
  session: UserSession | null,
  now = new Date(),
): Promise<FlowStep> {
  const request = requestOf(flow);
  const silent = request.prompt.includes('none');
  const fail = (error: Extract<FlowStep, { kind: 'error' }>['error'], description: string): FlowStep => {
    flow.completedAt = now;
    return { kind: 'error', error, description };
  };
  const reauthenticate = (): FlowStep => (silent ? fail('login_required', 'The user must sign in') : { kind: 'authenticate' });

  if (!session) return reauthenticate();
  // prompt=login: a sign-in that happened before this request does not count.
  if (request.prompt.includes('login') && session.authTime.getTime() < flow.createdAt.getTime()) return reauthenticate();
  // A sign-in during this very flow satisfies any max_age (max_age=0 included, OIDC Core §3.1.2.1).
  const freshInFlow = session.authTime.getTime() >= flow.createdAt.getTime();
  if (request.maxAge !== null && !freshInFlow && now.getTime() - session.authTime.getTime() > request.maxAge * 1000) return reauthenticate();

  const user = await new UserRepository(em).find(session.userId);
  if (!user || user.status !== UserStatus.ACTIVE) return fail('access_denied', 'The user may not sign in');

  // A third-party application the person never approved learns nothing silently, not even
  // whether they belong to an organization: consent comes before any organization logic.
  const thirdParty = !client.firstParty && !flow.consentGiven;
  const consent = thirdParty ? await new ConsentRepository(em).of(user.id, client.id) : null;
  if (thirdParty && silent && !consent) return fail('consent_required', 'The user must consent');

  const memberships = await new MembershipRepository(em).activeOfUser(user.id);
  const wanted = flow.organizationId ?? request.organizationId;
  if (wanted && !memberships.some((membership) => membership.organizationId === wanted)) {
    return fail('access_denied', 'The user is not a member of the requested organization');
  }
  const organizationId = wanted ?? (memberships.length === 1 ? memberships[0].organizationId : null);
  if (!organizationId && memberships.length > 1) {
    if (silent) return fail('account_selection_required', 'The user must choose an organization');
    return { kind: 'choose_organization', organizations: memberships.map((m) => ({ id: m.organizationId, name: m.organizationName })) };
  }

  if (thirdParty) {
    const missingScopes = request.scopes.filter((scope) => !consent?.scopes.includes(scope));
    const missingResources = request.resources.filter((resource) => !consent?.resources.includes(resource));
    // Consent to act as a member of one organization is not consent for another.
    const newOrganization = organizationId !== null && !consent?.organizationIds.includes(organizationId);
    if (request.prompt.includes('consent') || missingScopes.length || missingResources.length || newOrganization) {
      if (silent) return fail('consent_required', 'The user must consent');
      flow.organizationId = organizationId;
      return { kind: 'consent', scopes: request.scopes, resources: request.resources };
    }
  }

  const { code } = issueCode(
    em,
    {
      environmentId: env.id,
      clientId: client.id,
      userId: user.id,
      sessionId: session.id,
      redirectUri: request.redirectUri,
      codeChallenge: request.codeChallenge,
      nonce: request.nonce,
      scopes: request.scopes,
      resource: request.resources[0] ?? null,
      organizationId,
      authTime: session.authTime,
      amr: session.amr,
    },
    now,
  );
  noteApplication(session, client.id, organizationId);
  flow.organizationId = organizationId;
  flow.completedAt = now;
  await em.flush();
  return { kind: 'done', code };
}

/** The person picked one of their organizations for this flow. False when they are not an active member of it. */
export async function chooseOrganization(em: EntityManager, flow: SignInFlow, session: UserSession, organizationId: string): Promise<boolean> {
  const membership = await new MembershipRepository(em).activeIn(session.userId, organizationId);
  if (!membership) return false;
  flow.organizationId = organizationId;
  await em.flush();
  return true;
}

/**
 * The person agreed to what a third-party application asked for: remembered for next time
 * (added to what they agreed to before) and audited as `consent.granted`. Run in a transaction.
 */
export async function grantConsent(em: EntityManager, env: SignInEnvironment, client: SignInClient, flow: SignInFlow, session: UserSession, meta: RequestMeta): Promise<void> {
  const request = requestOf(flow);
  const consents = new ConsentRepository(em);
  const user = await new UserRepository(em).get(session.userId);
  const existing = await consents.lockOf(user.id, client.id);
  const before = existing ? { scopes: existing.scopes, resources: existing.resources, organizationIds: existing.organizationIds } : null;
  const consent =
    existing ??
    consents.create({ id: newId('consent'), environmentId: env.id, userId: user.id, clientId: client.id, scopes: [], resources: [] });
  consent.scopes = [...new Set([...consent.scopes, ...request.scopes])].sort();
  consent.resources = [...new Set([...consent.resources, ...request.resources])].sort();
  if (flow.organizationId) consent.organizationIds = [...new Set([...consent.organizationIds, flow.organizationId])].sort();
  consent.updatedAt = new Date();
  flow.consentGiven = true;
  recordAudit(em, { principal: null, user: { id: user.id, email: user.email }, meta }, {
    action: 'consent.granted',
    workspaceId: env.workspaceId,
    environmentId: env.id,
    targets: [
      { type: 'consent', id: consent.id },
      { type: 'user', id: user.id, name: user.email },
      { type: 'oauth_client', id: client.id, name: client.name },
    ],
    before,
    after: { scopes: consent.scopes, resources: consent.resources, organizationIds: consent.organizationIds },
  });
  await em.flush();
}

/** Roles and permissions a user holds in an organization, for tokens; null when they are no longer an active member. */
export function grantsInOrganization(em: EntityManager, userId: string, organizationId: string): Promise<MembershipGrants | null> {
  return new MembershipRepository(em).activeGrants(userId, organizationId);
}

/**
 * Signs a person out of a browser session: the session ends, the refresh tokens born in it and
 * their access tokens are revoked, the applications that got codes through it will be told
 * (back-channel logout), and `user.signed_out` is audited. Run in a transaction.
 */
export async function signOut(em: EntityManager, env: SignInEnvironment, session: UserSession, meta: RequestMeta, initiatedBy: string | null): Promise<void> {
  const [ended] = await endSessions(em, [session], 'signed_out');
  if (!ended) return;
  const user = await new UserRepository(em).find(session.userId);
  recordAudit(em, { principal: null, ...(user ? { user: { id: user.id, email: user.email } } : { anonymous: true }), meta }, {
    action: 'user.signed_out',
    workspaceId: env.workspaceId,
    environmentId: env.id,
    targets: [
      { type: 'session', id: session.id },
      ...(user ? [{ type: 'user', id: user.id, name: user.email }] : []),
    ],
    after: { initiatedBy, applications: session.clientIds },
  });
  await em.flush();
}
