import type { EntityManager } from '@mikro-orm/core';
import { requireScope } from '../../auth/principal.js';
import { newId } from '../../db/id.js';
import type { PageArgs, Sort } from '../../db/pagination.js';
import { invalid } from '../../errors/app-error.js';
import { audit, environmentFor, inTransaction, type ServiceContext } from '../service-context.js';
import { checkKey, checkName, checkOptionalText } from '../validation.js';
import type { Permission, Role } from './role.entity.js';
import { PermissionRepository, RoleRepository } from './role.repository.js';

const PERMISSION_KEY = /^[a-z][a-z0-9_.-]{0,49}:[a-z0-9_.*-]{1,50}$/;
const MAX_KEYS = 100;
/** Permissions one role grants: the price of `Role.permissions` in the query cost model. */
export const MAX_PERMISSIONS_PER_ROLE = MAX_KEYS;
/** Roles one membership or client holds: the price of their `roles` in the query cost model. */
export const MAX_ROLES_PER_HOLDER = 20;

const roleTarget = (role: Role) => ({ type: 'role', id: role.id, name: role.key });
const permissionTarget = (permission: Permission) => ({ type: 'permission', id: permission.id, name: permission.key });
const snapshotRole = (role: Role, permissions: string[]) => ({
  id: role.id,
  key: role.key,
  name: role.name,
  description: role.description,
  permissions,
});
const snapshotPermission = (permission: Permission) => ({
  id: permission.id,
  key: permission.key,
  description: permission.description,
});

function checkKeyList(keys: string[], field: string[]): string[] {
  const unique = [...new Set(keys)];
  if (unique.length > MAX_KEYS) throw invalid('validation.too_many', `At most ${MAX_KEYS} keys`, field);
  return unique;
}

/** Refuses a holder (membership, client) with more than MAX_ROLES_PER_HOLDER roles. */
export function checkRoleCount(count: number, field: string[]): void {
  if (count > MAX_ROLES_PER_HOLDER) throw invalid('role.too_many', `At most ${MAX_ROLES_PER_HOLDER} roles`, field);
}

/** Ids of the given roles of an environment; an unknown key is a user error naming it. */
export async function resolveRoleIds(em: EntityManager, environmentId: string, keys: string[], field: string[]) {
  const unique = checkKeyList(keys, field);
  checkRoleCount(unique.length, field);
  if (unique.length === 0) return [];
  const roles = await new RoleRepository(em).withKeys(environmentId, unique);
  const missing = unique.filter((key) => !roles.some((role) => role.key === key));
  if (missing.length) throw invalid('role.unknown', `No role with key ${missing.map((k) => `"${k}"`).join(', ')}`, field);
  return roles.map((role) => role.id);
}

async function resolvePermissions(em: EntityManager, environmentId: string, keys: string[], field: string[]) {
  const unique = checkKeyList(keys, field);
  if (unique.length === 0) return [];
  const permissions = await new PermissionRepository(em).withKeys(environmentId, unique);
  const missing = unique.filter((key) => !permissions.some((p) => p.key === key));
  if (missing.length) {
    throw invalid('role.unknown_permission', `No permission with key ${missing.map((k) => `"${k}"`).join(', ')}`, field);
  }
  return permissions;
}

export async function getRole(ctx: ServiceContext, id: string): Promise<Role> {
  requireScope(ctx.principal, 'roles:read');
  return new RoleRepository(ctx.em).get(id);
}

export async function getRoleByKey(ctx: ServiceContext, environmentId: string | null | undefined, key: string) {
  requireScope(ctx.principal, 'roles:read');
  return new RoleRepository(ctx.em).findByKey(environmentFor(ctx, environmentId), key);
}

export async function listRoles(
  ctx: ServiceContext,
  query: { environmentId?: string | null; builtIn?: boolean | null; sort: Sort },
  args: PageArgs,
  maxPageSize: number,
) {
  requireScope(ctx.principal, 'roles:read');
  return new RoleRepository(ctx.em).list(
    { environmentId: environmentFor(ctx, query.environmentId), builtIn: query.builtIn },
    query.sort,
    args,
    maxPageSize,
  );
}

export async function createRole(
  ctx: ServiceContext,
  input: { environmentId?: string | null; key: string; name: string; description?: string | null; permissionKeys?: string[] | null },
): Promise<Role> {
  requireScope(ctx.principal, 'roles:write');
  const environmentId = environmentFor(ctx, input.environmentId);
  const values = {
    id: newId('role'),
    environmentId,
    key: checkKey(input.key, ['input', 'key']),
    name: checkName(input.name, ['input', 'name']),
    description: checkOptionalText(input.description, ['input', 'description']),
  };
  const permissions = await resolvePermissions(ctx.em, environmentId, input.permissionKeys ?? [], ['input', 'permissionKeys']);
  return inTransaction(ctx, async (em) => {
    const role = new RoleRepository(em).create(
      values,
      permissions.map((permission) => permission.id),
    );
    audit(ctx, em, {
      action: 'role.created',
      environmentId,
      targets: [roleTarget(role)],
      after: snapshotRole(role, permissions.map((p) => p.key).sort()),
    });
    return role;
  });
}

