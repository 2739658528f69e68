import type { EntityManager } from '@mikro-orm/core';
import { requireScope } from '../../auth/principal.js';
import { newId } from '../../db/id.js';
import { invalid } from '../../errors/app-error.js';
import { Organization } from '../organization/organization.entity.js';
import { DEFAULT_MEMBERSHIP_ROLE } from '../role/builtin-roles.js';
import { Role } from '../role/role.entity.js';
import { checkRoleCount, resolveRoleIds } from '../role/role.service.js';
import { audit, findScoped, inTransaction, lockScoped, type ServiceContext } from '../service-context.js';
import { User } from '../user/user.entity.js';
import { Membership, MembershipRole, MembershipStatus } from './membership.entity.js';

async function roleKeysOf(em: EntityManager, membershipId: string): Promise<string[]> {
  const links = await em.find(MembershipRole, { membershipId });
  if (!links.length) return [];
  const roles = await em.find(Role, { id: { $in: links.map((l) => l.roleId) } }, { orderBy: { key: 'ASC' } });
  return roles.map((role) => role.key);
}

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
  return findScoped(ctx, Membership, 'membership', id);
}

export async function createMembership(
  ctx: ServiceContext,
  input: { organizationId: string; userId: string; roleKeys?: string[] | null; status?: MembershipStatus | null },
): Promise<Membership> {
  requireScope(ctx.principal, 'organizations:write');
  const organization = await findScoped(ctx, Organization, 'organization', input.organizationId);
  const user = await findScoped(ctx, User, 'user', input.userId);
  if (user.environmentId !== organization.environmentId) {
    throw invalid('membership.environment_mismatch', 'The user and the organization belong to different environments', [
      'input',
      'userId',
    ]);
  }
  const roleKeys = input.roleKeys ?? [DEFAULT_MEMBERSHIP_ROLE];
  const roleIds = await resolveRoleIds(ctx.em, organization.environmentId, roleKeys, ['input', 'roleKeys']);
  return inTransaction(ctx, async (em) => {
    const membership = em.create(Membership, {
      id: newId('membership'),
      environmentId: organization.environmentId,
      organizationId: organization.id,
      userId: user.id,
      status: input.status ?? MembershipStatus.ACTIVE,
    });
    em.persist(membership);
    for (const roleId of roleIds) em.persist(em.create(MembershipRole, { membershipId: membership.id, roleId }));
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
    const membership = await lockScoped(em, ctx, Membership, 'membership', input.id);
    const roles = await roleKeysOf(em, membership.id);
    const before = snapshotMembership(membership, roles);
    if (input.status != null) membership.status = input.status;
    audit(ctx, em, {
      action: 'membership.updated',
      environmentId: membership.environmentId,
      organizationId: membership.organizationId,
      targets: membershipTargets(membership),
      before,
      after: snapshotMembership(membership, roles),
    });
    return membership;
  });
}

export async function deleteMembership(ctx: ServiceContext, input: { id: string }): Promise<string> {
  requireScope(ctx.principal, 'organizations:write');
  const membership = await getMembership(ctx, input.id);
  const before = snapshotMembership(membership, await roleKeysOf(ctx.em, membership.id));
  return inTransaction(ctx, async (em) => {
    await em.nativeDelete(Membership, { id: membership.id });
    audit(ctx, em, {
      action: 'membership.deleted',
      environmentId: membership.environmentId,
      organizationId: membership.organizationId,
      targets: membershipTargets(membership),
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
    const membership = await lockScoped(em, ctx, Membership, 'membership', input.membershipId);
    const roleIds = await resolveRoleIds(em, membership.environmentId, input.roleKeys, field);
    const beforeRoles = await roleKeysOf(em, membership.id);
    if (change === 'set') await em.nativeDelete(MembershipRole, { membershipId: membership.id });
    if (change === 'remove') await em.nativeDelete(MembershipRole, { membershipId: membership.id, roleId: { $in: roleIds } });
    if (change !== 'remove') {
      // Upsert so adding a role the membership already has is a no-op, not a conflict.
      for (const roleId of roleIds) await em.upsert(MembershipRole, { membershipId: membership.id, roleId });
    }
    const afterRoles = await roleKeysOf(em, membership.id);
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
