import type { EntityManager } from '@mikro-orm/core';
import DataLoader from 'dataloader';
import type { LoaderOptions } from '../../graphql/loaders.js';
import type { Permission, Role } from './role.entity.js';
import { PermissionRepository, RoleRepository } from './role.repository.js';

export interface RoleLoaders {
  rolesByMembership: DataLoader<string, Role[]>;
  permissionsByRole: DataLoader<string, Permission[]>;
}

/** Per-request batch loaders of the roles of memberships and the permissions of roles (plain read-only rows). */
export function roleLoaders(em: EntityManager, options: LoaderOptions): RoleLoaders {
  const roles = new RoleRepository(em);
  const permissions = new PermissionRepository(em);
  return {
    rolesByMembership: new DataLoader((ids) => roles.rowsByMembership(ids), { batch: options.batch }),
    permissionsByRole: new DataLoader((ids) => permissions.rowsByRole(ids), { batch: options.batch }),
  };
}
