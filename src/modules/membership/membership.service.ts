import { requireScope } from '../../auth/principal.js';
import { newId } from '../../db/id.js';
import { invalid } from '../../errors/app-error.js';
import { OrganizationRepository } from '../organization/organization.repository.js';
import { DEFAULT_MEMBERSHIP_ROLE } from '../role/builtin-roles.js';
import { checkRoleCount, resolveRoleIds } from '../role/role.service.js';
import { audit, inTransaction, type ServiceContext } from '../service-context.js';
import { endAccessOfUser, endedSessionTargets } from '../session/session.service.js';
import { UserRepository } from '../user/user.repository.js';
import { MembershipStatus, type Membership } from './membership.entity.js';
import { MembershipRepository } from './membership.repository.js';

const snapshotMembership = (membership: Membership, roles: string[]) => ({
  id: membership.id,
  organizationId: membership.organizationId,
  userId: membership.userId,
  status: membership.status,
  roles,
});

const membershipTargets = (membership: Membership) => [
  { type: 'membership', id: membership.id },
  { type: 'organization', id: membership.organizationId },
  { type: 'user', id: membership.userId },
];

export async function getMembership(ctx: ServiceContext, id: string): Promise<Membership> {
  requireScope(ctx.principal, 'organizations:read');
  return new MembershipRepository(ctx.em).get(id);
}

export async function createMembership(
  ctx: ServiceContext,
  input: { organizationId: string; userId: string; roleKeys?: string[] | null; status?: MembershipStatus | null },
): Promise<Membership> {
  requireScope(ctx.principal, 'organizations:write');
  const organization = await new OrganizationRepository(ctx.em).get(input.organizationId);
  const user = await new UserRepository(ctx.em).get(input.userId);
  if (user.environmentId !== organization.environmentId) {
    throw invalid('membership.environment_mismatch', 'The user and the organization belong to different environments', [
      'input',
      'userId',
    ]);
  }
  const roleKeys = input.roleKeys ?? [DEFAULT_MEMBERSHIP_ROLE];
  const roleIds = await resolveRoleIds(ctx.em, organization.environmentId, roleKeys, ['input', 'roleKeys']);
  return inTransaction(ctx, async (em) => {
    const membership = new MembershipRepository(em).create(
      {
        id: newId('membership'),
        environmentId: organization.environmentId,
        organizationId: organization.id,
        userId: user.id,
        status: input.status ?? MembershipStatus.ACTIVE,
      },
      roleIds,
    );
    audit(ctx, em, {
      action: 'membership.created',
      environmentId: membership.environmentId,
      organizationId: membership.organizationId,
      targets: membershipTargets(membership),
      after: snapshotMembership(membership, [...new Set(roleKeys)].sort()),
    });
    return membership;
  });
}

export async function updateMembership(ctx: ServiceContext, input: { id: string; status?: MembershipStatus | null }) {
  requireScope(ctx.principal, 'organizations:write');
  return inTransaction(ctx, async (em) => {
    const memberships = new MembershipRepository(em);
    const membership = await memberships.lock(input.id);
    const roles = await memberships.roleKeysOf(membership.id);
    const before = snapshotMembership(membership, roles);
    if (input.status != null) membership.status = input.status;
    // A membership that no longer grants anything cuts off what was signed in with it.
    const ended = membership.status !== MembershipStatus.ACTIVE ? await endAccessOfUser(em, membership.userId, 'membership_removed', membership.organizationId) : [];
    audit(ctx, em, {
      action: 'membership.updated',
      environmentId: membership.environmentId,
      organizationId: membership.organizationId,
      targets: [...membershipTargets(membership), ...endedSessionTargets(ended)],
      before,
      after: snapshotMembership(membership, roles),
    });
    return membership;
  });
}

export async function deleteMembership(ctx: ServiceContext, input: { id: string }): Promise<string> {
  requireScope(ctx.principal, 'organizations:write');
  const membership = await getMembership(ctx, input.id);
  const before = snapshotMembership(membership, await new MembershipRepository(ctx.em).roleKeysOf(membership.id));
  return inTransaction(ctx, async (em) => {
    await new MembershipRepository(em).delete(membership.id);
    // The sessions used with the organization end, and the tokens issued for it are revoked.
    const ended = await endAccessOfUser(em, membership.userId, 'membership_removed', membership.organizationId);
    audit(ctx, em, {
      action: 'membership.deleted',
      environmentId: membership.environmentId,
      organizationId: membership.organizationId,
      targets: [...membershipTargets(membership), ...endedSessionTargets(ended)],
      before,
    });
    return membership.id;
  });
}

export type RoleChange = 'add' | 'remove' | 'set';

/** Adds, removes or replaces the roles of a membership; audited as `membership.roles_changed`. */
export async function changeMembershipRoles(
  ctx: ServiceContext,
  change: RoleChange,
  input: { membershipId: string; roleKeys: string[] },
): Promise<Membership> {
  requireScope(ctx.principal, 'organizations:write');
  const field = ['input', 'roleKeys'];
  if (change !== 'set' && input.roleKeys.length === 0) throw invalid('validation.required', 'Name at least one role', field);
  return inTransaction(ctx, async (em) => {
    const memberships = new MembershipRepository(em);
    const membership = await memberships.lock(input.membershipId);
    const roleIds = await resolveRoleIds(em, membership.environmentId, input.roleKeys, field);
    const beforeRoles = await memberships.roleKeysOf(membership.id);
    if (change === 'set') await memberships.removeAllRoles(membership.id);
    if (change === 'remove') await memberships.removeRoles(membership.id, roleIds);
    if (change !== 'remove') await memberships.addRoles(membership.id, roleIds);
    const afterRoles = await memberships.roleKeysOf(membership.id);
    checkRoleCount(afterRoles.length, field);
    membership.updatedAt = new Date();
    em.persist(membership);
    audit(ctx, em, {
      action: 'membership.roles_changed',
      environmentId: membership.environmentId,
      organizationId: membership.organizationId,
      targets: membershipTargets(membership),
      before: snapshotMembership(membership, beforeRoles),
      after: snapshotMembership(membership, afterRoles),
    });
    return membership;
  });
}
