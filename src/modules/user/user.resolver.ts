import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Args, Ctx, Info, ID, Mutation, Query, Resolver } from 'type-graphql';
import { invalid } from '../../errors/app-error.js';
import { OrderDirection, pageArgsFor, pageConnection, PageArgsType } from '../../graphql/connection.js';
import { services, type GraphQLContext } from '../../graphql/context.js';
import { mutationPayload } from '../../graphql/user-error.js';
import { DeleteInput, DeletePayload } from '../organization/organization.types.js';
import { UserStatus } from './user.entity.js';
import {
  createCustomAttributeDefinition,
  createUser,
  deleteCustomAttributeDefinition,
  deleteUser,
  getUser,
  getUserByEmail,
  listCustomAttributeDefinitions,
  listUsers,
  setUserStatus,
  updateCustomAttributeDefinition,
  updateUser,
  MAX_CUSTOM_ATTRIBUTES,
} from './user.service.js';
import {
  CreateCustomAttributeDefinitionInput,
  CreateUserInput,
  CustomAttributeDefinitionPayload,
  CustomAttributeDefinitionType,
  UpdateCustomAttributeDefinitionInput,
  UpdateUserInput,
  UserConnection,
  UserFilter,
  UserIdInput,
  UserOrder,
  UserOrderField,
  UserPayload,
  UserType,
} from './user.types.js';
import { Cost } from '../../graphql/cost.js';

@Resolver(() => UserType)
export class UserResolver {
  @Query(() => UserType, { nullable: true, description: 'A user by id, or by email within an environment. Needs `users:read`.' })
  async user(
    @Ctx() ctx: GraphQLContext,
    @Arg('id', () => ID, { nullable: true, description: 'Id of the user.' }) id?: string,
    @Arg('email', () => String, { nullable: true, description: 'Email of the user.' }) email?: string,
    @Arg('environmentId', () => ID, { nullable: true, description: 'Environment for `email`; defaults to the key\'s.' })
    environmentId?: string,
  ) {
    if (id) return getUser(services(ctx), id);
    if (email) return getUserByEmail(services(ctx), environmentId, email);
    throw invalid('user.lookup', 'Pass "id" or "email"', ['id']);
  }

  @Query(() => UserConnection, { description: 'Users of an environment. Needs `users:read`.' })
  async users(
    @Args() page: PageArgsType,
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('environmentId', () => ID, { nullable: true, description: 'Environment to list; defaults to the key\'s.' })
    environmentId?: string,
    @Arg('filter', () => UserFilter, { nullable: true, description: 'Conditions to match.' }) filter?: UserFilter,
    @Arg('orderBy', () => UserOrder, { nullable: true, description: 'Order; newest first by default.' }) orderBy?: UserOrder,
  ) {
    const sort = { field: orderBy?.field ?? UserOrderField.CREATED_AT, direction: orderBy?.direction ?? OrderDirection.DESC };
    return pageConnection(await listUsers(services(ctx), { environmentId, filter, sort }, pageArgsFor(page, info), ctx.config.maxPageSize));
  }

  @Cost({ maxItems: MAX_CUSTOM_ATTRIBUTES })
  @Query(() => [CustomAttributeDefinitionType], { description: 'Custom attributes of an environment\'s users. Needs `users:read`.' })
  customAttributeDefinitions(
    @Ctx() ctx: GraphQLContext,
    @Arg('environmentId', () => ID, { nullable: true, description: 'Environment; defaults to the key\'s.' }) environmentId?: string,
  ) {
    return listCustomAttributeDefinitions(services(ctx), environmentId);
  }

  @Mutation(() => UserPayload, { description: 'Creates a user. Needs `users:write`.' })
  createUser(@Arg('input', { description: 'What to do; see the input type.' }) input: CreateUserInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ user: await createUser(services(ctx), input) }));
  }

  @Mutation(() => UserPayload, { description: 'Changes a user. Needs `users:write`.' })
  updateUser(@Arg('input', { description: 'What to do; see the input type.' }) input: UpdateUserInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ user: await updateUser(services(ctx), input) }));
  }

  @Mutation(() => DeletePayload, { description: 'Deletes a user and their memberships. Needs `users:write`.' })
  deleteUser(@Arg('input', { description: 'What to do; see the input type.' }) input: DeleteInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ deletedId: await deleteUser(services(ctx), input) }));
  }

  @Mutation(() => UserPayload, { description: 'Blocks a user from signing in. Needs `users:write`.' })
  suspendUser(@Arg('input', { description: 'What to do; see the input type.' }) input: UserIdInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ user: await setUserStatus(services(ctx), input.id, UserStatus.SUSPENDED) }));
  }

  @Mutation(() => UserPayload, { description: 'Makes a suspended or deprovisioned user active again. Needs `users:write`.' })
  reactivateUser(@Arg('input', { description: 'What to do; see the input type.' }) input: UserIdInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ user: await setUserStatus(services(ctx), input.id, UserStatus.ACTIVE) }));
  }

  @Mutation(() => CustomAttributeDefinitionPayload, { description: 'Defines a custom user attribute. Needs `users:write`.' })
  createCustomAttributeDefinition(@Arg('input', { description: 'What to do; see the input type.' }) input: CreateCustomAttributeDefinitionInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ customAttributeDefinition: await createCustomAttributeDefinition(services(ctx), input) }));
  }

  @Mutation(() => CustomAttributeDefinitionPayload, { description: 'Changes a custom attribute definition. Needs `users:write`.' })
  updateCustomAttributeDefinition(@Arg('input', { description: 'What to do; see the input type.' }) input: UpdateCustomAttributeDefinitionInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ customAttributeDefinition: await updateCustomAttributeDefinition(services(ctx), input) }));
  }

  @Mutation(() => DeletePayload, { description: 'Deletes a custom attribute definition and its values. Needs `users:write`.' })
  deleteCustomAttributeDefinition(@Arg('input', { description: 'What to do; see the input type.' }) input: DeleteInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ deletedId: await deleteCustomAttributeDefinition(services(ctx), input) }));
  }
}
