import { Arg, Args, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { requireScope } from '../../auth/principal.js';
import { invalid } from '../../errors/app-error.js';
import { OrderDirection, pageConnection, PageArgsType } from '../../graphql/connection.js';
import { services, type GraphQLContext } from '../../graphql/context.js';
import { mutationPayload } from '../../graphql/user-error.js';
import { DeleteInput, DeletePayload } from '../organization/organization.types.js';
import type { Role } from './role.entity.js';
import {
  createPermission,
  createRole,
  deletePermission,
  deleteRole,
  getRole,
  getRoleByKey,
  listPermissions,
  listRoles,
  updatePermission,
  updateRole,
  MAX_PERMISSIONS_PER_ROLE,
} from './role.service.js';
import {
  CreatePermissionInput,
  CreateRoleInput,
  PermissionConnection,
  PermissionPayload,
  PermissionType,
  RoleConnection,
  RoleOrder,
  RoleOrderField,
  RolePayload,
  RoleType,
  UpdatePermissionInput,
  UpdateRoleInput,
} from './role.types.js';
import { Cost } from '../../graphql/cost.js';

/**
 * What a field resolver reads of its parent: loaders hand over plain rows (db/rows.ts), not
 * entities. A root typed by a type alias reflects as `Object`, which type-graphql passes through
 * as is; a class imported as a value would reflect as itself and have every row copied into a
 * new instance of it on every call.
 */
type RoleRow = Pick<Role, 'id'>;

@Resolver(() => RoleType)
export class RoleResolver {
  @Query(() => RoleType, { nullable: true, description: 'A role by id, or by key within an environment. Needs `roles:read`.' })
  async role(
    @Ctx() ctx: GraphQLContext,
    @Arg('id', () => ID, { nullable: true, description: 'Id of the role.' }) id?: string,
    @Arg('key', () => String, { nullable: true, description: 'Key of the role.' }) key?: string,
    @Arg('environmentId', () => ID, { nullable: true, description: 'Environment for `key`; defaults to the key\'s.' })
    environmentId?: string,
  ) {
    if (id) return getRole(services(ctx), id);
    if (key) return getRoleByKey(services(ctx), environmentId, key);
    throw invalid('role.lookup', 'Pass "id" or "key"', ['id']);
  }

  @Query(() => RoleConnection, { description: 'Roles of an environment, by key. Needs `roles:read`.' })
  async roles(
    @Args() page: PageArgsType,
    @Ctx() ctx: GraphQLContext,
    @Arg('environmentId', () => ID, { nullable: true, description: 'Environment to list; defaults to the key\'s.' })
    environmentId?: string,
    @Arg('builtIn', () => Boolean, { nullable: true, description: 'Only built-in (true) or only custom (false) roles.' })
    builtIn?: boolean,
    @Arg('orderBy', () => RoleOrder, { nullable: true, description: 'Order; by key by default.' }) orderBy?: RoleOrder,
  ) {
    const sort = { field: orderBy?.field ?? RoleOrderField.KEY, direction: orderBy?.direction ?? OrderDirection.ASC };
    return pageConnection(await listRoles(services(ctx), { environmentId, builtIn, sort }, page, ctx.config.maxPageSize));
  }

  @Query(() => PermissionConnection, { description: 'Permissions of an environment, by key. Needs `roles:read`.' })
  async permissions(
    @Args() page: PageArgsType,
    @Ctx() ctx: GraphQLContext,
    @Arg('environmentId', () => ID, { nullable: true, description: 'Environment to list; defaults to the key\'s.' })
    environmentId?: string,
    @Arg('keyPrefix', () => String, { nullable: true, description: 'Only keys starting with this, e.g. `invoices:`.' })
    keyPrefix?: string,
  ) {
    const sort = { field: 'key', direction: OrderDirection.ASC };
    return pageConnection(await listPermissions(services(ctx), { environmentId, keyPrefix, sort }, page, ctx.config.maxPageSize));
  }

  @Mutation(() => RolePayload, { description: 'Creates a role. Needs `roles:write`.' })
  createRole(@Arg('input', { description: 'What to do; see the input type.' }) input: CreateRoleInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ role: await createRole(services(ctx), input) }));
  }

  @Mutation(() => RolePayload, { description: 'Changes a role. Needs `roles:write`.' })
  updateRole(@Arg('input', { description: 'What to do; see the input type.' }) input: UpdateRoleInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ role: await updateRole(services(ctx), input) }));
  }

  @Mutation(() => DeletePayload, { description: 'Deletes a custom role; built-in roles cannot be deleted. Needs `roles:write`.' })
  deleteRole(@Arg('input', { description: 'What to do; see the input type.' }) input: DeleteInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ deletedId: await deleteRole(services(ctx), input) }));
  }

  @Mutation(() => PermissionPayload, { description: 'Creates a permission. Needs `roles:write`.' })
  createPermission(@Arg('input', { description: 'What to do; see the input type.' }) input: CreatePermissionInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ permission: await createPermission(services(ctx), input) }));
  }

  @Mutation(() => PermissionPayload, { description: 'Changes a permission. Needs `roles:write`.' })
  updatePermission(@Arg('input', { description: 'What to do; see the input type.' }) input: UpdatePermissionInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ permission: await updatePermission(services(ctx), input) }));
  }

  @Mutation(() => DeletePayload, { description: 'Deletes a permission and removes it from roles. Needs `roles:write`.' })
  deletePermission(@Arg('input', { description: 'What to do; see the input type.' }) input: DeleteInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ deletedId: await deletePermission(services(ctx), input) }));
  }
}

/** Relations of Role; a class of its own because `permissions` is also a root query above. */
@Resolver(() => RoleType)
export class RoleRelationsResolver {
  @Cost({ maxItems: MAX_PERMISSIONS_PER_ROLE })
  @FieldResolver(() => [PermissionType], { description: 'Permissions the role grants, by key.' })
  permissions(@Root() role: RoleRow, @Ctx() ctx: GraphQLContext) {
    requireScope(ctx.principal, 'roles:read');
    return ctx.loaders.permissionsByRole.load(role.id);
  }
}
