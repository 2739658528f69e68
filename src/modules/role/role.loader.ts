import type { EntityManager } from '@mikro-orm/core';
import DataLoader from 'dataloader';
import type { LoaderOptions } from '../../graphql/loaders.js';
import type { Permission, Role } from './role.entity.js';
import { PermissionRepository, RoleRepository } from './role.repository.js';

export interface RoleLoaders {
  /**
   * The roles of a membership. With `withPermissions`, the roles' permissions are read in the
   * same statement and handed to `permissionsByRole`.
   */
  membershipRoles: (membershipId: string, withPermissions: boolean) => Promise<Role[]>;
  permissionsByRole: DataLoader<string, Permission[]>;
}

/** Per-request batch loaders of the roles of memberships and the permissions of roles (plain read-only rows). */
export function roleLoaders(em: EntityManager, options: LoaderOptions): RoleLoaders {
  const roles = new RoleRepository(em);
  const permissions = new PermissionRepository(em);
  const permissionsByRole = new DataLoader((ids: readonly string[]) => permissions.rowsByRole(ids), { batch: options.batch });
  const rolesOnly = new DataLoader((ids: readonly string[]) => roles.rowsByMembership(ids), { batch: options.batch });
  const rolesWithPermissions = new DataLoader(
    async (ids: readonly string[]) => {
      const found = await roles.rowsByMembershipWithPermissions(ids);
      for (const [roleId, granted] of found.permissions) permissionsByRole.prime(roleId, granted);
      return found.roles;
    },
    { batch: options.batch },
  );
  return {
    // Unbatched (the benchmark's N+1 baseline), every relation keeps its own statement.
    membershipRoles: (membershipId, withPermissions) => (withPermissions && options.batch ? rolesWithPermissions : rolesOnly).load(membershipId),
    permissionsByRole,
  };
}
