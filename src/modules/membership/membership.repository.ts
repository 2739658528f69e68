import type { EntityManager, RequiredEntityData } from '@mikro-orm/core';
import { countChildren, loadChildPages, type ChildPageArgs, type ChildPageOf } from '../../db/child-pages.js';
import { Repository } from '../../db/repository.js';
import { Role } from '../role/role.entity.js';
import { User } from '../user/user.entity.js';
import { Organization } from '../organization/organization.entity.js';
import { Membership, MembershipRole, MembershipStatus } from './membership.entity.js';

export type MembershipParent = 'organizationId' | 'userId';

/** Memberships of the EntityManager's tenant scope, and the roles they grant. */
export class MembershipRepository extends Repository<Membership> {
  constructor(em: EntityManager) {
    super(em, Membership, 'membership');
  }

  /** A new membership with its roles, persisted with the unit of work. */
  override create(values: RequiredEntityData<Membership>, roleIds: readonly string[] = []): Membership {
    const membership = super.create(values);
    for (const roleId of roleIds) this.em.persist(this.em.create(MembershipRole, { membershipId: membership.id, roleId }));
    return membership;
  }

  /** Memberships of an organization (named in its deletion event). */
  ofOrganization(organizationId: string): Promise<Pick<Membership, 'id' | 'userId'>[]> {
    return this.em.find(Membership, { organizationId }, { fields: ['id', 'userId'] });
  }

  /** Memberships of a user (named in their deletion event). */
  ofUser(userId: string): Promise<Pick<Membership, 'id' | 'organizationId'>[]> {
    return this.em.find(Membership, { userId }, { fields: ['id', 'organizationId'] });
  }

  /** A user's active memberships with their organizations' names, by organization name (the chooser's order). */
  async activeOfUser(userId: string): Promise<{ membershipId: string; organizationId: string; organizationName: string }[]> {
    const memberships = await this.em.find(Membership, { userId, status: MembershipStatus.ACTIVE }, { fields: ['id', 'organizationId'] });
    if (!memberships.length) return [];
    const organizations = await this.em.find(Organization, { id: { $in: memberships.map((m) => m.organizationId) } }, { fields: ['id', 'name'] });
    const names = new Map(organizations.map((organization) => [organization.id, organization.name]));
    return memberships
      .filter((membership) => names.has(membership.organizationId))
      .map((membership) => ({ membershipId: membership.id, organizationId: membership.organizationId, organizationName: names.get(membership.organizationId)! }))
      .sort((a, b) => a.organizationName.localeCompare(b.organizationName) || a.organizationId.localeCompare(b.organizationId));
  }

  /** The active membership of a user in an organization, or null. */
  activeIn(userId: string, organizationId: string): Promise<Membership | null> {
    return this.em.findOne(Membership, { userId, organizationId, status: MembershipStatus.ACTIVE });
  }

  /** Keys of the roles a membership grants, sorted. */
  async roleKeysOf(membershipId: string): Promise<string[]> {
    const links = await this.em.find(MembershipRole, { membershipId });
    if (!links.length) return [];
    const roles = await this.em.find(Role, { id: { $in: links.map((l) => l.roleId) } }, { orderBy: { key: 'ASC' } });
    return roles.map((role) => role.key);
  }

  async removeAllRoles(membershipId: string): Promise<void> {
    await this.em.nativeDelete(MembershipRole, { membershipId });
  }

  async removeRoles(membershipId: string, roleIds: readonly string[]): Promise<void> {
    await this.em.nativeDelete(MembershipRole, { membershipId, roleId: { $in: [...roleIds] } });
  }

  async addRoles(membershipId: string, roleIds: readonly string[]): Promise<void> {
    // Upsert so adding a role the membership already has is a no-op, not a conflict.
    for (const roleId of roleIds) await this.em.upsert(MembershipRole, { membershipId, roleId });
  }

  /** The first page of memberships of many organizations or users, in one statement, as plain rows (with their users' rows when asked). */
  pagesOf(
    parent: MembershipParent,
    parentIds: readonly string[],
    args: ChildPageArgs,
    maxPageSize: number,
    withUsers = false,
  ): Promise<Map<string, ChildPageOf<Membership>>> {
    return loadChildPages(this.em, Membership, parent, parentIds, args, maxPageSize, withUsers ? { property: 'userId', entity: User } : undefined);
  }

  /** Number of memberships of many organizations or users, in one statement. */
  countsOf(parent: MembershipParent, parentIds: readonly string[]): Promise<Map<string, number>> {
    return countChildren(this.em, Membership, parent, parentIds);
  }
}
