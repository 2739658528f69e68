import type { EntityManager } from '@mikro-orm/core';
import { newId } from '../../db/id.js';
import { Role } from './role.entity.js';

/** Every environment starts with these; they can be edited but not deleted. */
export const BUILT_IN_ROLES = [
  { key: 'admin', name: 'Admin', description: 'Manages the organization and its members' },
  { key: 'member', name: 'Member', description: 'Default role of a new membership' },
] as const;

export const DEFAULT_MEMBERSHIP_ROLE = 'member';

export function seedBuiltInRoles(em: EntityManager, environmentId: string): Role[] {
  return BUILT_IN_ROLES.map((role) => {
    const entity = em.create(Role, { id: newId('role'), environmentId, ...role, builtIn: true });
    em.persist(entity);
    return entity;
  });
}