export async function updateRole(
  ctx: ServiceContext,
  input: { id: string; name?: string | null; description?: string | null; permissionKeys?: string[] | null },
): Promise<Role> {
  requireScope(ctx.principal, 'roles:write');
  const name = input.name != null ? checkName(input.name, ['input', 'name']) : undefined;
  const description = input.description !== undefined ? checkOptionalText(input.description, ['input', 'description']) : undefined;
  return inTransaction(ctx, async (em) => {
    const roles = new RoleRepository(em);
    const role = await roles.lock(input.id);
    const beforeKeys = await roles.permissionKeysOf(role.id);
    const before = snapshotRole(role, beforeKeys);
    if (name !== undefined) role.name = name;
    if (description !== undefined) role.description = description;
    let afterKeys = beforeKeys;
    if (input.permissionKeys != null) {
      const permissions = await resolvePermissions(em, role.environmentId, input.permissionKeys, ['input', 'permissionKeys']);
      await roles.setPermissions(
        role.id,
        permissions.map((permission) => permission.id),
      );
      afterKeys = permissions.map((p) => p.key).sort();
    }
    audit(ctx, em, {
      action: 'role.updated',
      environmentId: role.environmentId,
      targets: [roleTarget(role)],
      before,
      after: snapshotRole(role, afterKeys),
    });
    return role;
  });
}

/** Deletes a custom role; the memberships that granted it lose it, and the event names them. */
export async function deleteRole(ctx: ServiceContext, input: { id: string }): Promise<string> {
  requireScope(ctx.principal, 'roles:write');
  return inTransaction(ctx, async (em) => {
    const roles = new RoleRepository(em);
    const role = await roles.lock(input.id);
    if (role.builtIn) throw invalid('role.built_in', `The built-in role "${role.key}" cannot be deleted`, ['input', 'id']);
    const membershipIds = await roles.membershipsHolding(role.id);
    const before = { ...snapshotRole(role, await roles.permissionKeysOf(role.id)), membershipIds };
    await roles.delete(role.id);
    audit(ctx, em, { action: 'role.deleted', environmentId: role.environmentId, targets: [roleTarget(role)], before });
    return role.id;
  });
}

export async function getPermission(ctx: ServiceContext, id: string): Promise<Permission> {
  requireScope(ctx.principal, 'roles:read');
  return new PermissionRepository(ctx.em).get(id);
}

export async function listPermissions(
  ctx: ServiceContext,
  query: { environmentId?: string | null; keyPrefix?: string | null; sort: Sort },
  args: PageArgs,
  maxPageSize: number,
) {
  requireScope(ctx.principal, 'roles:read');
  return new PermissionRepository(ctx.em).list(
    { environmentId: environmentFor(ctx, query.environmentId), keyPrefix: query.keyPrefix },
    query.sort,
    args,
    maxPageSize,
  );
}

export async function createPermission(
  ctx: ServiceContext,
  input: { environmentId?: string | null; key: string; description?: string | null },
): Promise<Permission> {
  requireScope(ctx.principal, 'roles:write');
  const environmentId = environmentFor(ctx, input.environmentId);
  if (!PERMISSION_KEY.test(input.key)) {
    throw invalid('permission.invalid_key', 'Permission keys look like "resource:action", e.g. "invoices:read"', ['input', 'key']);
  }
  const values = {
    id: newId('permission'),
    environmentId,
    key: input.key,
    description: checkOptionalText(input.description, ['input', 'description']),
  };
  return inTransaction(ctx, async (em) => {
    const permission = new PermissionRepository(em).create(values);
    audit(ctx, em, {
      action: 'permission.created',
      environmentId,
      targets: [permissionTarget(permission)],
      after: snapshotPermission(permission),
    });
    return permission;
  });
}

export async function updatePermission(ctx: ServiceContext, input: { id: string; description?: string | null }) {
  requireScope(ctx.principal, 'roles:write');
  const description = input.description !== undefined ? checkOptionalText(input.description, ['input', 'description']) : undefined;
  return inTransaction(ctx, async (em) => {
    const permission = await new PermissionRepository(em).lock(input.id);
    const before = snapshotPermission(permission);
    if (description !== undefined) permission.description = description;
    audit(ctx, em, {
      action: 'permission.updated',
      environmentId: permission.environmentId,
      targets: [permissionTarget(permission)],
      before,
      after: snapshotPermission(permission),
    });
    return permission;
  });
}

/** Deleting a permission removes it from every role that granted it; the event names them. */
export async function deletePermission(ctx: ServiceContext, input: { id: string }): Promise<string> {
  requireScope(ctx.principal, 'roles:write');
  return inTransaction(ctx, async (em) => {
    const permissions = new PermissionRepository(em);
    const permission = await permissions.lock(input.id);
    const roleIds = await permissions.rolesGranting(permission.id);
    await permissions.delete(permission.id);
    audit(ctx, em, {
      action: 'permission.deleted',
      environmentId: permission.environmentId,
      targets: [permissionTarget(permission)],
      before: { ...snapshotPermission(permission), roleIds },
    });
    return permission.id;
  });
}
