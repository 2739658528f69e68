import type { EntityManager } from '@mikro-orm/core';
import { recordAudit, type AuditActor, type RequestMeta } from '../../audit/audit-recorder.js';
import { newId } from '../../db/id.js';
import { ConsentRepository } from '../consent/consent.repository.js';
import { snapshotConsent } from '../consent/consent.service.js';
import { MembershipStatus, type Membership } from '../membership/membership.entity.js';
import { MembershipRepository } from '../membership/membership.repository.js';
import { DEFAULT_MEMBERSHIP_ROLE } from '../role/builtin-roles.js';
import { endAccessOfUser } from '../session/session.service.js';
import { UserStatus, type User } from '../user/user.entity.js';
import { UserRepository } from '../user/user.repository.js';
import { snapshotUser } from '../user/user.service.js';
import { isEmailAddress } from '../validation.js';
import type { Directory } from './directory.entity.js';
import type { DirectoryUser } from './directory-user.entity.js';
import { DirectoryUserRepository } from './directory-user.repository.js';
import { applyGroupRoles } from './directory-roles.js';

/** Who provisions, and where: the directory of the request. */
export interface ProvisioningContext {
  directory: Directory;
  workspaceId: string;
  meta: RequestMeta;
  /** Who the audit events name: the directory, unless an administrator's change (of the mappings) set it off. */
  actor?: AuditActor;
}

export const actorOf = (ctx: ProvisioningContext): AuditActor => ctx.actor ?? { principal: null, meta: ctx.meta, directory: { id: ctx.directory.id, name: ctx.directory.name } };

/** An audit event of the directory's doing (or of `ctx.actor`), naming the directory among its targets. */
export function recordDirectoryEvent(em: EntityManager, ctx: ProvisioningContext, action: string, targets: { type: string; id: string; name?: string }[], change: { before?: object; after?: object }) {
  recordAudit(em, actorOf(ctx), {
    action,
    workspaceId: ctx.workspaceId,
    environmentId: ctx.directory.environmentId,
    organizationId: ctx.directory.organizationId,
    targets: [...targets, { type: 'directory', id: ctx.directory.id, name: ctx.directory.name }],
    ...change,
  });
}

const givenNameOf = (resource: Record<string, unknown>) => ((resource.name as { givenName?: string } | undefined)?.givenName ?? null)?.slice(0, 200) ?? null;
const familyNameOf = (resource: Record<string, unknown>) => ((resource.name as { familyName?: string } | undefined)?.familyName ?? null)?.slice(0, 200) ?? null;

/** Who a directory user is in the environment: their user (found or made) and that user's membership of the organization. */
interface Person {
  user: User;
  membership: Membership | null;
  /** The environment's default role, for a new membership. */
  defaultRoles: { id: string; key: string }[];
}

/**
 * The environment user a directory user is: the one it is linked to, else the user with its
 * email address, else a new one — but only for an address in one of the organization's verified
 * domains, so that an identity provider can neither take over nor make accounts of people
 * outside its organization. Null (left unlinked) otherwise. One statement reads it all.
 */
async function personOf(em: EntityManager, ctx: ProvisioningContext, directoryUser: DirectoryUser): Promise<Person | null> {
  const email = directoryUser.email;
  // The address rule every sign-in path shares: `pat@acme.test.` (another spelling of the same mailbox) or `a@b@acme.test` links nobody.
  const linkable = email !== null && isEmailAddress(email);
  const found = await new DirectoryUserRepository(em).personOf({
    environmentId: ctx.directory.environmentId,
    organizationId: ctx.directory.organizationId,
    linkedUserId: directoryUser.userId,
    email: linkable ? email : null,
    roleKeys: [DEFAULT_MEMBERSHIP_ROLE],
  });
  const membershipOf = (user: User) => found.memberships.find((membership) => membership.userId === user.id) ?? null;
  if (found.linkedUser) return { user: found.linkedUser, membership: membershipOf(found.linkedUser), defaultRoles: found.roles };
  if (!linkable || !found.verifiedDomains.includes(email.slice(email.lastIndexOf('@') + 1))) return null;
  if (found.emailUser) return { user: found.emailUser, membership: membershipOf(found.emailUser), defaultRoles: found.roles };
  const user = new UserRepository(em).create({
    id: newId('user'),
    environmentId: ctx.directory.environmentId,
    email,
    // The organization's IdP vouches for an address of a domain the organization proved it holds.
    emailVerified: true,
    givenName: givenNameOf(directoryUser.resource),
    familyName: familyNameOf(directoryUser.resource),
  });
  recordDirectoryEvent(em, ctx, 'user.created', [{ type: 'user', id: user.id, name: user.email }], { after: { ...snapshotUser(user), provisionedBy: 'scim' } });
  return { user, membership: null, defaultRoles: found.roles };
}

/**
 * What the person let applications do with their membership of the organization ends with it:
 * the organization leaves each consent, and a consent left with none is withdrawn, so that after
 * a reactivation every application asks again. (Their tokens for the organization were revoked
 * with the sessions.)
 */
