import type { EntityManager } from '@mikro-orm/core';
import { newId } from '../../db/id.js';
import type { Role } from './role.entity.js';
import { RoleRepository } from './role.repository.js';

/** Every environment starts with these; they can be edited but not deleted. */
export const BUILT_IN_ROLES = [
  { key: 'admin', name: 'Admin', description: 'Manages the organization and its members' },
  { key: 'member', name: 'Member', description: 'Default role of a new membership' },
] as const;

export const DEFAULT_MEMBERSHIP_ROLE = 'member';

export function seedBuiltInRoles(em: EntityManager, environmentId: string): Role[] {
  const roles = new RoleRepository(em);
  return BUILT_IN_ROLES.map((role) => roles.create({ id: newId('role'), environmentId, ...role, builtIn: true }));
}
