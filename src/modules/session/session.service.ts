import type { EntityManager } from '@mikro-orm/core';
import { requireScope } from '../../auth/principal.js';
import { hashSecret, randomToken } from '../../crypto/secrets.js';
import { newId } from '../../db/id.js';
import type { PageArgs } from '../../db/pagination.js';
import { invalid } from '../../errors/app-error.js';
import { audit, environmentFor, inTransaction, type ServiceContext } from '../service-context.js';
import type { User } from '../user/user.entity.js';
import { UserRepository } from '../user/user.repository.js';
import { revokeTokensOfUser } from '../user-token/user-token.service.js';
import type { SessionEndReason, UserSession } from './session.entity.js';
import { LogoutNoticeRepository } from './logout-notice.repository.js';
import { UserSessionRepository } from './session.repository.js';

/** An environment's session lifetimes, in seconds. */
export interface SessionPolicy {
  idleTtl: number;
  absoluteTtl: number;
}

/** A session's last-seen time is written at most this often: reads of a busy session stay reads. */
const TOUCH_INTERVAL_MS = 60_000;

export function isLive(session: UserSession, now = new Date()): boolean {
  const at = now.getTime();
  return !session.endedAt && session.expiresAt.getTime() > at && session.absoluteExpiresAt.getTime() > at;
}

/** Starts a session for a person who has just proved who they are; returns the cookie's token. */
export function startSession(
  em: EntityManager,
  input: { environmentId: string; userId: string; amr: string[]; ip: string | null; userAgent: string | null },
  policy: SessionPolicy,
  now = new Date(),
): { session: UserSession; token: string } {
  const token = randomToken();
  const absoluteExpiresAt = new Date(now.getTime() + policy.absoluteTtl * 1000);
  const session = new UserSessionRepository(em).create({
    id: newId('session'),
    environmentId: input.environmentId,
    userId: input.userId,
    tokenHash: hashSecret(token),
    authTime: now,
    amr: input.amr,
    lastSeenAt: now,
    expiresAt: new Date(Math.min(now.getTime() + policy.idleTtl * 1000, absoluteExpiresAt.getTime())),
    absoluteExpiresAt,
    ip: input.ip,
    userAgent: input.userAgent?.slice(0, 512) ?? null,
  });
  return { session, token };
}

/**
 * The live session of a cookie's token in an environment, or null. Using it moves its idle
 * deadline (written at most once a minute, never past the absolute one).
 */
export async function resumeSession(em: EntityManager, token: string | undefined, environmentId: string, policy: SessionPolicy, now = new Date()): Promise<UserSession | null> {
  if (!token || token.length < 40 || token.length > 64) return null;
  const session = await new UserSessionRepository(em).byTokenHash(hashSecret(token));
  if (!session || session.environmentId !== environmentId || !isLive(session, now)) return null;
  if (now.getTime() - session.lastSeenAt.getTime() >= TOUCH_INTERVAL_MS) {
    session.lastSeenAt = now;
    session.expiresAt = new Date(Math.min(now.getTime() + policy.idleTtl * 1000, session.absoluteExpiresAt.getTime()));
    await em.flush();
  }
  return session;
}

/** Notes that an application got a code through the session, as a member of an organization or not. */
export function noteApplication(session: UserSession, clientId: string, organizationId: string | null): void {
  if (!session.clientIds.includes(clientId)) session.clientIds = [...session.clientIds, clientId];
  if (organizationId && !session.organizationIds.includes(organizationId)) session.organizationIds = [...session.organizationIds, organizationId];
}

/**
 * Ends sessions and revokes the refresh tokens and live access tokens born in them; the
 * applications that registered a back-channel logout URI will be told. Returns the sessions
 * that were live. Run in the transaction of the change that ends them.
 */
export async function endSessions(em: EntityManager, sessions: UserSession[], reason: SessionEndReason, now = new Date()): Promise<UserSession[]> {
  const ending = sessions.filter((session) => !session.endedAt);
  for (const session of ending) {
    session.endedAt = now;
    session.endReason = reason;
  }
  const byUser = new Map<string, string[]>();
  for (const session of ending) byUser.set(session.userId, [...(byUser.get(session.userId) ?? []), session.id]);
  for (const [userId, sessionIds] of byUser) await revokeTokensOfUser(em, userId, { sessionIds }, now);
  // Back-channel logout, committed with the end of the sessions: the logout workers send it.
  await new LogoutNoticeRepository(em).enqueueFor(ending, now);
  await em.flush();
  return ending;
}