async function withdrawConsents(em: EntityManager, ctx: ProvisioningContext, user: User, directoryUser: DirectoryUser): Promise<void> {
  const consents = new ConsentRepository(em);
  for (const consent of await consents.withOrganization(user.id, ctx.directory.organizationId)) {
    const before = snapshotConsent(consent);
    const targets = [
      { type: 'consent', id: consent.id },
      { type: 'user', id: user.id, name: user.email },
      { type: 'application', id: consent.clientId },
      { type: 'directory_user', id: directoryUser.id, name: directoryUser.userName },
    ];
    const remaining = consent.organizationIds.filter((id) => id !== ctx.directory.organizationId);
    if (remaining.length) {
      consent.organizationIds = remaining;
      recordDirectoryEvent(em, ctx, 'consent.updated', targets, { before, after: { ...snapshotConsent(consent), reason: 'user_deprovisioned' } });
    } else {
      em.remove(consent);
      recordDirectoryEvent(em, ctx, 'consent.revoked', targets, { before, after: { reason: 'user_deprovisioned' } });
    }
  }
}

/** What a sync did, for the caller's audit event. */
export interface SyncOutcome {
  userId: string | null;
  membershipId: string | null;
  /** The membership was deactivated now: the person's sessions with the organization ended, their tokens for it revoked. */
  deprovisioned: boolean;
  reactivated: boolean;
}

/**
 * Brings the environment user and their membership of the directory's organization in step
 * with a directory user, in the caller's transaction: the user found or made and linked, names
 * kept current, the membership made (default role) or set ACTIVE or INACTIVE as `active` says.
 * Deactivation cuts access at once: the sessions used with the organization end and the refresh
 * and access tokens issued for it are revoked, so they fail introspection from this commit on.
 */
export async function syncDirectoryUser(em: EntityManager, ctx: ProvisioningContext, directoryUser: DirectoryUser, options: { deleted?: boolean } = {}): Promise<SyncOutcome> {
  const outcome: SyncOutcome = { userId: null, membershipId: null, deprovisioned: false, reactivated: false };
  const person = await personOf(em, ctx, directoryUser);
  if (!person) return outcome;
  const { user, membership } = person;
  directoryUser.userId = user.id;
  outcome.userId = user.id;
  const active = directoryUser.active && !options.deleted;
  if (active) {
    const givenName = givenNameOf(directoryUser.resource);
    const familyName = familyNameOf(directoryUser.resource);
    if (givenName && user.givenName !== givenName) user.givenName = givenName;
    if (familyName && user.familyName !== familyName) user.familyName = familyName;
  }
  const memberships = new MembershipRepository(em);
  const targets = (id: string) => [
    { type: 'membership', id },
    { type: 'user', id: user.id, name: user.email },
    { type: 'directory_user', id: directoryUser.id, name: directoryUser.userName },
  ];
  if (!membership) {
    if (!active) return outcome;
    const roles = person.defaultRoles;
    const created = memberships.create(
      { id: newId('membership'), environmentId: ctx.directory.environmentId, organizationId: ctx.directory.organizationId, userId: user.id, status: MembershipStatus.ACTIVE },
      roles.map((role) => role.id),
    );
    outcome.membershipId = created.id;
    recordDirectoryEvent(em, ctx, 'membership.created', targets(created.id), { after: { status: created.status, roles: roles.map((role) => role.key), provisionedBy: 'scim' } });
    // A person added to mapped groups before their account could be linked gets those groups' roles.
    await applyGroupRoles(em, ctx, [directoryUser.id]);
    return outcome;
  }
  outcome.membershipId = membership.id;
  const wanted = active ? MembershipStatus.ACTIVE : MembershipStatus.INACTIVE;
  if (membership.status === wanted) return outcome;
  const before = { status: membership.status };
  membership.status = wanted;
  if (wanted === MembershipStatus.INACTIVE) {
    const ended = await endAccessOfUser(em, user.id, 'user_deprovisioned', ctx.directory.organizationId);
    await withdrawConsents(em, ctx, user, directoryUser);
    outcome.deprovisioned = true;
    recordDirectoryEvent(em, ctx, 'directory.user.deprovisioned', [...targets(membership.id), ...ended.map((session) => ({ type: 'session', id: session.id }))], {
      before,
      after: { status: wanted, reason: options.deleted ? 'deleted' : 'inactive', sessionsEnded: ended.length },
    });
  } else {
    // An INACTIVE or PENDING membership becomes active again; a user suspended in Gatehouse stays suspended.
    outcome.reactivated = true;
    recordDirectoryEvent(em, ctx, 'directory.user.reactivated', targets(membership.id), { before, after: { status: wanted, userStatus: user.status === UserStatus.ACTIVE ? 'ACTIVE' : user.status } });
    // Back with the roles the mappings give their groups now.
    await applyGroupRoles(em, ctx, [directoryUser.id]);
  }
  return outcome;
}