/**
 * Cuts a person off: every live session of the user ends and every token from their sign-ins is
 * revoked, or, with `organizationId`, those used with that organization and its tokens.
 */
export async function endAccessOfUser(em: EntityManager, userId: string, reason: SessionEndReason, organizationId?: string, now = new Date()): Promise<UserSession[]> {
  const sessions = await new UserSessionRepository(em).liveOfUser(userId, organizationId);
  const ended = await endSessions(em, sessions, reason, now);
  await revokeTokensOfUser(em, userId, organizationId ? { organizationId } : {}, now);
  await em.flush();
  return ended;
}

// ──────────────────────── management API (GraphQL) ────────────────────────

export interface SessionListFilter {
  userId?: string | null;
  organizationId?: string | null;
  /** Only sessions that have neither ended nor expired; true unless false is given. */
  activeOnly?: boolean | null;
}

const sessionTarget = (session: UserSession) => ({ type: 'session', id: session.id });
const userTarget = (user: Pick<User, 'id' | 'email'>) => ({ type: 'user', id: user.id, name: user.email });

/** What audit events say of a session: never its token hash, address or user agent. */
const snapshotSession = (session: UserSession) => ({
  id: session.id,
  userId: session.userId,
  authTime: session.authTime,
  amr: session.amr,
  clientIds: session.clientIds,
  organizationIds: session.organizationIds,
  endedAt: session.endedAt,
  endReason: session.endReason,
});

export async function getSession(ctx: ServiceContext, id: string): Promise<UserSession> {
  requireScope(ctx.principal, 'users:read');
  return new UserSessionRepository(ctx.em).get(id);
}

/** Sessions of an environment, newest first; by default only the live ones. */
export async function listSessions(
  ctx: ServiceContext,
  query: { environmentId?: string | null; filter?: SessionListFilter | null },
  args: PageArgs,
  maxPageSize: number,
  now = new Date(),
) {
  requireScope(ctx.principal, 'users:read');
  const environmentId = environmentFor(ctx, query.environmentId);
  const filter = query.filter ?? {};
  return new UserSessionRepository(ctx.em).page(
    { environmentId, userId: filter.userId, organizationId: filter.organizationId, liveAt: filter.activeOnly === false ? null : now },
    { field: 'createdAt', direction: 'DESC' },
    args,
    maxPageSize,
  );
}

/**
 * Ends one session (an expired one too: its refresh tokens may outlive it) and revokes the
 * refresh tokens and live access tokens born in it, audited as `session.revoked`. A session
 * that has already ended is refused.
 */
export async function revokeSession(ctx: ServiceContext, input: { id: string }): Promise<UserSession> {
  requireScope(ctx.principal, 'users:write');
  return inTransaction(ctx, async (em) => {
    const session = await new UserSessionRepository(em).lock(input.id);
    if (session.endedAt) throw invalid('session.already_ended', 'This session has already ended', ['input', 'id']);
    const user = await new UserRepository(em).get(session.userId);
    const before = snapshotSession(session);
    await endSessions(em, [session], 'revoked');
    audit(ctx, em, {
      action: 'session.revoked',
      environmentId: session.environmentId,
      targets: [sessionTarget(session), userTarget(user)],
      before,
      after: snapshotSession(session),
    });
    return session;
  });
}

/**
 * Signs a user out everywhere: every live session ends and every token from their sign-ins is
 * revoked. One `session.revoked` event names the user and every session ended.
 */
export async function revokeUserSessions(ctx: ServiceContext, input: { userId: string }): Promise<{ user: User; revokedSessionIds: string[] }> {
  requireScope(ctx.principal, 'users:write');
  return inTransaction(ctx, async (em) => {
    // Locked like a status change, so the two run one after the other.
    const user = await new UserRepository(em).lock(input.userId);
    const ended = await endAccessOfUser(em, user.id, 'revoked');
    const revokedSessionIds = ended.map((session) => session.id);
    audit(ctx, em, {
      action: 'session.revoked',
      environmentId: user.environmentId,
      targets: [userTarget(user), ...ended.map(sessionTarget)],
      after: { userId: user.id, endReason: 'revoked', sessionIds: revokedSessionIds },
    });
    return { user, revokedSessionIds };
  });
}

/** Audit targets for the sessions a cascade (suspension, membership removal) ended. */
export const endedSessionTargets = (sessions: UserSession[]) => sessions.map(sessionTarget);
